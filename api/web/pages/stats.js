/* Statistics: time to acknowledge and resolve, share resolved inside the grid,
   false-alarm share, per grid or property company; CSV exports. */
import * as CH from "../chart.js";
import {api, h} from "../dom.js";
import {dayStart, fmtNumber, siteDate} from "../format.js";
import {qs} from "../router.js";
import {S, fail, setNav} from "../state.js";
import {t} from "../words.js";

export const DEFS = [["count", "alerts", 1, "#455a64"], ["ack_median", "ack_median_s", 1 / 60, "#1565c0"],
  ["resolve_median", "resolve_median_s", 1 / 60, "#6a1b9a"], ["in_grid_share", "resolved_in_grid_share", 100, "#2e7d32"],
  ["false_share", "false_alarm_share", 100, "#ef6c00"]];

export function stats(params) {
  setNav("stats");
  const now = Date.now() / 1000;
  const from = params.from || siteDate(now - 30 * 86400, S.tz), to = params.to || siteDate(now, S.tz), by = params.by || "grid";
  const fIn = h("input", {type: "date", value: from, "aria-label": t("from")});
  const tIn = h("input", {type: "date", value: to, "aria-label": t("to")});
  const bySel = h("select", {"aria-label": t("group")}, [h("option", {value: "grid", text: t("by_grid"), selected: by === "grid"}),
    h("option", {value: "property_company", text: t("by_company"), selected: by === "property_company"})]);
  const start = dayStart(from, S.tz), end = dayStart(to, S.tz) + 86400;
  const charts = h("section", {class: "charts"}), table = h("table", {class: "list"});
  S.view.replaceChildren(h("div", {class: "toolbar"}, [`${t("from")} `, fIn, ` ${t("to")} `, tIn, " ", bySel,
    h("button", {text: t("apply"), onclick: () => { location.hash = `#/stats?${qs({from: fIn.value, to: tIn.value, by: bySel.value})}`; }}),
    h("a", {class: "button", href: `/api/export/alerts.csv?${qs({start, end})}`, text: t("export_alerts")}),
    h("a", {class: "button", href: "/api/export/devices.csv", text: t("export_devices")})]), charts, h("div", {class: "scroll"}, [table]));
  api(`/api/stats?${qs({start, end, by})}`).then((s) => {
    const rows = s.groups;
    DEFS.forEach(([label, key, k, color]) => {
      const c = h("canvas", {class: "chart bars"});
      charts.appendChild(h("figure", {}, [h("figcaption", {text: t(label)}), c]));
      CH.bars(c, rows.map((r) => ({label: r.name, value: r[key] === null ? null : r[key] * k})), color);
    });
    const fmt = (v, k) => (v === null || v === undefined ? "—" : fmtNumber(v * k));
    table.replaceChildren(h("thead", {}, [h("tr", {}, [t("group"), ...DEFS.map((d) => t(d[0]))].map((x) => h("th", {text: x})))]),
      h("tbody", {}, [...rows, {name: t("total"), ...s.total}].map((r) =>
        h("tr", {}, [h("td", {text: r.name}), ...DEFS.map((d) => h("td", {text: fmt(r[d[1]], d[2])}))]))));
  }).catch(fail);
}
