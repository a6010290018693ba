/* Hash routes: #/page/arg?key=value. Pure functions. */

/** Parse a location hash into {page, arg, params}. */
export function parseHash(hash) {
  const [path, query = ""] = String(hash || "").replace(/^#\/?/, "").split("?");
  const parts = path.split("/");
  const params = {};
  query.split("&").filter(Boolean).forEach((kv) => {
    const i = kv.indexOf("=");
    const k = decodeURIComponent(i < 0 ? kv : kv.slice(0, i));
    params[k] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " "));
  });
  return {page: parts[0] || "", arg: parts[1] === undefined ? "" : decodeURIComponent(parts[1]), params};
}

/** An object as a query string, leaving out empty values. */
export function qs(o) {
  return Object.keys(o).filter((k) => o[k] !== "" && o[k] !== null && o[k] !== undefined)
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(o[k])}`).join("&");
}

/** The page a role starts on. */
export function homeFor(role) {
  return role === "grid_worker" || role === "maintenance" || role === "resident" ? "#/inbox" : "#/overview";
}

export const PAGES = ["overview", "devices", "device", "inbox", "alert", "stats", "silences", "users"];
