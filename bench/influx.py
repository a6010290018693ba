"""Benchmark: readings written to a local InfluxDB through InfluxReadingStore, beside a
bare writer posting pre-built batches, and the line-protocol encoding rate alone.

    .venv/bin/python -m bench.influx [--points 200000] [--devices 1000] [--rounds 3]

Starts its own ``influxd`` (Debian ``influxdb``) on free loopback ports. The data
is a mixed community: devices of every kind, each row carrying the fields its
kind sends (5-7 per point), tags community/grid/building/device/kind with
Chinese names. Both writers use the same chunk size, gzip level and number of
concurrent POSTs; the bare writer's bodies are encoded and gzipped before its
clock starts, so the ratio is what GridWatch's encoding, compression and
bookkeeping cost on top of what the server can take. Rounds alternate between
the two writers, each into a fresh database; medians are reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from sensors.batch import ReadingBatch
from sensors.fields import FIELD_INDEX, FIELDS, KIND_FIELDS, N_FIELDS, DeviceKind
from store.influx import InfluxReadingStore
from store.lineprotocol import LineEncoder
from tests.integration.influx.conftest import InfluxServer

KINDS = [DeviceKind.GAS, DeviceKind.CO, DeviceKind.SMOKE, DeviceKind.WATER, DeviceKind.DOOR]


def community(n_devices: int) -> tuple[list[str], list[DeviceKind], dict[str, dict[str, str]]]:
    """Device ids, kinds and series tags of a synthetic community."""
    ids, kinds, tags = [], [], {}
    for i in range(n_devices):
        kind = KINDS[i % len(KINDS)]
        device = f"{kind.value}-{i:06d}"
        ids.append(device)
        kinds.append(kind)
        tags[device] = {
            "community": "五羊 社区",
            "grid": f"第{i % 12 + 1}网格",
            "building": f"{i // 40 + 1}号楼",
            "kind": kind.value,
        }
    return ids, kinds, tags


def readings(ids: list[str], kinds: list[DeviceKind], n: int, seed: int = 1) -> ReadingBatch:
    """n rows, round-robin over the devices, one second apart per device."""
    rng = np.random.default_rng(seed)
    dev = np.arange(n) % len(ids)
    values = np.full((n, N_FIELDS), np.nan)
    for k, kind in enumerate(KINDS):
        rows = np.flatnonzero(dev % len(KINDS) == k)
        for name in KIND_FIELDS[kind]:
            col = FIELD_INDEX[name]
            if FIELDS[col].boolean:
                values[rows, col] = (rng.random(len(rows)) < 0.02).astype(float)
            elif name == "rssi_dbm":
                values[rows, col] = -rng.integers(40, 95, len(rows)).astype(float)
            elif name == "battery_pct":
                values[rows, col] = rng.integers(5, 101, len(rows)).astype(float)
            else:
                values[rows, col] = np.round(rng.random(len(rows)) * 40, 1)
    ts = 1_700_000_000.0 + (np.arange(n) // len(ids)) + rng.random(n) * 0.5
    return ReadingBatch(
        device_ids=[ids[i] for i in dev.tolist()],
        device_idx=dev.astype(np.int32),
        ts=ts,
        recv_ts=ts + 0.05,
        seq=(np.arange(n) // len(ids)).astype(np.int64),
        values=values,
    )


def median_rate(n: int, runs: list[float]) -> float:
    return n / statistics.median(runs)


def bench_encoding(
    batch: ReadingBatch, tags: dict[str, dict[str, str]], chunk: int, rounds: int
) -> float:
    enc = LineEncoder(tags)
    enc.encode(batch, 0, chunk)  # warm the prefix cache, like a running service
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for start in range(0, len(batch), chunk):
            enc.encode(batch, start, start + chunk)
        runs.append(time.perf_counter() - t0)
    return median_rate(len(batch), runs)


def bench_fstring(batch: ReadingBatch, tags: dict[str, dict[str, str]], rounds: int) -> float:
    """The obvious encoder for comparison: cached prefix, one f-string per field."""
    enc = LineEncoder(tags)
    prefixes = {d: enc.prefix(d) for d in set(batch.device_ids)}
    names = [f.name for f in FIELDS]
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = []
        for d, ts, seq, vals in zip(
            batch.device_ids,
            batch.ts.tolist(),
            batch.seq.tolist(),
            batch.values.tolist(),
            strict=True,
        ):
            fields = ",".join(f"{names[c]}={v!r}" for c, v in enumerate(vals) if v == v)
            out.append(f"{prefixes[d]}seq={seq}i,{fields} {round(ts * 1e6) * 1000}\n")
        "".join(out).encode()
        runs.append(time.perf_counter() - t0)
    return median_rate(len(batch), runs)


def bare_writer(url: str, bodies: list[bytes], in_flight: int) -> Callable[[str], float]:
    """Posts pre-built gzipped bodies with ``in_flight`` concurrent requests."""

    def run(database: str) -> float:
        with (
            httpx.Client(base_url=url, timeout=60) as client,
            ThreadPoolExecutor(in_flight) as pool,
        ):
            client.post("/query", params={"q": f'CREATE DATABASE "{database}"'})
            params = {"db": database, "precision": "ns"}
            headers = {"Content-Encoding": "gzip"}

            def post(body: bytes) -> None:
                r = client.post("/write", params=params, content=body, headers=headers)
                r.raise_for_status()

            t0 = time.perf_counter()
            list(pool.map(post, bodies))
            return time.perf_counter() - t0

    return run


def store_writer(
    url: str,
    batch: ReadingBatch,
    tags: dict[str, dict[str, str]],
    chunk: int,
    in_flight: int,
    call_rows: int,
    spool_root: Path,
) -> Callable[[str], float]:
    """Writes the batch through InfluxReadingStore, ``call_rows`` rows per write() call."""
    calls = [
        batch.take(np.arange(s, min(s + call_rows, len(batch))))
        for s in range(0, len(batch), call_rows)
    ]

    def run(database: str) -> float:
        store = InfluxReadingStore(
            url,
            database,
            series_tags=tags,
            spool_dir=spool_root / database,
            batch_max_points=chunk,
            max_in_flight=in_flight,
            downsample_interval_s=None,
            timeout_s=60,
        )
        try:
            store.query(f'CREATE DATABASE "{database}"', method="POST")
            t0 = time.perf_counter()
            for b in calls:
                store.write(b)
            elapsed = time.perf_counter() - t0
            health = store.health()
            assert health["spool_records"] == 0 and health["written_points"] == len(batch), health
            return elapsed
        finally:
            store.close()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=5000, help="points per POST")
    ap.add_argument("--call-rows", type=int, default=20_000, help="rows per write() call")
    ap.add_argument("--in-flight", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    ids, kinds, tags = community(args.devices)
    batch = readings(ids, kinds, args.points)
    enc = LineEncoder(tags)
    lines = [enc.encode(batch, s, s + args.chunk) for s in range(0, len(batch), args.chunk)]
    bodies = [zlib.compress(b, 1, wbits=31) for b in lines]
    n_fields = np.isfinite(batch.values).sum() / len(batch) + 1
    print(
        f"{args.points} points, {args.devices} devices, {n_fields:.1f} fields/point, "
        f"{sum(map(len, lines)) / len(batch):.0f} bytes/line, {args.chunk} points/POST, "
        f"{args.in_flight} in flight, gzip level 1"
    )

    enc_rate = bench_encoding(batch, tags, args.chunk, args.rounds)
    fstring_rate = bench_fstring(batch, tags, 1)
    print(f"encoding (LineEncoder):        {enc_rate / 1e6:6.2f} M points/s")
    print(f"encoding (f-string per point): {fstring_rate / 1e6:6.2f} M points/s (reference)")

    server = InfluxServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="gw-bench-spool-") as spool:
            bare = bare_writer(server.url, bodies, args.in_flight)
            ours = store_writer(
                server.url, batch, tags, args.chunk, args.in_flight, args.call_rows, Path(spool)
            )
            bare_runs, our_runs = [], []
            for r in range(args.rounds):
                bare_runs.append(bare(f"bench_bare_{r}"))
                our_runs.append(ours(f"bench_store_{r}"))
                print(
                    f"  round {r + 1}: bare {args.points / bare_runs[-1]:9.0f}/s, "
                    f"InfluxReadingStore {args.points / our_runs[-1]:9.0f}/s"
                )
    finally:
        server.cleanup()
    bare_rate = median_rate(args.points, bare_runs)
    our_rate = median_rate(args.points, our_runs)
    print(f"bare writer (pre-built bodies): {bare_rate:9.0f} points/s (median)")
    print(f"InfluxReadingStore.write:       {our_rate:9.0f} points/s (median)")
    print(
        f"ratio: {our_rate / bare_rate:.0%} of bare (target >= 80%); "
        f"encoding target >= 1M points/s: {'met' if enc_rate >= 1e6 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
