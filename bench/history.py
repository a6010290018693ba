"""Benchmark: a device's history from SQLite with and without the (device, time) index,
and what the index costs the writer.

    .venv/bin/python -m bench.history [--rows 2000000] [--devices 8376] [--batch 1000]

Writes the same stream (every device reporting in turn, time moving forward, batches
as the ingest commits them) into two fresh databases, one keyed by time only (the
layout before issue 14) and one with the ``readings_by_device`` index, and reports
the write rate of each over the last quarter of the rows (when the table is big),
then the median time to read one device's last day, raw and in 60 s windows.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from sensors.batch import ReadingBatch
from sensors.fields import FIELD_INDEX, N_FIELDS
from store.sqlite import SQLiteReadingStore


def batches(rows: int, devices: int, batch: int, t0: float) -> list[ReadingBatch]:
    """The stream: device i reports every ``devices`` rows, one row a second overall."""
    out = []
    ids = [f"dev-{i:05d}" for i in range(devices)]
    lel = FIELD_INDEX["lel_pct"]
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        k = np.arange(start, start + n)
        values = np.full((n, N_FIELDS), math.nan)
        values[:, lel] = (k % 7) * 0.1
        ts = t0 + k.astype(np.float64)
        out.append(ReadingBatch([ids[i % devices] for i in k], (k % devices).astype(np.int32), ts, ts + 0.1,
                                (k // devices).astype(np.int64), np.asfortranarray(values)))
    return out


def write_rate(store: SQLiteReadingStore, stream: list[ReadingBatch]) -> float:
    """Rows per second over the last quarter of the stream."""
    tail = len(stream) - len(stream) // 4
    for b in stream[:tail]:
        store.write(b)
    t = time.perf_counter()
    n = 0
    for b in stream[tail:]:
        store.write(b)
        n += len(b)
    return n / (time.perf_counter() - t)


def read_ms(store: SQLiteReadingStore, device: str, start: float, end: float, every_s: float | None) -> float:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        store.history(device, start, end, every_s=every_s)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    """Run it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--devices", type=int, default=8376)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    t0 = 1.7e9
    stream = batches(args.rows, args.devices, args.batch, t0)
    end = t0 + args.rows
    with tempfile.TemporaryDirectory(prefix="gw-bench-history-") as tmp:
        for label, indexed in (("time key only", False), ("with (device, time) index", True)):
            store = SQLiteReadingStore(Path(tmp) / f"{indexed}.db", device_index=indexed)
            rate = write_rate(store, stream)
            raw = read_ms(store, "dev-00042", end - 86400, end, None)
            agg = read_ms(store, "dev-00042", end - 86400, end, 60.0)
            print(f"{label:28s} write {rate / 1000:6.1f}k rows/s (last quarter of {args.rows:,} rows); "
                  f"one device's last day: raw {raw:7.2f} ms, 60 s windows {agg:7.2f} ms")
            store.close()


if __name__ == "__main__":
    main()
