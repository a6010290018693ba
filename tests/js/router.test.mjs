import assert from "node:assert/strict";
import {test} from "node:test";

import {homeFor, parseHash, qs} from "../../api/web/router.js";

test("a hash is a page, an argument and parameters", () => {
  assert.deepEqual(parseHash("#/device/gas%2F1?x=1"), {page: "device", arg: "gas/1", params: {x: "1"}});
  assert.deepEqual(parseHash("#/devices?kind=gas&q=1%E5%8F%B7%E6%A5%BC&empty="), {page: "devices", arg: "",
    params: {kind: "gas", q: "1号楼", empty: ""}});
  assert.deepEqual(parseHash(""), {page: "", arg: "", params: {}});
  assert.deepEqual(parseHash("#/overview?q=a=b"), {page: "overview", arg: "", params: {q: "a=b"}});
});

test("a query string leaves out empty values and round-trips", () => {
  const q = qs({kind: "gas", q: "1号楼 101", offset: 0, building: "", x: null});
  assert.equal(q, "kind=gas&q=1%E5%8F%B7%E6%A5%BC%20101&offset=0");
  assert.deepEqual(parseHash(`#/devices?${q}`).params, {kind: "gas", q: "1号楼 101", offset: "0"});
});

test("workers start in the inbox, managers on the overview", () => {
  assert.equal(homeFor("grid_worker"), "#/inbox");
  assert.equal(homeFor("maintenance"), "#/inbox");
  assert.equal(homeFor("property_manager"), "#/overview");
  assert.equal(homeFor("admin"), "#/overview");
});
