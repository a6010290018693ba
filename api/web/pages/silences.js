/* Silences: set a maintenance silence for a building or unit (a searchable place
   picker), see the current ones by place name, lift one after a confirmation. */
import {api, badge, h} from "../dom.js";
import {S, fail, setNav, time} from "../state.js";
import {errorText, hazard, kind, t} from "../words.js";

export const HOURS = [1, 2, 4, 8, 24, 72];
export const hoursText = (n) => (n === 1 ? t("hours_1") : t("hours_n", {n}));

export function silences() {
  setNav("silences");
  const list = h("section", {class: "silences", id: "silences"}), form = h("form", {id: "silence-form", class: "panel"});
  S.view.replaceChildren(h("h2", {text: t("nav_silences")}), h("p", {class: "hint", text: t("silence_hint")}), form, list);
  const names = {};
  const load = () => api("/api/silences?state=current&limit=200").then((r) => {
    list.replaceChildren(...(r.items.length ? r.items.map((x) => {
      const scope = [names[x.place_id] || x.place_id, x.device_ids.join(", "), x.device_kinds.map(kind).join(", "),
        x.hazards.map(hazard).join(", ")].filter(Boolean).join(" · ");
      return h("article", {class: "silence", "data-silence": x.id, "data-state": x.state}, [
        h("b", {text: x.reason}), " ", badge("status", t(`sil_${x.state}`)),
        h("div", {class: "addr", text: scope}),
        h("div", {class: "when", text: `${time(x.starts_at)} → ${time(x.ends_at)} · ${x.author}`}),
        S.me.read_only ? null : h("button", {class: "big act-lift", type: "button", text: t("lift"), onclick: () => {
          if (window.confirm(t("confirm_lift"))) { api(`/api/silences/${x.id}`, {method: "DELETE"}).then(load).catch(fail); }
        }})]);
    }) : [h("p", {class: "empty", text: t("no_silences")})]));
  }).catch(fail);
  api("/api/places/summary").then((p) => {
    const opts = [];
    p.compounds.forEach((c) => c.buildings.forEach((b) => {
      opts.push([b.id, `${c.name} ${b.name}`]);
      b.units.forEach((u) => opts.push([u.id, `${c.name} ${b.name} ${u.name}`]));
    }));
    opts.forEach(([id, label]) => { names[id] = label; });
    if (!S.me.read_only) { buildForm(form, opts, load); }
    load();
  }).catch(fail);
}

function buildForm(form, opts, load) {
  const place = h("select", {name: "place_id", required: "required", "aria-label": t("place")},
    opts.map(([v, text]) => h("option", {value: v, text})));
  const filter = h("input", {type: "search", class: "place-filter", placeholder: t("place_filter"), "aria-label": t("place_filter"),
    oninput: () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      let first = null;
      place.querySelectorAll("option").forEach((o) => {
        const show = words.every((w) => o.textContent.toLowerCase().includes(w) || o.value.toLowerCase().includes(w));
        o.hidden = !show;
        if (show && !first) { first = o; }
      });
      if (first && place.selectedOptions[0]?.hidden) { place.value = first.value; }
    }});
  const reason = h("input", {name: "reason", required: "required", maxlength: "500", placeholder: t("reason"), "aria-label": t("reason")});
  const kinds = ["gas", "co", "smoke", "heat", "water", "door"].map((k) =>
    h("label", {class: "check"}, [h("input", {type: "checkbox", name: "kind", value: k}), ` ${kind(k)}`]));
  const hours = h("select", {name: "hours", "aria-label": t("duration")}, HOURS.map((n) => h("option", {value: String(n), text: hoursText(n)})));
  const err = h("p", {class: "error"});
  form.replaceChildren(h("label", {class: "wide"}, [`${t("place")} `, filter, place]), h("label", {class: "wide"}, [`${t("reason")} `, reason]),
    h("fieldset", {class: "kinds"}, [h("legend", {text: t("device_kinds")}), ...kinds]), h("label", {}, [`${t("duration")} `, hours]),
    h("button", {class: "big primary", type: "submit", id: "silence-submit", text: t("add_silence")}), err);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {reason: reason.value, place_id: place.value, duration_s: +hours.value * 3600,
      device_kinds: kinds.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value)};
    api("/api/silences", {method: "POST", body}).then(() => { reason.value = ""; err.textContent = ""; load(); })
      .catch((e) => { err.textContent = errorText(e); });
  });
}
