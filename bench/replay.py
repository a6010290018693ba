"""Benchmark: the cost of the alarm path's journal and of recovering from it.

    .venv/bin/python -m bench.replay [--readings 1000000] [--batch 5000]

Over the bundled Wuyang site (8,376 devices): readings go through the alarm path
(one SQLite transaction per batch: the rule journal, the rules, the alerts) with
no checkpoint; then the process "crashes" (the writer stops, nothing saved) and a
new alarm path starts on the same directory, restoring the last checkpoint and
replaying every reading since. Reports the rate through the alarm path, the same
batches through the bare rule engine (the cost of the journal and its commit), the
journal's bytes per reading, a checkpoint's duration and the start-up time after
the crash.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from alerts.notify.types import NullNotifier
from alerts.rules.engine import RuleEngine
from alerts.rules.params import params_for_site
from gridwatch.alarm import AlarmPath
from sensors.batch import ReadingBatch
from sensors.fields import FIELD_INDEX, N_FIELDS
from sensors.live import LiveState
from store.db import Database
from store.notify import NotifyStore
from store.state import StateStore
from topology.index import SiteIndex, device_table
from topology.load import SAMPLE_SITE, load_site


def batches(table_len: int, kinds: np.ndarray, n: int, size: int, t0: float) -> list[ReadingBatch]:
    """Calm readings over every device, in event-time order, ``size`` per batch."""
    rng = np.random.default_rng(1)
    out = []
    field = {0: "lel_pct", 1: "co_ppm", 2: "smoke", 3: "temp_c", 4: "water_leak", 5: "open", 6: "rssi_dbm"}
    for start in range(0, n, size):
        m = min(size, n - start)
        idx = rng.integers(0, table_len, m).astype(np.int32)
        ts = t0 + (start + np.arange(m)) * 1e-3
        values = np.full((m, N_FIELDS), np.nan, order="F")
        for k, name in field.items():
            rows = np.flatnonzero(kinds[idx] == k)
            values[rows, FIELD_INDEX[name]] = 0.0 if name not in ("temp_c", "rssi_dbm") else 21.0
        values[:, FIELD_INDEX["battery_pct"]] = 90.0
        out.append(ReadingBatch([""] * m, idx, ts, ts.copy(), np.arange(start, start + m, dtype=np.int64), values))
    return out


def open_path(index: SiteIndex, data: Path) -> tuple[AlarmPath, Database]:
    table = device_table(index)
    db = Database(data / "state.db")
    state = StateStore(db)
    engine = RuleEngine(table, params_for_site(index, table))
    path = AlarmPath(index=index, db=db, state=state, notify_store=NotifyStore(db), engine=engine,
                     live=LiveState(table), notifier=NullNotifier(),
                     clock=time.time)
    return path, db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=5000)
    args = ap.parse_args()
    index = SiteIndex(load_site(SAMPLE_SITE))
    table = device_table(index)
    t0 = time.time() - 3600
    work = batches(len(table), table.kind, args.readings, args.batch, t0)
    for b in work:
        b.device_ids = [table.ids[i] for i in b.device_idx.tolist()]
    bare = RuleEngine(table, params_for_site(index, table))
    bare.evaluate(work[0], t0)
    start = time.perf_counter()
    for b in work[1:]:
        bare.evaluate(b, float(b.ts[-1]) + 1)
    bare_rate = sum(len(b) for b in work[1:]) / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        path, db = open_path(index, data)
        path.start()
        start = time.perf_counter()
        for b in work:
            path.readings(b, [], [], {}, float(b.ts[-1]) + 1)
        dt = time.perf_counter() - start
        with db.read() as c:
            journal_bytes = c.execute("SELECT SUM(length(body)) FROM journal").fetchone()[0]
        path.writer.stop()  # killed: no checkpoint since the start
        db.close()
        t = time.perf_counter()
        path2, db2 = open_path(index, data)
        path2.start()
        restart_s = time.perf_counter() - t
        parts: list[float] = []
        prune = path2.journal.prune

        def timed_prune(limit: int) -> int:
            t0 = time.perf_counter()
            n_pruned = prune(limit)
            parts.append(time.perf_counter() - t0)
            return n_pruned

        path2.journal.prune = timed_prune  # type: ignore[method-assign]
        t = time.perf_counter()
        path2.checkpoint()
        checkpoint_s = time.perf_counter() - t
        while True:  # each part queues the next behind whatever came in meanwhile
            path2.writer.call("wait", lambda: None)
            with db2.read() as c:
                if not c.execute("SELECT COUNT(*) FROM journal").fetchone()[0]:
                    break
        path2.writer.stop()
        db2.close()
    n = args.readings
    print(f"{n:,} readings in batches of {args.batch:,} over {len(table):,} devices")
    print(f"bare rule engine (evaluate only):           {bare_rate:12,.0f} readings/s")
    print(f"alarm path (journal + rules + commit):      {n / dt:12,.0f} readings/s "
          f"({dt / len(work) * 1000:.2f} ms a batch)")
    print(f"journal: {journal_bytes / n:.0f} bytes a reading")
    print(f"start-up after a crash, {path2.replayed} journal entries ({n:,} readings) replayed: {restart_s:.2f} s")
    print(f"one checkpoint (rule state + live states of {len(table):,} devices): {checkpoint_s * 1000:.0f} ms")
    print(f"then the journal it covers dropped in {len(parts)} transactions: {sum(parts) * 1000:.0f} ms "
          f"in all, the longest {max(parts, default=0.0) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
