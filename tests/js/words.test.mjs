// The pages' words: the catalogue the notices and console use; every key the pages
// name literally exists in both languages; errors and audit actions read as words.
import assert from "node:assert/strict";
import {readFileSync, readdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {test} from "node:test";
import {fileURLToPath} from "node:url";

import * as W from "../../api/web/words.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const catalogue = JSON.parse(readFileSync(join(root, "alerts/words/words.json"), "utf8"));
W.setCatalogue(catalogue);

function webSources() {
  const dir = join(root, "api/web");
  const files = readdirSync(dir).filter((f) => f.endsWith(".js")).map((f) => join(dir, f));
  return files.concat(readdirSync(join(dir, "pages")).filter((f) => f.endsWith(".js")).map((f) => join(dir, "pages", f)));
}

test("t falls back to Chinese, then to the key, and fills placeholders", () => {
  W.setLang("en");
  assert.equal(W.t("h_gas"), catalogue.en.h_gas);
  assert.equal(W.t("no-such-key"), "no-such-key");
  assert.equal(W.t("hours_n", {n: 8}), "8 hours");
  W.setLang("zh");
  assert.equal(W.t("hours_n", {n: 8}), "8 小时");
  assert.equal(W.hazard("unprotected"), catalogue.zh.h_unprotected);
  W.setLang("fr");
  assert.equal(W.lang(), "zh");
});

test("every key the pages name literally is in the catalogue, in both languages", () => {
  const missing = [];
  for (const f of webSources()) {
    const src = readFileSync(f, "utf8");
    for (const m of src.matchAll(/\bt\("([a-z0-9_.]+)"/g)) {
      if (!catalogue.zh[m[1]] || !catalogue.en[m[1]]) { missing.push(`${f}: ${m[1]}`); }
    }
  }
  assert.deepEqual(missing, []);
});

test("the pages' static words (data-i18n) are in the catalogue", () => {
  for (const page of ["index.html", "login.html"]) {
    const html = readFileSync(join(root, "api/web", page), "utf8");
    for (const m of html.matchAll(/data-i18n="([a-z0-9_]+)"/g)) { assert.ok(catalogue.en[m[1]], `${page}: ${m[1]}`); }
  }
});

test("every device kind, state, status, outcome and role the pages show has a word", () => {
  const keys = [..."gas co smoke heat water door gateway".split(" ").map((k) => `k_${k}`),
    ..."alarm fault offline ok unknown".split(" ").map((k) => `s_${k}`),
    ..."raised acknowledged on_site resolved closed".split(" ").map((k) => `st_${k}`),
    ..."real_hazard false_alarm device_fault cleared_by_itself".split(" ").map((k) => `o_${k}`),
    ..."grid_worker grid_assistant property_manager maintenance leader resident admin contact community_head deputy".split(" ").map((k) => `role_${k}`)];
  assert.deepEqual(keys.filter((k) => !catalogue.zh[k] || !catalogue.en[k]), []);
});

test("an API error reads as its code's words; an unknown code shows the message", () => {
  W.setLang("zh");
  assert.equal(W.errorText({code: "not_found", message: "no device 'x'"}), catalogue.zh.e_not_found);
  assert.equal(W.errorText({code: "hazard_still_present", message: "x"}), catalogue.zh.e_hazard_still_present);
  assert.equal(W.errorText({code: "teapot", message: "I am a teapot"}), "I am a teapot");
});

test("every audit action the service writes reads as words", () => {
  const actions = new Set();
  const walk = (dir) => readdirSync(dir, {withFileTypes: true}).forEach((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) { walk(p); } else if (p.endsWith(".py")) {
      const src = readFileSync(p, "utf8");
      for (const m of src.matchAll(/\.audit\([^,]+,\s*"([a-z_]+\.[a-z_]+)"/g)) { actions.add(m[1]); }
    }
  });
  ["api", "alerts", "gridwatch", "store"].forEach((d) => walk(join(root, d)));
  assert.ok(actions.size >= 8, [...actions].join(" "));
  W.setLang("en");
  assert.deepEqual([...actions].filter((a) => W.auditText(a).includes(a)), []);
  ["ack", "on_site", "resolve", "close"].forEach((a) => assert.ok(!W.auditText(`alert.${a}`).includes("alert.")));
});
