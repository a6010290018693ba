import assert from "node:assert/strict";
import {test} from "node:test";

import {dayStart, fmtNumber, fmtReading, fmtTime, niceTicks, siteDate, tzOffsetMin} from "../../api/web/format.js";

test("readings carry their unit and at most one decimal", () => {
  assert.equal(fmtReading(30, "%LEL"), "30 %LEL");
  assert.equal(fmtReading(21.46, "°C"), "21.5 °C");
  assert.equal(fmtReading(7, ""), "7");
  assert.equal(fmtReading(true, "", ["是", "否"]), "是");
  assert.equal(fmtReading(null, "ppm"), "—");
  assert.equal(fmtNumber("x"), "—");
});

test("site dates and midnights in Asia/Shanghai (UTC+8, no DST)", () => {
  const tz = "Asia/Shanghai";
  assert.equal(tzOffsetMin(new Date(Date.UTC(2026, 0, 1)), tz), 480);
  const midnight = dayStart("2026-12-01", tz);
  assert.equal(midnight, Date.UTC(2026, 11, 1) / 1000 - 8 * 3600);
  assert.equal(siteDate(midnight, tz), "2026-12-01");
  assert.equal(siteDate(midnight - 1, tz), "2026-11-30");
  assert.match(fmtTime(midnight, "zh", tz), /12\/01.*00:00:00/);
  assert.equal(fmtTime(undefined, "zh", tz), "—");
});

test("axis ticks are round, start at zero and cover the maximum", () => {
  assert.deepEqual(niceTicks(0, 30), [0, 10, 20, 30]);
  const t = niceTicks(3, 87);
  assert.equal(t[0], 0);
  assert.ok(t.at(-1) >= 87);
  assert.ok(t.length >= 3 && t.length <= 7, String(t));
  assert.deepEqual(niceTicks(0, 0.4).slice(0, 2), [0, 0.1]);
  const neg = niceTicks(-5, 10);
  assert.ok(neg[0] <= -5 && neg.at(-1) >= 10);
});
