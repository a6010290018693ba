"""Benchmark: the rule core's readings/s, state bytes per device and sweep time, beside
the scalar reference on the same data in the same run.

    .venv/bin/python -m bench.rules [--quick]

Readings are a mix of every kind (gas with CO, CO, smoke with temperature, heat,
water, doors of elderly-alone households, battery, tamper, signal), quiet mostly,
with a share near or over every threshold and 1 % late or duplicated rows. Each
configuration runs three times over the same batches (about a second of engine time
each, a fresh engine each time; the median is reported); the reference processes
fewer readings of the same batches (it is slow) and its rate is per reading. The
reference is the test oracle, ``tests/oracle/rules.py``. Without ``--quick`` it also
times a cold start-up: a fresh process compiling the kernel into an empty
``NUMBA_CACHE_DIR``, then a second one loading it from there.
Targets (issues 3 and 15): >= 5M readings/s at batch 10k over 100k devices, >= 5x the
reference, a 1M-device sweep under 10 ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from alerts.rules.engine import RuleEngine
from alerts.rules.kernel import warm_up
from alerts.rules.params import build_params
from sensors.batch import ReadingBatch
from sensors.fields import (
    BATTERY_LOW,
    BATTERY_PCT,
    CO_PPM,
    LEL_PCT,
    N_FIELDS,
    OPEN,
    RSSI_DBM,
    SMOKE,
    TAMPER,
    TEMP_C,
    WATER_LEAK,
    DeviceKind,
)
from sensors.registry import KIND_CODE, DeviceTable
from tests.oracle.rules import ReferenceEngine

T0 = 1_767_225_600.0
SPIKE = 0.003  # share of readings near or over a hazard level
MIX = {DeviceKind.GAS: 0.2, DeviceKind.CO: 0.1, DeviceKind.SMOKE: 0.25, DeviceKind.HEAT: 0.05,
       DeviceKind.WATER: 0.15, DeviceKind.DOOR: 0.25}


def make_table(n: int, rng: np.random.Generator) -> DeviceTable:
    """``n`` devices in households of three, twelve households to a unit."""
    kinds = rng.choice([KIND_CODE[k] for k in MIX], size=n, p=list(MIX.values())).astype(np.int8)
    household = (np.arange(n) // 3).astype(np.int32)
    ids = [f"d{i}" for i in range(n)]
    return DeviceTable(
        community="bench", ids=ids, index={d: i for i, d in enumerate(ids)}, kind=kinds,
        heartbeat_s=np.full(n, 600.0), household=household, unit=household // 12,
        elderly_alone=(household % 10) == 0,
    )


def make_batch(table: DeviceTable, size: int, t: float, span_s: float,
               rng: np.random.Generator) -> ReadingBatch:
    """``size`` mixed readings with event times in ``[t - span_s, t]``."""
    dev = rng.integers(0, len(table), size=size).astype(np.int32)
    ts = t - rng.uniform(0, span_s, size=size)
    late = rng.random(size) < 0.01
    ts[late] -= 60.0  # late rows (and, by chance, duplicates)
    kind = table.kind[dev]
    v = np.full((size, N_FIELDS), np.nan, order="F")  # column-major, as ingest builds it
    u = rng.random(size)

    def put(code: DeviceKind, col: int, values: np.ndarray) -> None:
        m = kind == KIND_CODE[code]
        v[m, col] = values[m]

    spike = u < SPIKE
    put(DeviceKind.GAS, LEL_PCT, np.where(spike, rng.choice([4.0, 6.0, 12.0, 30.0], size), 0.0))
    put(DeviceKind.GAS, CO_PPM, np.where(u > 1 - SPIKE, 60.0, 0.0))
    put(DeviceKind.CO, CO_PPM, np.where(spike, rng.choice([40.0, 120.0, 350.0], size), 0.0))
    put(DeviceKind.SMOKE, SMOKE, (u < 0.005).astype(float))
    put(DeviceKind.SMOKE, TEMP_C, rng.normal(24, 1, size).round(1))
    put(DeviceKind.HEAT, TEMP_C, np.where(spike, rng.uniform(35, 65, size), 24.0).round(1))
    put(DeviceKind.WATER, WATER_LEAK, (u < 0.01).astype(float))
    put(DeviceKind.DOOR, OPEN, (u < 0.3).astype(float))
    battery = rng.random(size) < 0.3
    # a device's battery drains slowly: its level is a property of the device
    level = np.where(dev % 50 == 0, 12.0, 60.0 + dev % 40)
    v[battery, BATTERY_PCT] = level[battery]
    v[battery, BATTERY_LOW] = (v[battery, BATTERY_PCT] < 15).astype(float)
    v[:, TAMPER] = np.where(rng.random(size) < 0.001, 1.0, np.nan)
    v[:, RSSI_DBM] = np.where(rng.random(size) < 0.2, -70.0, np.nan)
    return ReadingBatch(device_ids=[table.ids[i] for i in dev.tolist()], device_idx=dev, ts=ts, recv_ts=ts.copy(),
                        seq=np.full(size, -1, dtype=np.int64), values=v)


def batches(table: DeviceTable, size: int, count: int, seed: int) -> list[tuple[float, ReadingBatch]]:
    """``count`` batches, one every ``size / 5M`` s of event time (a 5M/s stream)."""
    rng = np.random.default_rng(seed)
    span = max(size / 5e6, 0.5)
    out = []
    t = T0 + 10.0
    for _ in range(count):
        t += span
        out.append((t, make_batch(table, size, t, span, rng)))
    return out


def engine_rate(table: DeviceTable, data: list[tuple[float, ReadingBatch]]) -> tuple[float, int]:
    """Readings/s of RuleEngine.evaluate over ``data`` (after a warm-up sweep)."""
    eng = RuleEngine(table, build_params(table))
    eng.sweep(T0)
    n_tr = 0
    gc.collect()
    start = time.perf_counter()
    for now, b in data:
        n_tr += len(eng.evaluate(b, now))
    took = time.perf_counter() - start
    return sum(len(b) for _, b in data) / took, n_tr


def reference_rate(table: DeviceTable, data: list[tuple[float, ReadingBatch]],
                   max_rows: int) -> tuple[float, int]:
    """Readings/s of the scalar reference over the first batches of ``data``."""
    ref = ReferenceEngine(table, build_params(table))
    ref.sweep(T0)
    rows = n_tr = 0
    start = time.perf_counter()
    for now, b in data:
        n_tr += len(ref.evaluate(b, now))
        rows += len(b)
        if rows >= max_rows:
            break
    return rows / (time.perf_counter() - start), n_tr


def sweep_times(table: DeviceTable, rounds: int) -> tuple[float, float, float]:
    """(first full sweep ms, median steady sweep ms, max steady sweep ms) over the table,
    with readings flowing between sweeps as a live system would have them."""
    eng = RuleEngine(table, build_params(table))
    t = T0
    start = time.perf_counter()
    eng.sweep(t)
    first = (time.perf_counter() - start) * 1e3
    rng = np.random.default_rng(7)
    times = []
    for _ in range(rounds):
        t += 5.0
        eng.evaluate(make_batch(table, 20_000, t, 5.0, rng), t)
        start = time.perf_counter()
        eng.sweep(t)
        times.append((time.perf_counter() - start) * 1e3)
    return first, statistics.median(times), max(times)


def start_up_times() -> tuple[float, float]:
    """(seconds a fresh process takes to import the engine and compile the kernel into
    an empty cache directory, seconds a second one takes to load it from there)."""
    code = ("import time; t = time.perf_counter(); from alerts.rules.kernel import warm_up; "
            "warm_up(); print(time.perf_counter() - t)")
    root = Path(__file__).resolve().parents[1]
    out = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True,
                                  capture_output=True, text=True)
            out.append(float(done.stdout.split()[-1]))
    return out[0], out[1]


def main() -> None:
    """Run every configuration and print a table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer batches (a smoke run)")
    args = ap.parse_args()
    warm_up()  # compile now (or load Numba's cache), not inside the first timing
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores at the start (others' work "
          "on a shared machine slows every figure)")
    rng = np.random.default_rng(1)
    target_rows = 400_000 if args.quick else 3_000_000
    print(f"{'devices':>9} {'batch':>7} {'engine r/s':>12} {'reference r/s':>14} {'ratio':>7}")
    for n_dev in (100_000, 1_000_000):
        table = make_table(n_dev, rng)
        for size in (1_000, 10_000, 100_000):
            data = batches(table, size, max(3, target_rows // size), seed=size)
            rate = statistics.median(engine_rate(table, data)[0] for _ in range(3))
            if n_dev == 100_000:
                ref, _ = reference_rate(table, data, 20_000 if args.quick else 60_000)
                print(f"{n_dev:>9} {size:>7} {rate:>12,.0f} {ref:>14,.0f} {rate / ref:>6.1f}x")
            else:
                print(f"{n_dev:>9} {size:>7} {rate:>12,.0f} {'-':>14} {'-':>7}")
        eng = RuleEngine(table, build_params(table))
        state, total = eng.nbytes_per_device()
        print(f"bytes per device over {n_dev:,} devices: rule state {state:.1f}, "
              f"with the engine's indexes and scratch {total:.1f}")
    first, median, worst = sweep_times(table, 20 if args.quick else 100)
    print(f"sweep over 1,000,000 devices: first (every device due) {first:.1f} ms, "
          f"steady median {median:.2f} ms, max {worst:.2f} ms")
    if not args.quick:
        cold, cached = start_up_times()
        print(f"start-up in a fresh process: cold compile {cold:.1f} s, from the cache "
              f"{cached:.1f} s")


if __name__ == "__main__":
    main()
