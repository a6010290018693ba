// The pages load as native modules (imports resolve, exports exist) and the HTML has no
// inline script or inline event handler (the service's CSP allows script-src 'self').
import assert from "node:assert/strict";
import {readFileSync, readdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {test} from "node:test";
import {fileURLToPath} from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "api", "web");

test("every page module loads and exports its page", async () => {
  const want = {"inbox.js": ["inbox", "alertPage", "timelineItem", "readingLine"], "devices.js": ["devices", "device", "readingText"],
    "overview.js": ["overview"], "silences.js": ["silences"], "stats.js": ["stats"], "users.js": ["users"]};
  const files = readdirSync(join(web, "pages")).filter((f) => f.endsWith(".js")).sort();
  assert.deepEqual(files, Object.keys(want).sort());
  for (const f of files) {
    const mod = await import(join(web, "pages", f));
    for (const name of want[f]) { assert.equal(typeof mod[name], "function", `${f} exports ${name}`); }
  }
});

test("no inline scripts, inline handlers or javascript: links in the pages", () => {
  for (const f of readdirSync(web).filter((x) => x.endsWith(".html"))) {
    const html = readFileSync(join(web, f), "utf8");
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1], /\bsrc="\/static\/[a-z]+\.js"/, `${f}: a script without src`);
      assert.equal(m[2].trim(), "", `${f}: inline script`);
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${f}: inline event handler`);
    assert.doesNotMatch(html, /javascript:/i, f);
  }
});

test("the readings of a device and an alert carry units", async () => {
  const W = await import(join(web, "words.js"));
  W.setCatalogue(JSON.parse(readFileSync(join(web, "..", "..", "alerts", "words", "words.json"), "utf8")));
  W.setLang("en");
  const {readingText} = await import(join(web, "pages", "devices.js"));
  const {readingLine} = await import(join(web, "pages", "inbox.js"));
  assert.equal(readingText("gas", {lel_pct: 30, battery_pct: 80}), "Gas 30 %LEL");
  assert.equal(readingText("smoke", {smoke: false, temp_c: 21.3}), "Smoke no · Temperature 21.3 °C");
  assert.equal(readingText("gateway", {}), "—");
  assert.equal(readingLine({hazard: "gas", value: 26, reading: {field: "lel_pct", value: 30, unit: "%LEL"}}),
    "Alarm reading 26 %LEL · Now Gas 30 %LEL");
  assert.equal(readingLine({hazard: "door_night", value: null, reading: null}), "");
});

test("an escalation reads as its level and who was told, in the page's language", async () => {
  const W = await import(join(web, "words.js"));
  W.setCatalogue(JSON.parse(readFileSync(join(web, "..", "..", "alerts", "words", "words.json"), "utf8")));
  const {timelineText} = await import(join(web, "pages", "inbox.js"));
  const e = {actor: "system", action: "escalated", note: "not acknowledged in 180 s",
    data: {level: 1, levels: ["grid_leader"], recipients: ["w-lead"]}};
  W.setLang("zh");
  assert.equal(timelineText(e), "系统 · 逐级上报 第1级: 通知 网格长");
  W.setLang("en");
  assert.equal(timelineText(e), "system · escalated level 1: told grid leader");
  assert.equal(timelineText({actor: "w-g1", action: "acknowledged", note: "on my way"}), "w-g1 · acknowledged — on my way");
});
