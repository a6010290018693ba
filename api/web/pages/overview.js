/* Overview: live counts, then compounds and buildings as summaries (households by
   state) that open into units and households; a legend and a place search. */
import {api, badge, h} from "../dom.js";
import {qs} from "../router.js";
import {S, STATES, fail, setNav} from "../state.js";
import {kind, t} from "../words.js";

const RANK = Object.fromEntries(STATES.map((s, i) => [s, i]));

function worst(ids) {
  let w = "unknown";
  ids.forEach((id) => { const s = S.states[id] || "unknown"; if (RANK[s] < RANK[w]) { w = s; } });
  return w;
}

function paintPlace(el) {
  const s = worst((el.getAttribute("data-devices") || "").split(" ").filter(Boolean));
  el.setAttribute("data-state", s);
  el.className = el.className.replace(/\bst-\w+/, `st-${s}`);
}

function go(params) { location.hash = `#/overview?${qs(params)}`; }

function legend() {
  return h("details", {class: "legend", id: "legend"}, [h("summary", {text: t("legend")}),
    h("ul", {}, [...STATES.map((s) => h("li", {}, [h("span", {class: `swatch st-${s}`}), ` ${t(`s_${s}`)}: ${t(`lg_${s}`)}`])),
      h("li", {}, [h("span", {class: "elderly-mark", text: "♥"}), ` ${t("elderly_mark")}`]),
      h("li", {}, [h("span", {class: "dot st-ok"}), ` ${t("lg_dot")}`])])]);
}

function counts(cards, company) {
  return api(`/api/overview?${qs({property_company: company})}`).then((o) => {
    const items = [["devices", o.devices, "", {}], ["online", o.online, "ok", {}], ["in_alarm", o.in_alarm, "alarm", {state: "alarm"}],
      ["in_fault", o.in_fault, "fault", {state: "fault"}], ["low_battery", o.low_battery, "fault", {battery_low: "true"}]];
    const sev = o.open_alerts_by_severity;
    cards.replaceChildren(...items.map(([k, v, cls, filter]) => h("a", {class: `card ${cls}`, id: `count-${k}`,
      href: `#/devices?${qs(filter)}`}, [h("b", {text: String(v)}), h("span", {text: t(k)})])),
    h("a", {class: "card wide", href: "#/inbox"}, [h("b", {text: String(o.open_alerts)}), h("span", {text: t("open_alerts")}),
      h("span", {class: "sev"}, ["critical", "warning", "info"].map((k) => badge(`sev-${k}`, `${t(k)} ${sev[k] || 0}`)))]));
  });
}

function search(company) {
  const out = h("ul", {class: "search-results", id: "place-results"});
  let timer = null;
  const input = h("input", {type: "search", id: "place-search", placeholder: t("place_search"), "aria-label": t("place_search"),
    oninput: () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const q = input.value.trim();
        if (!q) { out.replaceChildren(); return; }
        api(`/api/places/search?${qs({q, limit: 12})}`).then((r) => {
          out.replaceChildren(...(r.items.length ? r.items.map((p) => h("li", {}, [h("a", {
            href: `#/overview?${qs({property_company: company, building: p.building || "", compound: p.building ? "" : p.id, focus: p.id})}`,
            text: `${t(`pk_${p.kind}`)} · ${p.label}`})])) : [h("li", {class: "empty", text: t("no_match")})]));
        }).catch(fail);
      }, 200);
    }});
  return [input, out];
}

function stateChips(byState) {
  return h("span", {class: "chips"}, STATES.filter((s) => byState[s]).map((s) =>
    h("span", {class: `chip st-${s}`, text: `${byState[s]} ${t(`s_${s}`)}`})));
}

function worstOf(byState, common) {
  const s = STATES.find((x) => byState[x]) || "unknown";
  return common && RANK[common] < RANK[s] ? common : s;
}

// Above this many buildings, compounds start folded unless something in them needs a person.
const FOLD_ABOVE = 24;

