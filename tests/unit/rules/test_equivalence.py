"""The production engine (the compiled kernel) and the scalar oracle emit the same
transitions and keep the same conditions on random streams (hypothesis): out-of-order
and duplicated readings, sweeps, availability, away, maintenance, hush and
acknowledgement all mixed in, with intermittent spells of gas, CO and water."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.rules.engine import RuleEngine
from alerts.rules.params import build_params
from alerts.rules.types import Hazard, Transition
from sensors.batch import ReadingBatch, Row
from sensors.fields import FIELD_INDEX, N_FIELDS
from sensors.fields import DeviceKind as K
from tests.oracle.rules import ReferenceEngine
from topology.rules import RuleOverrides, RuleSet

from .conftest import COMMON, KIND_FIELDS, T0, make_table

DEVICES = [
    (K.GAS, 0, 0, False), (K.CO, 0, 0, False), (K.SMOKE, 0, 0, False), (K.SMOKE, 0, 0, False),
    (K.SMOKE, 1, 0, False), (K.HEAT, 1, 0, False), (K.WATER, 1, 0, False),
    (K.DOOR, 2, 1, True), (K.DOOR, -1, 1, False), (K.GAS, 2, 1, True),
    (K.DOOR, 1, 0, False),  # a household door: no held-open limit, no welfare check
]
# Field values near every threshold, plus impossible ones.
VALUES = {
    "lel_pct": [0, 2, 3, 4, 5, 6, 10, 12, 25, 30, 150],
    "co_ppm": [0, 20, 30, 50, 100, 120, 300, 600, -5],
    "smoke": [0, 1, 2],
    "temp_c": [20, 34, 36, 40, 46, 50, 56, 60, 400],
    "water_leak": [0, 1],
    "open": [0, 1],
    "battery_pct": [1, 5, 15, 20, 25, 31, 90],
    "battery_low": [0, 1],
    "tamper": [0, 1],
    "rssi_dbm": [-70, 5],
}

# Short holds so random streams reach every state within a few steps.
OVERRIDES = RuleOverrides(
    defaults=RuleSet(stuck_s=3000, welfare_warn_s=4000, welfare_crit_s=8000,
                     battery_remind_s=2000, unprotected_s=5000, water_critical_s=300,
                     smoke_hush_s=200, intermittent_s=500),
    kinds={K.CO: RuleSet(co_half_life_min=30)},
    devices={"d7": RuleSet(door_open_max_s=300), "d8": RuleSet(door_open_max_s=300)},
)


@st.composite
def reading(draw):
    dev = draw(st.integers(0, len(DEVICES) - 1))
    kind = DEVICES[dev][0]
    names = [n for n in KIND_FIELDS[kind] if draw(st.integers(0, 4))]
    names += draw(st.lists(st.sampled_from(COMMON), max_size=1))
    fields = {n: float(draw(st.sampled_from(VALUES[n]))) for n in names}
    back = draw(st.sampled_from([0.0, 0.0, 0.0, 1.0, 5.0, 30.0, 400.0]))  # lateness
    seq = draw(st.sampled_from([-1, 1, 2]))
    return dev, back, seq, fields


step = st.one_of(
    st.tuples(st.just("read"), st.lists(reading(), min_size=1, max_size=12)),
    st.tuples(st.just("read"), st.lists(reading(), min_size=1, max_size=12)),
    st.tuples(st.just("sweep"), st.just(None)),
    st.tuples(st.just("avail"), st.tuples(st.integers(0, len(DEVICES) - 1), st.booleans())),
    st.tuples(st.just("away"), st.tuples(st.integers(0, 2), st.booleans())),
    st.tuples(st.just("maint"), st.tuples(st.integers(0, len(DEVICES) - 1), st.booleans())),
    st.tuples(st.just("hush"), st.integers(0, len(DEVICES) - 1)),
    st.tuples(st.just("ack"), st.integers(0, len(DEVICES) - 1)),
)


def key(t: Transition):
    return (t.device_idx, t.hazard.value)


def same(a: list[Transition], b: list[Transition]) -> None:
    def by(trs):
        out: dict = {}
        for t in trs:
            out.setdefault(key(t), []).append(t)
        return out

    ga, gb = by(a), by(b)
    assert ga.keys() == gb.keys(), (a, b)
    for k in ga:
        assert len(ga[k]) == len(gb[k]), (k, ga[k], gb[k])
        for x, y in zip(ga[k], gb[k], strict=True):
            assert (x.severity, x.detail) == (y.severity, y.detail), (k, x, y)
            assert math.isclose(x.ts, y.ts, rel_tol=0, abs_tol=1e-6), (x, y)
            assert (math.isnan(x.value) and math.isnan(y.value)) or math.isclose(
                x.value, y.value, rel_tol=1e-6), (x, y)


def rows_batch(rows, now):
    out = []
    for dev, back, seq, fields in rows:
        values = [math.nan] * N_FIELDS
        for k, v in fields.items():
            values[FIELD_INDEX[k]] = v
        out.append(Row(f"d{dev}", dev, now - back, now, seq, values))
    return ReadingBatch.from_rows(out)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, 7.0, 40.0, 150.0, 700.0, 2500.0]), step),
                min_size=5, max_size=60),
       st.sampled_from([0.0, 3600.0 * 17]))
def test_engine_equals_oracle(steps, start):
    table = make_table(DEVICES, heartbeat_s=300.0)
    params = build_params(table, OVERRIDES)
    eng, ref = RuleEngine(table, params), ReferenceEngine(table, params)
    now = T0 + start
    for dt, (what, arg) in steps:
        now += dt
        if what == "read":
            b = rows_batch(arg, now)
            same(eng.evaluate(b, now), ref.evaluate(b, now))
        elif what == "sweep":
            same(eng.sweep(now), ref.sweep(now))
        elif what == "avail":
            same(eng.availability(arg[0], arg[1], now, now), ref.availability(arg[0], arg[1], now, now))
        elif what == "away":
            same(eng.set_away(arg[0], arg[1], now), ref.set_away(arg[0], arg[1], now))
        elif what == "maint":
            same(eng.set_maintenance(arg[0], arg[1], now), ref.set_maintenance(arg[0], arg[1], now))
        elif what == "hush":
            same(eng.hush(arg, now), ref.hush(arg, now))
        else:
            same(eng.acknowledge(arg, Hazard.WATER_LEAK, now),
                 ref.acknowledge(arg, Hazard.WATER_LEAK, now))
        np.testing.assert_array_equal(eng.st.cond.T, ref.conditions())
    assert eng.late_dropped == ref.late_dropped
    np.testing.assert_array_equal(eng.last_seen, np.array(ref.last_seen))
