/* Formatting: times in the site's zone, readings with their units. Pure functions. */

/** Minutes the zone ``tz`` is ahead of UTC at ``date``. */
export function tzOffsetMin(date, tz) {
  const p = {};
  new Intl.DateTimeFormat("en-US", {timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit"}).formatToParts(date).forEach((x) => { p[x.type] = x.value; });
  return (Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) - Math.floor(date.getTime() / 60000) * 60000) / 60000;
}

/** Midnight of a YYYY-MM-DD date in ``tz``, epoch seconds. */
export function dayStart(ymd, tz) {
  const utc = Date.parse(`${ymd}T00:00:00Z`);
  return utc / 1000 - tzOffsetMin(new Date(utc), tz) * 60;
}

/** The YYYY-MM-DD date of epoch seconds ``ts`` in ``tz``. */
export function siteDate(ts, tz) {
  return new Date((ts + tzOffsetMin(new Date(ts * 1000), tz) * 60) * 1000).toISOString().slice(0, 10);
}

/** Epoch seconds as "MM/DD HH:MM:SS" (zh) or "DD/MM, HH:MM:SS" (en) in ``tz``; "—" for none. */
export function fmtTime(ts, lang, tz) {
  if (ts === null || ts === undefined) { return "—"; }
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {timeZone: tz, month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false}).format(new Date(ts * 1000));
}

/** A number with at most ``digits`` decimals and no trailing zeros. */
export function fmtNumber(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(+v)) { return "—"; }
  return String(+(+v).toFixed(digits));
}

/** A reading with its unit: "30 %LEL", "21.5 °C"; booleans as ``yesNo`` words. */
export function fmtReading(value, unit, yesNo = ["yes", "no"]) {
  if (value === null || value === undefined) { return "—"; }
  if (typeof value === "boolean") { return value ? yesNo[0] : yesNo[1]; }
  return unit ? `${fmtNumber(value)} ${unit}` : fmtNumber(value);
}

/** Round axis ticks from 0 (or the minimum when negative) to at least ``max``. */
export function niceTicks(min, max, count = 4) {
  const lo = Math.min(0, min);
  const span = Math.max(max - lo, 1e-9);
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const start = Math.floor(lo / step) * step;
  const ticks = [];
  for (let v = start; v < max + step - 1e-9; v += step) { ticks.push(+v.toFixed(10)); }
  if (ticks.length < 2) { ticks.push(start + step); }
  return ticks;
}
