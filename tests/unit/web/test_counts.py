"""The pages count "online" and "low battery" as the rule core decides them (issue 16):
the device's own ``offline_heartbeats`` and ``offline_margin_s`` (a site override
included), and the battery rule's condition, not a second definition."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np

from alerts.rules.engine import RuleEngine
from alerts.rules.params import params_for_site
from api.views import battery_low, device_online, offline_after_s, online_mask
from sensors.batch import NO_SEQ, ReadingBatch, Row
from sensors.fields import FIELD_INDEX, N_FIELDS
from sensors.live import LiveState
from tests.sites import tiny_site
from topology.index import SiteIndex, device_table
from topology.load import parse_site


def _ctx(rules: dict | None = None) -> SimpleNamespace:
    site = copy.deepcopy(tiny_site())
    if rules:
        site["rules"] = rules
    index = SiteIndex(parse_site(site))
    table = device_table(index)
    return SimpleNamespace(index=index, table=table, live=LiveState(table),
                           engine=RuleEngine(table, params_for_site(index, table)))


def _reading(c: SimpleNamespace, device: str, ts: float, **fields: float) -> None:
    values = [np.nan] * N_FIELDS
    for k, v in fields.items():
        values[FIELD_INDEX[k]] = float(v)
    idx = c.table.index[device]
    batch = ReadingBatch.from_rows([Row(device, idx, ts, ts, NO_SEQ, values)])
    c.live.update(batch)
    c.engine.evaluate(batch, ts)


def test_online_is_the_rule_cores_offline_limit_with_the_sites_override():
    c = _ctx({"places": {"b2": {"offline_margin_s": 900}}})
    gas101, gas201 = c.table.index["gas-101"], c.table.index["gas-201"]
    assert offline_after_s(c, gas101) == 600 * 2 + 120  # defaults: 2 heartbeats + 120 s
    assert offline_after_s(c, gas201) == 600 * 2 + 900  # building b2's override
    _reading(c, "gas-101", 1000.0, lel_pct=0)
    _reading(c, "gas-201", 1000.0, lel_pct=0)
    at = 1000.0 + 1300  # past 2 heartbeats + 60 s (the pages' old rule), inside the rule core's
    assert device_online(c, gas101, at) is True
    assert device_online(c, gas101, 1000.0 + 1321) is False
    assert device_online(c, gas201, 1000.0 + 2000) is True
    mask = online_mask(c, at)
    assert mask[gas101] and mask[gas201] and int(mask.sum()) == 2  # never-seen devices are not online
    c.live.set_online(gas201, False, 1001.0)
    assert not online_mask(c, at)[gas201] and device_online(c, gas201, at) is False


def test_low_battery_is_the_battery_rules_condition():
    c = _ctx()
    water, smoke = c.table.index["water-101"], c.table.index["smoke-101"]
    _reading(c, "water-101", 1000.0, battery_pct=20.0)  # at the level, no flag: the rule says low
    _reading(c, "smoke-101", 1000.0, battery_pct=21.0)
    assert battery_low(c, water) and not battery_low(c, smoke)
    _reading(c, "water-101", 1100.0, battery_pct=25.0)  # inside the clear margin: still low
    assert battery_low(c, water)
    _reading(c, "water-101", 1200.0, battery_pct=31.0)
    assert not battery_low(c, water)
    _reading(c, "smoke-101", 1300.0, battery_pct=90.0, battery_low=1.0)  # the device's own flag
    assert battery_low(c, smoke)
