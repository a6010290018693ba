"""How the rule kernel is built: one compiled specialisation per entry point whatever
the input dtypes, the row loop without reference counting (``_nrt=False``, an option
Numba does not document: this fails loudly when a Numba release stops honouring it),
Numba's cache directory taken from ``NUMBA_CACHE_DIR``, and a start-up that says when
it compiles."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from alerts.rules import kernel
from alerts.rules.engine import RuleEngine
from alerts.rules.params import build_params
from alerts.rules.types import Hazard
from sensors.batch import ReadingBatch
from sensors.fields import N_FIELDS

from .conftest import T0, make_table
from .test_streams import devices, random_batch

ROOT = Path(__file__).resolve().parents[3]


def test_one_compiled_specialisation_whatever_the_input_dtypes() -> None:
    """A new specialisation would be compiled on the service's hot path (tens of
    seconds): one-row batches (both C and F contiguous), C-ordered values, int64 device
    indices, read-only and strided arrays and a registry built with other integer widths
    all reuse the one that scripts/setup compiled; so do the sweep and every command."""
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
        # read-only views of a buffer, as the alarm journal's replay decodes them
        frozen = [np.frombuffer(a.tobytes(), a.dtype) for a in (b.device_idx, b.ts, b.seq)]
        vals = np.frombuffer(np.asfortranarray(b.values).T.tobytes(), np.float64)
        eng.evaluate(ReadingBatch(b.device_ids, frozen[0], frozen[1], frozen[1], frozen[2],
                                  vals.reshape(N_FIELDS, len(b)).T), now + 1.5)
        # strided: every other row of a larger array
        wide = np.repeat(b.device_idx, 2)[::2]
        eng.evaluate(ReadingBatch(b.device_ids, wide, b.ts, b.recv_ts, b.seq, b.values),
                     now + 1.6)
        eng.sweep(now + 2.0)
    eng.availability(np.int64(4), True, T0, T0)  # type: ignore[arg-type]
    eng.availability(5, False, T0, T0)
    eng.set_away(0, True, T0)
    eng.set_maintenance(3, True, T0)
    eng.hush(2, T0)
    eng.acknowledge(4, Hazard.WATER_LEAK, T0)
    kernel.warm_up()
    for entry in (kernel.apply_batch, kernel.sweep, kernel.command):
        assert len(entry.signatures) == 1, entry


def _counts_references(nrt: bool) -> int:
    """NRT_incref / NRT_decref calls in a freshly compiled loop that passes an array to
    another compiled function, as the row loop does, with the kernel's options."""
    opts = {"_nrt": nrt}

    @njit(**opts)
    def callee(a, i):  # pragma: no cover - compiled
        a[i] += 1.0
        return a[i]

    @njit(**opts)
    def caller(a, n):  # pragma: no cover - compiled
        s = 0.0
        for i in range(n):
            s += callee(a, i)
        return s

    caller(np.zeros(4), 4)
    return sum(ir.count("NRT_incref") + ir.count("NRT_decref")
               for ir in caller.inspect_llvm().values())


def test_row_loop_runs_without_reference_counting() -> None:
    """The kernel's speed rests on ``_nrt=False`` (see kernel.py). If a Numba release
    ignores it, reference counting comes back and this fails; if it rejects it, the
    kernel no longer compiles and every rule test fails."""
    assert kernel._apply_rows.targetoptions.get("_nrt") is False
    assert kernel._sweep_from.targetoptions.get("_nrt") is False
    assert _counts_references(nrt=True) > 0  # the check can see reference counting
    assert _counts_references(nrt=False) == 0


def test_numba_cache_dir_is_honoured(tmp_path: Path) -> None:
    """A read-only install points NUMBA_CACHE_DIR at a writable (or prebuilt) directory."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", "from alerts.rules import kernel; print(kernel.cache_dir())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert Path(out.stdout.strip()).is_relative_to(tmp_path), out.stdout


def test_start_up_says_when_it_compiles(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    kernel.warm_up()
    assert kernel._cached()  # compiled once: Numba's cache holds every entry point
    caplog.set_level(logging.INFO, logger="alerts.rules.kernel")
    kernel.warm_up()
    assert caplog.messages == []  # a cached start says nothing
    monkeypatch.setattr(kernel, "_cached", lambda: False)
    took = kernel.warm_up()
    first, done = caplog.messages
    assert first.startswith("compiling the rule kernel (first start, about a minute; kept in ")
    assert kernel.cache_dir() in first
    assert done == f"... rule kernel compiled in {took:.1f} s"
