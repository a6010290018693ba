/* Devices: a filtered list (kind, building, state, battery, search as you type) and a
   device page with its current reading, a chart per unit with the alarm levels drawn,
   and its alerts. */
import * as CH from "../chart.js";
import {api, badge, h} from "../dom.js";
import {fmtReading} from "../format.js";
import {qs} from "../router.js";
import {S, STATES, fail, setNav, statePill, time} from "../state.js";
import {fieldName, hazard, kind, t, unitOf} from "../words.js";
import {timelineItem} from "./inbox.js";

export const KINDS = ["gas", "co", "smoke", "heat", "water", "door", "gateway"];
// What a device of each kind measures, most telling first.
export const FIELDS = {gas: ["lel_pct"], co: ["co_ppm"], smoke: ["smoke", "temp_c"], heat: ["temp_c"],
  water: ["water_leak"], door: ["open"], gateway: []};

/** "Gas 30 %LEL" for a device's latest values of its main fields. */
export function readingText(kindName, fields) {
  return (FIELDS[kindName] || []).filter((f) => fields && fields[f] !== undefined && fields[f] !== null)
    .map((f) => `${fieldName(f)} ${fmtReading(fields[f], unitOf(f), [t("yes"), t("no")])}`).join(" · ") || "—";
}

function battery(d) {
  if (d.battery_pct === null || d.battery_pct === undefined) { return "—"; }
  return `${fmtReading(d.battery_pct, "%")}${d.battery_low ? ` ⚠ ${t("low_battery")}` : ""}`;
}

export function devices(params) {
  setNav("devices");
  const f = {kind: params.kind || "", state: params.state || "", building: params.building || "",
    battery_low: params.battery_low || "", q: params.q || "", offset: +(params.offset || 0), limit: 50};
  const go = (ch) => { location.hash = `#/devices?${qs({...f, ...ch})}`; };
  const select = (name, label, opts) => h("label", {class: "field"}, [`${label} `, h("select", {name,
    onchange: (e) => go({offset: 0, [name]: e.target.value})},
  [h("option", {value: "", text: t("all")}), ...opts.map(([v, text]) => h("option", {value: v, text, selected: String(f[name]) === v}))])]);
  const buildings = select("building", t("building"), []);
  let timer = null;
  const search = h("input", {type: "search", name: "q", placeholder: t("q_hint"), "aria-label": t("search"), value: f.q,
    oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => go({q: e.target.value, offset: 0}), 400); }});
  const bar = h("div", {class: "toolbar"}, [
    select("kind", t("kind"), KINDS.map((k) => [k, kind(k)])), buildings,
    select("state", t("state"), STATES.map((k) => [k, t(`s_${k}`)])),
    select("battery_low", t("battery"), [["true", t("battery_low_only")]]), search,
    h("a", {href: "/api/export/devices.csv", class: "button", text: t("export_devices")})]);
  const body = h("tbody"), pager = h("div", {class: "pager"});
  S.view.replaceChildren(bar, h("div", {class: "scroll"}, [h("table", {class: "list devices"}, [h("thead", {}, [h("tr", {},
    [t("device_id"), t("kind"), t("place"), t("state"), t("reading"), t("battery"), t("last_seen")].map((x) => h("th", {text: x})))]), body])]), pager);
  if (f.q) { search.focus(); search.setSelectionRange(f.q.length, f.q.length); }
  api("/api/places/summary").then((p) => {
    buildings.querySelector("select").append(...p.compounds.flatMap((c) => c.buildings.map((b) =>
      h("option", {value: b.id, text: `${c.name} ${b.name}`, selected: b.id === f.building}))));
  }).catch(() => {});
  api(`/api/devices?${qs({kind: f.kind, state: f.state, building: f.building, battery_low: f.battery_low, q: f.q,
    limit: f.limit, offset: f.offset})}`).then((r) => {
    body.replaceChildren(...r.items.map((d) => h("tr", {}, [
      h("td", {}, [h("a", {href: `#/device/${encodeURIComponent(d.id)}`, text: d.id})]),
      h("td", {text: kind(d.kind)}), h("td", {text: d.place.address}), h("td", {}, [statePill(d.id, d.state)]),
      h("td", {class: "reading", text: readingText(d.kind, d.last_reading)}),
      h("td", {text: battery(d)}), h("td", {text: time(d.last_seen)})])));
    pager.replaceChildren(
      h("button", {disabled: f.offset === 0, onclick: () => go({offset: Math.max(0, f.offset - f.limit)}), text: t("prev")}),
      h("span", {text: ` ${r.total ? f.offset + 1 : 0}–${Math.min(r.total, f.offset + f.limit)} / ${r.total} `}),
      h("button", {disabled: f.offset + f.limit >= r.total, onclick: () => go({offset: f.offset + f.limit}), text: t("next")}));
  }).catch(fail);
}

