/* The login page: the same words as the app; errors translated. */
import {apply, loadWords, t, toggle} from "./words.js";

async function main() {
  await loadWords();
  apply(document);
  document.getElementById("lang").addEventListener("click", () => { toggle(); apply(document); });
  document.getElementById("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("login-error");
    err.hidden = true;
    try {
      const r = await fetch("/api/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
        credentials: "same-origin", body: JSON.stringify({login: document.getElementById("login").value,
          password: document.getElementById("password").value})});
      if (r.ok) { location.href = "/"; return; }
      err.textContent = r.status === 429 ? t("too_many") : t("bad_login");
    } catch {
      err.textContent = t("network_error");
    }
    err.hidden = false;
  });
}

main();
