/* DOM and HTTP helpers shared by the pages. Every text goes through textContent (no
   HTML injection); handlers are attached with addEventListener (no inline handlers,
   so the pages run under a Content-Security-Policy of script-src 'self'). */

/** An element: attrs (``text``, ``on<event>`` handlers, other attributes) and children. */
export function h(tag, attrs, kids) {
  const el = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (v === null || v === undefined || v === false) { return; }
    if (k === "text") { el.textContent = v; } else if (k.startsWith("on")) { el.addEventListener(k.slice(2), v); } else { el.setAttribute(k, v === true ? "" : v); }
  });
  (kids || []).forEach((c) => {
    if (c !== null && c !== undefined && c !== false) { el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); }
  });
  return el;
}

/** An error answer of the API: ``code`` is the machine code pages translate. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || String(status));
    this.status = status; this.code = code; this.details = details;
  }
}

/** JSON from the API; a 401 goes to the login page. */
export async function api(path, opts = {}) {
  const init = {credentials: "same-origin", method: opts.method || "GET", headers: {}};
  if (opts.body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(opts.body); }
  const r = await fetch(path, init);
  if (r.status === 401) { location.href = "/login"; throw new ApiError(401, "unauthorized", "login"); }
  const b = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = b.error || {};
    throw new ApiError(r.status, e.code, e.message, e.details);
  }
  return b;
}

export function badge(cls, text) { return h("span", {class: `badge ${cls}`, text}); }