function summary(tree, company, onlyCompound) {
  return api(`/api/places/summary?${qs({property_company: company})}`).then((p) => {
    const shown = p.compounds.filter((c) => !onlyCompound || c.id === onlyCompound);
    const many = shown.reduce((n, c) => n + c.buildings.length, 0) > FOLD_ABOVE;
    const wasOpen = new Set([...tree.querySelectorAll("details.compound[open]")].map((d) => d.dataset.compound));
    const folded = new Set([...tree.querySelectorAll("details.compound:not([open])")].map((d) => d.dataset.compound));
    tree.replaceChildren(...shown.map((c) => {
      const attention = c.by_state.alarm || c.by_state.fault || c.buildings.some((b) => b.common_state === "alarm" || b.common_state === "fault");
      const open = wasOpen.has(c.id) || (!folded.has(c.id) && (!many || attention));
      return h("details", {class: "compound", "data-compound": c.id, open}, [
        h("summary", {}, [h("h2", {}, [c.name, " ", h("small", {text: `${c.buildings.length} ${t("buildings")} · ${c.households} ${t("households")}`}), " ", stateChips(c.by_state)])]),
        h("div", {class: "bldgs"}, c.buildings.map((b) => h("a", {
          class: `bldg st-${worstOf(b.by_state, b.common_state)}`, "data-building": b.id,
          href: `#/overview?${qs({property_company: company, building: b.id})}`}, [
          h("b", {text: b.name}), h("span", {class: "meta"}, [h("span", {class: "units-n", text: `${b.units.length} ${t("units")} · `}), `${b.households} ${t("households")}`]),
          stateChips(b.by_state)])))]);
    }));
  });
}

function devDot(id, kinds) {
  const s = S.states[id] || "unknown";
  return h("a", {href: `#/device/${encodeURIComponent(id)}`, class: `dot st-${s}`, "data-device": id, "data-state": s,
    title: `${kind(kinds[id])} ${id}`, "aria-label": `${kind(kinds[id])} ${t(`s_${s}`)}`});
}

function buildingView(tree, id, focus, company) {
  return api(`/api/places/${encodeURIComponent(id)}`).then((b) => {
    Object.assign(S.states, b.device_states);
    const kinds = b.device_kinds;
    const units = b.units.map((u) => h("div", {class: "unit"}, [
      h("div", {class: "unit-name st-unknown", "data-place": u.id, "data-devices": u.devices.join(" ")},
        [u.name, " ", h("span", {class: "dots"}, u.devices.map((d) => devDot(d, kinds)))]),
      h("div", {class: "hhs"}, u.households.map((hh) => h("div", {
        class: `hh st-unknown${hh.id === focus ? " focus" : ""}`, "data-place": hh.id, "data-devices": hh.devices.join(" "), id: `hh-${hh.id}`}, [
        h("span", {class: "room", text: hh.room}),
        hh.elderly_alone ? h("span", {class: "elderly", title: t("elderly_alone"), text: "♥"}) : null,
        h("span", {class: "dots"}, hh.devices.map((d) => devDot(d, kinds)))])))]));
    tree.replaceChildren(h("div", {class: "building"}, [
      h("p", {}, [h("a", {href: `#/overview?${qs({property_company: company})}`, text: `← ${t("back_overview")}`})]),
      h("h2", {class: "st-unknown", "data-place": b.id, "data-devices": Object.keys(kinds).join(" ")},
        [`${b.compound.name} ${b.name} `, h("span", {class: "dots"}, b.devices.map((d) => devDot(d, kinds)))]),
      h("div", {class: "units"}, units)]));
    tree.querySelectorAll("[data-place]").forEach(paintPlace);
    const f = focus && document.getElementById(`hh-${focus}`);
    if (f) { f.scrollIntoView({block: "center"}); }
  });
}

export function overview(params) {
  setNav("overview");
  const company = params.property_company ?? (sessionStorage.getItem("gw.company") || "");
  const cards = h("section", {class: "cards", id: "counts"});
  const tree = h("section", {class: "tree", id: "tree"});
  const pcs = S.me.property_companies || [];
  const sel = pcs.length ? h("select", {id: "company", "aria-label": t("all_companies"), onchange: () => {
    sessionStorage.setItem("gw.company", sel.value); go({property_company: sel.value});
  }}, [h("option", {value: "", text: t("all_companies")}), ...pcs.map((pc) => h("option", {value: pc.id, text: pc.name, selected: pc.id === company}))]) : null;
  S.view.replaceChildren(h("div", {class: "toolbar"}, [sel, ...search(company), legend()]), cards, tree);
  const load = () => (params.building ? buildingView(tree, params.building, params.focus, company)
    : summary(tree, company, params.compound));
  Promise.all([counts(cards, company), load()]).catch(fail);
  let pending = null;
  S.onLive = (what) => {
    if (what === "devices") { tree.querySelectorAll("[data-place]").forEach(paintPlace); }
    if (!pending) {
      pending = setTimeout(() => {
        pending = null;
        counts(cards, company).catch(fail);
        if (!params.building) { summary(tree, company, params.compound).catch(fail); }
      }, 1000);
    }
  };
}
