/* What every page shares: who is logged in, the site's time zone, device states from
   the live stream, the current page's live handler, and helpers bound to them. */
import {h} from "./dom.js";
import {fmtTime} from "./format.js";
import {errorText, lang, t} from "./words.js";

export const S = {
  me: null,
  tz: "Asia/Shanghai",
  states: {},          // device id -> alarm | fault | offline | ok | unknown
  onLive: null,        // (kind, data) => void, set by the page on screen
  view: null,          // <main>
};

export const STATES = ["alarm", "fault", "offline", "ok", "unknown"];

/** Epoch seconds in the site's zone and the page language. */
export function time(ts) { return fmtTime(ts, lang(), S.tz); }

/** Show an error on the page (translated by its code). */
export function fail(e) {
  if (e && e.status === 401) { return; }
  S.view.replaceChildren(h("p", {class: "error", text: `${t("error")}: ${errorText(e)}`}));
}

/** Mark the nav link of ``route`` as current. */
export function setNav(route) {
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("on", a.getAttribute("href") === `#/${route}`));
}

/** A coloured pill with a device's state. */
export function statePill(id, state) {
  return h("span", {class: `pill st-${state}`, "data-device": id, "data-state": state, text: t(`s_${state}`)});
}