const COLORS = ["#c62828", "#1565c0", "#2e7d32", "#6a1b9a"];
const LEVEL_COLOR = {warning: "#ef6c00", critical: "#c62828"};

function charts(box, d, hist) {
  const fields = [...(FIELDS[d.kind] || []), "battery_pct"];
  const figs = [];
  fields.forEach((name, i) => {
    const points = hist.items.filter((p) => p[name] !== undefined && p[name] !== null).map((p) => [p.ts, +p[name]]);
    if (!points.length) { return; }
    const unit = unitOf(name);
    const canvas = h("canvas", {class: "chart", "data-field": name});
    const levels = (d.thresholds && d.thresholds[name]) || [];
    figs.push([h("figure", {}, [h("figcaption", {}, [h("span", {class: `swatch c${i % 4}`}),
      ` ${fieldName(name)}${unit ? ` (${unit})` : ""}`,
      ...levels.map((l) => h("span", {class: `level lv-${l.level}`, text: ` — ${t(l.level === "critical" ? "threshold_crit" : "threshold_warn")} ${fmtReading(l.value, unit)}`}))]),
    canvas]), canvas, points, unit, levels, COLORS[i % 4]]);
  });
  box.replaceChildren(...(figs.length ? figs.map((x) => x[0]) : [h("p", {class: "empty", text: t("no_readings")})]));
  figs.forEach(([, canvas, points, unit, levels, color]) => CH.line(canvas, [{color, points}], {fmt: time, unit,
    thresholds: levels.map((l) => ({value: l.value, color: LEVEL_COLOR[l.level], label: t(l.level === "critical" ? "threshold_crit" : "threshold_warn")}))}));
}

export function device(id) {
  setNav("devices");
  const enc = encodeURIComponent(id);
  Promise.all([api(`/api/devices/${enc}`), api(`/api/devices/${enc}/events`)]).then(([d, ev]) => {
    const box = h("section", {class: "charts device-charts"});
    const fact = (k, v) => [h("dt", {text: t(k)}), h("dd", {class: `fact-${k}`, text: v})];
    S.view.replaceChildren(
      h("h1", {}, [`${kind(d.kind)} ${d.id} `, statePill(d.id, d.state), d.maintenance ? badge("status", t("maintenance")) : null]),
      h("dl", {class: "facts"}, [
        ...fact("reading", readingText(d.kind, d.last_reading)),
        ...fact("place", d.place.address),
        ...fact("responsible", d.responsible ? `${d.responsible.name} ${d.responsible.phone || ""}` : "—"),
        ...fact("battery", battery(d)),
        ...fact("last_seen", time(d.last_seen)),
        ...fact("model", d.model || "—")]),
      h("h2", {text: t("history")}), box, h("h2", {text: t("events")}),
      ev.items.length ? h("ul", {class: "events"}, ev.items.map((a) => h("li", {}, [
        h("a", {href: `#/alert/${a.id}`, text: `${time(a.raised_at)} ${hazard(a.hazard)}`}), " ",
        badge(`sev-${a.severity}`, t(a.severity)), " ", badge("status", t(`st_${a.status}`)),
        h("ol", {class: "timeline"}, a.timeline.map(timelineItem))]))) : h("p", {class: "empty", text: t("no_events")}));
    api(`/api/devices/${enc}/readings?limit=5000`).then((hist) => charts(box, d, hist)).catch(fail);
  }).catch(fail);
  S.onLive = (what, data) => { if (what === "alert" && data.device_id === id) { device(id); } };
}
