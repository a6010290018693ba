/* Small <canvas> charts (no library): a line chart over time with its own y axis (one
   chart per unit, so %LEL, ppm and % never share an axis), alarm thresholds drawn as
   dashed lines; and a horizontal bar chart. Legends are HTML beside the canvas. */
import {fmtNumber, niceTicks} from "./format.js";

function setup(canvas, h) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600;
  canvas.width = w * ratio; canvas.height = h * ratio; canvas.style.height = `${h}px`;
  const g = canvas.getContext("2d"); g.scale(ratio, ratio); g.font = "12px sans-serif";
  return {g, w, h};
}

/** series: [{color, points: [[ts, value], ...]}] in one unit; thresholds:
    [{value, color, label}]; fmt(ts) formats the time axis; unit labels the y axis. */
export function line(canvas, series, {fmt, unit = "", thresholds = []}) {
  const c = setup(canvas, 200);
  const g = c.g;
  const bottom = 22, top = 10, right = 10;
  const xs = [], ys = [];
  series.forEach((s) => s.points.forEach((p) => { xs.push(p[0]); ys.push(p[1]); }));
  g.clearRect(0, 0, c.w, c.h);
  if (!xs.length) { g.fillStyle = "#888"; g.fillText("—", c.w / 2, c.h / 2); return; }
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x1 === x0) { x1 = x0 + 1; }
  const top0 = Math.max(...ys, ...thresholds.map((t) => t.value));
  const ticks = niceTicks(Math.min(...ys), top0 || 1);
  const y0 = ticks[0], y1 = ticks[ticks.length - 1];
  const labels = ticks.map((v) => `${fmtNumber(v, 2)}${unit ? ` ${unit}` : ""}`);
  const left = 8 + Math.max(...labels.map((l) => g.measureText(l).width));
  const X = (v) => left + (v - x0) / (x1 - x0) * (c.w - left - right);
  const Y = (v) => c.h - bottom - (v - y0) / (y1 - y0) * (c.h - bottom - top);
  g.strokeStyle = "#eee"; g.fillStyle = "#555"; g.lineWidth = 1;
  ticks.forEach((v, i) => {
    g.beginPath(); g.moveTo(left, Y(v)); g.lineTo(c.w - right, Y(v)); g.stroke();
    g.fillText(labels[i], left - 4 - g.measureText(labels[i]).width, Y(v) + 4);
  });
  g.fillText(fmt(x0), left, c.h - 6);
  const r = fmt(x1); g.fillText(r, c.w - right - g.measureText(r).width, c.h - 6);
  thresholds.forEach((t) => {
    g.strokeStyle = t.color; g.setLineDash([6, 4]); g.beginPath(); g.moveTo(left, Y(t.value)); g.lineTo(c.w - right, Y(t.value)); g.stroke();
    g.setLineDash([]); g.fillStyle = t.color; g.fillText(t.label, c.w - right - g.measureText(t.label).width - 2, Y(t.value) - 3);
  });
  series.forEach((s) => {
    g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
    s.points.forEach((p, j) => { if (j) { g.lineTo(X(p[0]), Y(p[1])); } else { g.moveTo(X(p[0]), Y(p[1])); } });
    g.stroke();
  });
}

/** rows: [{label, value}] with value null for "no data". */
export function bars(canvas, rows, color) {
  const c = setup(canvas, 28 + rows.length * 26);
  const g = c.g, left = 110;
  const max = Math.max(...rows.map((r) => r.value || 0), 1);
  g.clearRect(0, 0, c.w, c.h);
  rows.forEach((r, i) => {
    const y = 8 + i * 26;
    g.fillStyle = "#333"; g.fillText(r.label.slice(0, 14), 4, y + 14);
    if (r.value === null || r.value === undefined) { g.fillStyle = "#999"; g.fillText("—", left, y + 14); return; }
    const w = (c.w - left - 60) * r.value / max;
    g.fillStyle = color; g.fillRect(left, y + 2, Math.max(1, w), 16);
    g.fillStyle = "#333"; g.fillText(fmtNumber(r.value), left + w + 6, y + 14);
  });
}
