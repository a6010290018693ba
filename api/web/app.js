/* GridWatch pages: the shell. Loads the words and who is logged in, opens the live
   stream (Server-Sent Events) and shows the page of the hash route. Each page is its
   own module under pages/. */
import {api} from "./dom.js";
import {homeFor, parseHash} from "./router.js";
import {S, fail} from "./state.js";
import {apply, loadWords, t, toggle} from "./words.js";
import {alertPage, inbox} from "./pages/inbox.js";
import {device, devices} from "./pages/devices.js";
import {overview} from "./pages/overview.js";
import {silences} from "./pages/silences.js";
import {stats} from "./pages/stats.js";
import {users} from "./pages/users.js";

const PAGES = {
  overview: (r) => overview(r.params),
  devices: (r) => devices(r.params),
  device: (r) => device(r.arg),
  inbox: () => inbox(),
  alert: (r) => alertPage(r.arg),
  stats: (r) => stats(r.params),
  silences: () => silences(),
  users: () => users(),
};

let es = null;

function connect() {
  if (es) { es.close(); }
  es = new EventSource("/api/events");
  const dot = document.getElementById("live");
  es.addEventListener("hello", () => { dot.className = "live on"; dot.title = t("live_on"); });
  es.onerror = () => { dot.className = "live off"; dot.title = t("live_off"); };
  es.addEventListener("devices", (ev) => {
    const diff = JSON.parse(ev.data);
    Object.assign(S.states, diff);
    paintDevices(diff);
    if (S.onLive) { S.onLive("devices", diff); }
  });
  es.addEventListener("alert", (ev) => { if (S.onLive) { S.onLive("alert", JSON.parse(ev.data)); } });
  es.addEventListener("reload", () => route());
}

function paintDevices(diff) {
  Object.keys(diff).forEach((id) => {
    document.querySelectorAll(`[data-device="${CSS.escape(id)}"]`).forEach((el) => {
      el.setAttribute("data-state", diff[id]);
      el.className = el.className.replace(/\bst-\w+/, `st-${diff[id]}`);
      if (el.classList.contains("pill")) { el.textContent = t(`s_${diff[id]}`); }
    });
  });
}

export function route() {
  const r = parseHash(location.hash);
  S.onLive = null;
  const page = PAGES[r.page];
  if (!page) { location.replace(homeFor(S.me.role)); return; }
  S.view.replaceChildren(Object.assign(document.createElement("p"), {className: "loading", textContent: t("loading")}));
  try { page(r); } catch (e) { fail(e); }
}

async function main() {
  S.view = document.getElementById("view");
  await loadWords();
  apply(document);
  document.getElementById("lang").addEventListener("click", () => { toggle(); apply(document); route(); });
  document.getElementById("logout").addEventListener("click", () => {
    api("/api/auth/logout", {method: "POST"}).finally(() => { location.href = "/login"; });
  });
  const m = await api("/api/auth/me");
  S.me = m; S.tz = m.community.timezone || S.tz;
  document.getElementById("community").textContent = m.community.name;
  document.getElementById("me").textContent = m.name + (m.read_only ? ` (${t("read_only")})` : "");
  document.getElementById("logout").hidden = m.via !== "session";
  document.querySelector('#nav a[href="#/users"]').hidden = !m.admin;
  document.querySelector('#nav a[href="#/silences"]').hidden = Boolean(m.read_only);
  window.addEventListener("hashchange", route);
  connect();
  route();
}

main().catch((e) => { if (S.view) { fail(e); } });
