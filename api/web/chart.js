/* Small <canvas> charts (no library): a line chart over time and a horizontal bar chart. */
(function () {
  "use strict";
  function setup(canvas, h) {
    var ratio = window.devicePixelRatio || 1, w = canvas.clientWidth || 600;
    canvas.width = w * ratio; canvas.height = h * ratio; canvas.style.height = h + "px";
    var g = canvas.getContext("2d"); g.scale(ratio, ratio); g.font = "12px sans-serif";
    return {g: g, w: w, h: h};
  }
  /* series: [{label, color, points: [[ts, value], ...]}]; fmt(ts) formats the x axis. */
  function line(canvas, series, fmt) {
    var c = setup(canvas, 220), g = c.g, pad = 40;
    var xs = [], ys = [];
    series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
    g.clearRect(0, 0, c.w, c.h);
    if (!xs.length) { g.fillStyle = "#888"; g.fillText("—", c.w / 2, c.h / 2); return; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min(0, Math.min.apply(null, ys)), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x1 = x0 + 1; } if (y1 === y0) { y1 = y0 + 1; }
    var X = function (v) { return pad + (v - x0) / (x1 - x0) * (c.w - pad - 10); };
    var Y = function (v) { return c.h - 24 - (v - y0) / (y1 - y0) * (c.h - 34); };
    g.strokeStyle = "#ccc"; g.beginPath(); g.moveTo(pad, 10); g.lineTo(pad, c.h - 24); g.lineTo(c.w - 10, c.h - 24); g.stroke();
    g.fillStyle = "#555"; g.fillText(String(+y1.toFixed(2)), 2, 14); g.fillText(String(+y0.toFixed(2)), 2, c.h - 26);
    g.fillText(fmt(x0), pad, c.h - 8); var r = fmt(x1); g.fillText(r, c.w - 10 - g.measureText(r).width, c.h - 8);
    series.forEach(function (s, i) {
      g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
      s.points.forEach(function (p, j) { if (j) { g.lineTo(X(p[0]), Y(p[1])); } else { g.moveTo(X(p[0]), Y(p[1])); } });
      g.stroke(); g.fillStyle = s.color; g.fillText(s.label, pad + 8 + i * 110, 14);
    });
  }
  /* rows: [{label, value}] with value null for "no data"; unit appended to labels. */
  function bars(canvas, rows, color) {
    var c = setup(canvas, 28 + rows.length * 26), g = c.g, left = 110;
    var max = Math.max.apply(null, rows.map(function (r) { return r.value || 0; }).concat([1]));
    g.clearRect(0, 0, c.w, c.h);
    rows.forEach(function (r, i) {
      var y = 8 + i * 26;
      g.fillStyle = "#333"; g.fillText(r.label.slice(0, 14), 4, y + 14);
      if (r.value === null || r.value === undefined) { g.fillStyle = "#999"; g.fillText("—", left, y + 14); return; }
      var w = (c.w - left - 60) * r.value / max;
      g.fillStyle = color; g.fillRect(left, y + 2, Math.max(1, w), 16);
      g.fillStyle = "#333"; g.fillText(String(+r.value.toFixed(1)), left + w + 6, y + 14);
    });
  }
  window.GW_CHART = {line: line, bars: bars};
})();
