"""The compiled hot path (alerts.rules.kernel) leaves exactly the state and emits
exactly the transitions of the vectorised form of the engine, on long random streams
with many devices, repeated devices in a batch, late, duplicated, invalid and
future-dated rows, impossible values and every command mixed in."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alerts.rules.engine import RuleEngine
from alerts.rules.params import build_params
from alerts.rules.types import Hazard, Transition
from sensors.batch import ReadingBatch
from sensors.fields import FIELD_INDEX, N_FIELDS
from sensors.fields import DeviceKind as K
from topology.rules import RuleOverrides, RuleSet

from .conftest import COMMON, KIND_FIELDS, T0, make_table

KINDS = [K.GAS, K.CO, K.SMOKE, K.HEAT, K.WATER, K.DOOR]
N_DEV = 240
# Calm values mostly; values near and over every level, and impossible ones, sometimes.
CALM = {
    "lel_pct": [0.0, 1.0, 2.0], "co_ppm": [0.0], "smoke": [0.0], "temp_c": [22.0, 24.0, 25.5],
    "water_leak": [0.0], "open": [0.0, 1.0], "battery_pct": [60.0, 90.0], "battery_low": [0.0],
    "tamper": [0.0], "rssi_dbm": [-70.0],
}
ROUGH = {
    "lel_pct": [4.0, 6.0, 12.0, 30.0, 150.0], "co_ppm": [20.0, 60.0, 300.0, -5.0],
    "smoke": [1.0, 0.5], "temp_c": [40.0, 56.0, 70.0, 400.0], "water_leak": [1.0, 3.0],
    "open": [0.5], "battery_pct": [5.0, 15.0, 25.0, 31.0, -1.0], "battery_low": [1.0],
    "tamper": [1.0], "rssi_dbm": [5.0],
}
OVERRIDES = RuleOverrides(
    defaults=RuleSet(stuck_s=900, welfare_warn_s=4000, welfare_crit_s=8000,
                     battery_remind_s=2000, unprotected_s=5000, water_critical_s=300,
                     smoke_hush_s=200),
    kinds={K.CO: RuleSet(co_half_life_min=5)},
)


def devices() -> list[tuple[K, int, int, bool]]:
    out = []
    for i in range(N_DEV):
        kind = KINDS[i % len(KINDS)]
        hh = -1 if (kind is K.DOOR and i % 4 == 1) else i // 4  # some unit doors (limited)
        out.append((kind, hh, max(hh, 0) // 6, hh >= 0 and hh % 5 == 0))
    return out


def random_batch(rng: np.random.Generator, now: float, kinds: list[K]) -> ReadingBatch:
    n = int(rng.integers(1, 400))
    pool = rng.integers(0, N_DEV, size=int(rng.integers(5, N_DEV)))  # small pools repeat
    dev = rng.choice(pool, size=n).astype(np.int32)
    ts = now - rng.choice([0.0, 0.0, 0.0, 0.5, 1.0, 5.0, 30.0, 400.0], size=n)
    seq = rng.choice([-1, 1, 2], size=n).astype(np.int64)
    odd = rng.random(n)  # a few rows name no device, carry no time or a time far ahead
    dev[odd < 0.01] = N_DEV + 5
    dev[(odd >= 0.01) & (odd < 0.02)] = -1
    ts[(odd >= 0.02) & (odd < 0.03)] = np.nan
    ts[(odd >= 0.03) & (odd < 0.04)] = now + 1e6
    recv = np.where(odd < 0.035, np.nan, now)  # no receive time either: the row is dropped
    v = np.full((n, N_FIELDS), np.nan)
    rough_share = rng.choice([0.0, 0.02, 0.1, 0.4])
    for r in range(n):
        kind = kinds[dev[r]] if 0 <= dev[r] < N_DEV else K.GAS
        names = [f for f in KIND_FIELDS[kind] if rng.random() < 0.8]
        names += [f for f in COMMON if rng.random() < 0.25]
        for f in names:
            choices = ROUGH[f] if rng.random() < rough_share else CALM[f]
            v[r, FIELD_INDEX[f]] = choices[int(rng.integers(len(choices)))]
    if rng.random() < 0.5:
        v = np.asfortranarray(v)  # the engine takes either layout
    return ReadingBatch([f"d{i}" for i in dev.tolist()], dev, ts, recv, seq, v)


def same(a: list[Transition], b: list[Transition]) -> None:
    def key(t: Transition):
        # a CO alarm's time comes from exp and log, which NumPy and the kernel may round
        # differently in the last bit
        return (t.device_idx, t.hazard.value, t.severity, round(t.ts, 6),
                None if math.isnan(t.value) else t.value, t.detail)

    assert sorted(map(key, a), key=repr) == sorted(map(key, b), key=repr)


def same_state(a: RuleEngine, b: RuleEngine) -> None:
    sa, sb = a.snapshot(), b.snapshot()
    assert sa.keys() == sb.keys()
    for k in sa:
        if k == "co_dose":  # exp: see same()
            np.testing.assert_allclose(sa[k], sb[k], rtol=1e-9, atol=1e-12, err_msg=k)
        else:
            np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


@pytest.mark.parametrize("seed", range(8))
def test_compiled_equals_vectorised(seed: int) -> None:
    rng = np.random.default_rng(seed)
    devs = devices()
    table = make_table(devs, heartbeat_s=300.0)
    params = build_params(table, OVERRIDES)
    kern, vec = RuleEngine(table, params), RuleEngine(table, params)
    vec.compiled = False
    kern._out = np.empty((1, 6))  # the kernel must grow its output buffer
    kinds = [k for k, *_ in devs]
    now = T0 + (3600.0 * 17 if seed % 2 else 0.0)  # the night rule in half the runs
    for _ in range(160):
        now += float(rng.choice([0.0, 1.0, 7.0, 40.0, 150.0, 700.0, 2500.0]))
        what = rng.choice(["read"] * 8 + ["sweep", "avail", "away", "maint", "hush", "ack"])
        if what == "read":
            b = random_batch(rng, now, kinds)
            same(kern.evaluate(b, now), vec.evaluate(b, now))
        elif what == "sweep":
            same(kern.sweep(now), vec.sweep(now))
        elif what == "avail":
            i, on = int(rng.integers(N_DEV)), bool(rng.random() < 0.5)
            same(kern.availability(i, on, now, now), vec.availability(i, on, now, now))
        elif what == "away":
            h, on = int(rng.integers(N_DEV // 4)), bool(rng.random() < 0.5)
            same(kern.set_away(h, on, now), vec.set_away(h, on, now))
        elif what == "maint":
            i, on = int(rng.integers(N_DEV)), bool(rng.random() < 0.3)
            same(kern.set_maintenance(i, on, now), vec.set_maintenance(i, on, now))
        elif what == "hush":
            i = int(rng.integers(N_DEV))
            same(kern.hush(i, now), vec.hush(i, now))
        else:
            i = int(rng.integers(N_DEV))
            same(kern.acknowledge(i, Hazard.WATER_LEAK, now),
                 vec.acknowledge(i, Hazard.WATER_LEAK, now))
        same_state(kern, vec)
    assert kern.late_dropped == vec.late_dropped
    assert len(kern._out) > 1  # it grew
    assert not kern._mark.any()  # scratch left clean


def test_rounds_hold_each_device_once_in_event_time_order() -> None:
    n = 5_000
    devs = devices()
    table = make_table(devs)
    eng = RuleEngine(table, build_params(table))
    rng = np.random.default_rng(n)
    d = rng.integers(0, N_DEV, size=n).astype(np.intp)
    ts = T0 + rng.integers(0, 50, size=n).astype(np.float64)
    seq = rng.integers(0, 3, size=n).astype(np.int64)
    order, bounds = eng._rounds(d, ts, seq)
    assert order is not None and len(bounds) > 2
    kept = len(order)
    # rows with the same (device, ts, seq) as another count once
    assert kept == len({(a, b, c) for a, b, c in zip(d.tolist(), ts.tolist(), seq.tolist(),
                                                         strict=True)})
    assert eng.late_dropped == n - kept
    assert sorted(set(order.tolist())) == sorted(order.tolist())
    last: dict[int, tuple[float, int]] = {}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rnd = order[a:b]
        assert len(set(d[rnd].tolist())) == len(rnd)  # each device once per round
        for r in rnd.tolist():
            key = (float(ts[r]), int(seq[r]))
            assert last.get(int(d[r]), (-np.inf, -1)) < key
            last[int(d[r])] = key


def test_one_compiled_specialisation_whatever_the_input_dtypes() -> None:
    """A new specialisation would be compiled on the service's hot path (tens of
    seconds): one-row batches (both C and F contiguous), C-ordered values, int64 device
    indices and a registry built with other integer widths all reuse the one that
    scripts/setup compiled."""
    from alerts.rules import kernel

    devs = devices()
    table = make_table(devs, heartbeat_s=300.0)
    table.household = table.household.astype(np.int64)  # type: ignore[assignment]
    table.heartbeat_s = table.heartbeat_s.astype(np.int64)  # type: ignore[assignment]
    eng = RuleEngine(table, build_params(table))
    rng = np.random.default_rng(3)
    kinds = [k for k, *_ in devs]
    for now in (T0, T0 + 60.0):
        b = random_batch(rng, now, kinds)
        one = ReadingBatch(b.device_ids[:1], b.device_idx[:1].astype(np.int64), b.ts[:1],
                           b.recv_ts[:1], b.seq[:1], np.ascontiguousarray(b.values[:1]))
        eng.evaluate(one, now)
        eng.evaluate(ReadingBatch(b.device_ids, b.device_idx, b.ts, b.recv_ts, b.seq,
                                  np.ascontiguousarray(b.values)), now + 1.0)
    kernel.warm_up()
    assert len(kernel.apply_batch.signatures) == 1
