/* The words of the pages: the one catalogue (alerts/words/words.json, served at
   /api/words) that the notices and the console use too. Chinese by default, English
   switchable (kept in localStorage). */

let catalogue = {zh: {}, en: {}, units: {}, hazard_field: {}};
let current = readLang();

function readLang() {
  try { return globalThis.localStorage?.getItem("gw.lang") || "zh"; } catch { return "zh"; }
}

/** Use this catalogue ({zh, en, units, hazard_field}). */
export function setCatalogue(c) { catalogue = c; }

/** Fetch the catalogue from the service. */
export async function loadWords(fetchFn = globalThis.fetch) {
  const r = await fetchFn("/api/words", {credentials: "same-origin"});
  if (!r.ok) { throw new Error(`words: HTTP ${r.status}`); }
  setCatalogue(await r.json());
}

export function lang() { return current; }

export function setLang(l) {
  current = l === "en" ? "en" : "zh";
  try { globalThis.localStorage?.setItem("gw.lang", current); } catch { /* private mode */ }
}

export function toggle() { setLang(current === "zh" ? "en" : "zh"); }

/** True when the catalogue has a word for ``key``. */
export function has(key) { return Boolean(catalogue.zh[key] || catalogue.en[key]); }

/** The word for ``key``; ``{name}`` placeholders filled from ``vars``. Chinese when the
    language lacks it, the key itself when neither has it (a test looks for those). */
export function t(key, vars) {
  let s = (catalogue[current] && catalogue[current][key]) || catalogue.zh[key] || key;
  if (vars) { s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)); }
  return s;
}

export const hazard = (h) => t(`h_${h}`);
export const kind = (k) => t(`k_${k}`);
export const fieldName = (f) => t(`f_${f}`);

/** The unit of a reading field ("" when it has none). */
export function unitOf(field) { return catalogue.units[field] || ""; }

/** The field an alert's value of this hazard is in, or undefined. */
export function hazardField(h) { return catalogue.hazard_field[h]; }

/** An API error as words: its code translated, else its message. */
export function errorText(err) {
  if (err && err.code && has(`e_${err.code}`)) { return t(`e_${err.code}`); }
  return (err && err.message) || t("error");
}

/** An audit action (``alert.ack``) as words. */
export function auditText(action) {
  return has(`au_${action}`) ? t(`au_${action}`) : `${t("au_other")} (${action})`;
}

/** Translate every [data-i18n] element under ``root`` and the language button. */
export function apply(root) {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.getAttribute("data-i18n")); });
  const b = root.getElementById && root.getElementById("lang");
  if (b) { b.textContent = current === "zh" ? "English" : "中文"; }
}
