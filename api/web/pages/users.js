/* Users (admins): add or change users, delete them, read the operation log in words.
   In the demo (no users yet, the API open) the page says how accounts begin. */
import {api, h} from "../dom.js";
import {S, fail, setNav, time} from "../state.js";
import {auditText, errorText, t} from "../words.js";

export const ROLES = ["grid_worker", "property_manager", "maintenance", "leader", "resident", "admin"];

export function users() {
  setNav("users");
  if (!S.me.admin) { S.view.replaceChildren(h("p", {class: "error", text: t("not_allowed")})); return; }
  const table = h("tbody"), form = h("form", {id: "user-form", class: "panel"}), audit = h("ol", {class: "timeline", id: "audit"});
  const f = {
    login: h("input", {name: "login", required: "required", maxlength: "64", pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]*"}),
    name: h("input", {name: "name", maxlength: "64"}),
    role: h("select", {name: "role"}, ROLES.map((r) => h("option", {value: r, text: t(`role_${r}`)}))),
    worker_id: h("input", {name: "worker_id", maxlength: "64", placeholder: "w-g1"}),
    grids: h("input", {name: "grids", placeholder: "g1, g2"}),
    property_company: h("input", {name: "property_company", maxlength: "64", placeholder: "pc1"}),
    household: h("input", {name: "household", maxlength: "64"}),
    password: h("input", {name: "password", type: "password", minlength: "8", maxlength: "256", autocomplete: "new-password"}),
  };
  const err = h("p", {class: "error"});
  const hint = h("p", {class: "hint", id: "users-hint", hidden: true, text: t("users_token_hint")});
  form.replaceChildren(...Object.keys(f).map((k) => h("label", {}, [`${t(`u_${k}`)} `, f[k]])),
    h("button", {class: "big primary", type: "submit", id: "user-submit", text: t("save_user")}), err);
  S.view.replaceChildren(h("h2", {text: t("nav_users")}), hint, h("div", {class: "scroll"}, [h("table", {class: "list"}, [h("thead", {}, [h("tr", {},
    ["u_login", "u_name", "u_role", "u_worker_id", "u_places", "u_disabled", ""].map((k) => h("th", {text: k ? t(k) : ""})))]), table])]),
  h("h2", {text: t("save_user")}), form, h("h2", {text: t("audit")}), audit);
  const load = () => {
    api("/api/users?limit=1000").then((r) => {
      hint.hidden = !(S.me.via === "open" || r.items.length === 0);
      table.replaceChildren(...r.items.map((u) => {
        const places = u.places || {};
        return h("tr", {"data-user": u.login}, [h("td", {text: u.login}), h("td", {text: u.name || ""}), h("td", {text: t(`role_${u.role}`)}),
          h("td", {text: u.worker_id || ""}), h("td", {text: [(places.grids || []).join(","), places.property_company, places.household].filter(Boolean).join(" ")}),
          h("td", {text: u.disabled ? "✕" : ""}),
          h("td", {}, [h("button", {class: "link", type: "button", text: t("edit"), onclick: () => {
            f.login.value = u.login; f.name.value = u.name || ""; f.role.value = u.role; f.worker_id.value = u.worker_id || "";
            f.grids.value = (places.grids || []).join(", "); f.property_company.value = places.property_company || "";
            f.household.value = places.household || ""; f.password.value = ""; f.login.focus();
          }}), " ", u.login === S.me.login ? null : h("button", {class: "link danger", type: "button", text: t("delete"), onclick: () => {
            if (window.confirm(`${t("delete")} ${u.login}?`)) { api(`/api/users/${encodeURIComponent(u.login)}`, {method: "DELETE"}).then(load).catch(fail); }
          }})])]);
      }));
    }).catch((e) => { hint.hidden = false; err.textContent = errorText(e); });
    api("/api/audit?limit=50").then((r) => {
      audit.replaceChildren(...r.items.map((e) => h("li", {}, [h("time", {text: time(e.ts)}), ` ${e.actor} · ${auditText(e.action)} · ${e.target}`])));
    }).catch(() => audit.replaceChildren());
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {role: f.role.value, places: {grids: f.grids.value.split(",").map((x) => x.trim()).filter(Boolean)}};
    if (f.name.value) { body.name = f.name.value; }
    if (f.worker_id.value) { body.worker_id = f.worker_id.value; }
    if (f.property_company.value) { body.places.property_company = f.property_company.value; }
    if (f.household.value) { body.places.household = f.household.value; }
    if (f.password.value) { body.password = f.password.value; }
    api(`/api/users/${encodeURIComponent(f.login.value)}`, {method: "PUT", body}).then(() => {
      err.textContent = ""; f.password.value = ""; load();
    }).catch((e) => { err.textContent = errorText(e); });
  });
  load();
}
