"""InfluxReadingStore against a real influxd: round trips, escaping, aggregation, outages."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from sensors.batch import ReadingBatch, Row
from sensors.errors import StoreError
from sensors.fields import FIELD_INDEX, FIELDS, N_FIELDS
from store.influx import InfluxReadingStore
from store.influx_config import InfluxSettings, open_influx_store
from store.protocol import ReadingStore

from .conftest import InfluxServer

pytestmark = pytest.mark.integration

T0 = 1_700_000_000.0
TAGS = {
    "gas-1": {"community": "tiny", "grid": "g1", "building": "b1", "kind": "gas"},
    "smoke-1": {"community": "tiny", "grid": "g1", "building": "b1", "kind": "smoke"},
}
MakeStore = Callable[..., InfluxReadingStore]


def row(device: str, ts: float, seq: int = -1, **values: float) -> Row:
    v = [math.nan] * N_FIELDS
    for name, x in values.items():
        v[FIELD_INDEX[name]] = float(x)
    return Row(device, 0, ts, ts + 0.5, seq, v)


def batch(*rows: Row) -> ReadingBatch:
    return ReadingBatch.from_rows(list(rows))


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[MakeStore]:
    stores: list[InfluxReadingStore] = []

    def make(url: str, database: str, **kw: Any) -> InfluxReadingStore:
        kw.setdefault("series_tags", TAGS)
        kw.setdefault("spool_dir", tmp_path / f"spool{len(stores)}")
        kw.setdefault("flush_interval_s", 0.05)
        kw.setdefault("downsample_interval_s", None)
        kw.setdefault("timeout_s", 5.0)
        store = InfluxReadingStore(url, database, **kw)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def show_tag_values(server: InfluxServer, database: str, key: str) -> set[str]:
    r = httpx.get(
        f"{server.url}/query",
        params={"db": database, "q": f'SHOW TAG VALUES FROM "reading" WITH KEY = "{key}"'},
    )
    series = r.json()["results"][0].get("series", [])
    return {v[1] for s in series for v in s["values"]}


def test_round_trip_is_exact_and_idempotent(influx_server, database, make_store):
    store = make_store(influx_server.url, database)
    assert isinstance(store, ReadingStore)
    b = batch(
        row("gas-1", T0 + 0.123456, 1, lel_pct=2.5, co_ppm=12.25, battery_low=0, tamper=1),
        row("gas-1", T0 + 1, 2, lel_pct=0.30000000000000004, rssi_dbm=-71),
        row("gas-1", T0 + 1, 3, lel_pct=7),  # same event time, another seq: kept apart
        row("smoke-1", T0 + 2, -1, smoke=1, smoke_density_dbm=0.125, temp_c=-3.5),
        row("unknown-dev", T0 + 3, 9, open=0),
    )
    store.write(b)
    store.write(b)  # an MQTT redelivery: stored once
    assert store.count() == 5
    assert store.count("gas-1") == 3
    got = store.history("gas-1", T0, T0 + 10)
    assert [(p.ts, p.seq) for p in got] == [(T0 + 0.123456, 1), (T0 + 1, 2), (T0 + 1, 3)]
    assert got[0].values == {"lel_pct": 2.5, "co_ppm": 12.25, "battery_low": False, "tamper": True}
    assert got[1].values == {"lel_pct": 0.30000000000000004, "rssi_dbm": -71.0}
    smoke = store.history("smoke-1", T0, T0 + 10)
    assert smoke[0].seq is None
    assert smoke[0].values == {"smoke": True, "smoke_density_dbm": 0.125, "temp_c": -3.5}
    assert store.history("gas-1", T0 + 1, T0 + 1.5, limit=1)[0].seq == 2
    assert store.history("gas-1", T0 + 2, T0 + 10) == []
    assert store.count("unknown-dev") == 1
    health = store.health()
    assert health["reachable"] is True
    assert health["spool_records"] == 0
    assert str(health["server_version"]).startswith("1.")


def test_tag_values_with_spaces_commas_equals_and_chinese(influx_server, database, make_store):
    tags = {
        "东区 1号楼, 燃气=A": {
            "community": "幸福 社区",
            "grid": "grid,one",
            "building": "a=b c",
            "kind": "gas",
        },
        "it's-quoted": {"community": 'say "hi"', "grid": "", "building": "x\\y", "kind": "co"},
    }
    store = make_store(influx_server.url, database, series_tags=tags)
    store.write(
        batch(row("东区 1号楼, 燃气=A", T0, 1, lel_pct=1), row("it's-quoted", T0, 2, co_ppm=3))
    )
    assert show_tag_values(influx_server, database, "device") == {
        "东区 1号楼, 燃气=A",
        "it's-quoted",
    }
    assert show_tag_values(influx_server, database, "community") == {"幸福 社区", 'say "hi"'}
    assert show_tag_values(influx_server, database, "grid") == {"grid,one"}  # empty value left out
    assert show_tag_values(influx_server, database, "building") == {"a=b c", "x/y"}
    assert store.history("东区 1号楼, 燃气=A", T0, T0 + 1)[0].values == {"lel_pct": 1.0}
    assert store.count("it's-quoted") == 1


def test_aggregation_windows(influx_server, database, make_store):
    store = make_store(influx_server.url, database)
    rows = [
        row("smoke-1", T0 + i * 10, i, temp_c=20 + i, smoke=1 if i % 4 == 0 else 0)
        for i in range(12)
    ]
    store.write(batch(*rows))
    start = math.floor(T0 / 60) * 60
    got = store.history("smoke-1", start, start + 180, every_s=60)
    # The same windows as a plain reference over the rows.
    expected: dict[float, list[Row]] = {}
    for r in rows:
        expected.setdefault(math.floor(r.ts / 60) * 60, []).append(r)
    assert [p.ts for p in got] == sorted(expected)
    for point in got:
        rs = expected[point.ts]
        assert point.values["temp_c"] == pytest.approx(
            np.mean([r.values[FIELD_INDEX["temp_c"]] for r in rs])
        )
        assert point.values["smoke"] == pytest.approx(
            np.mean([r.values[FIELD_INDEX["smoke"]] for r in rs])
        )
        assert point.seq is None
    assert len(store.history("smoke-1", start, start + 180, every_s=60, limit=1)) == 1


def test_big_batch_in_several_posts(influx_server, database, make_store):
    store = make_store(influx_server.url, database, batch_max_points=1000, max_in_flight=3)
    n = 7_500
    rng = np.random.default_rng(5)
    b = ReadingBatch(
        device_ids=[("gas-1", "smoke-1")[i % 2] for i in range(n)],
        device_idx=np.zeros(n, np.int32),
        ts=T0 + np.arange(n) * 0.01,
        recv_ts=T0 + np.arange(n) * 0.01,
        seq=np.arange(n, dtype=np.int64),
        values=np.where(
            rng.random((n, N_FIELDS)) < 0.5, np.nan, np.round(rng.random((n, N_FIELDS)) * 100, 3)
        ),
    )
    flags = [col for col, f in enumerate(FIELDS) if f.boolean]
    b.values[:, flags] = np.where(np.isnan(b.values[:, flags]), np.nan, b.values[:, flags] > 50)
    store.write(b)
    assert store.count() == n
    got = store.history("gas-1", T0, T0 + n, limit=n)
    assert len(got) == n // 2
    i = 4242
    assert got[i // 2].seq == i
    want = {
        name: bool(x) if FIELDS[col].boolean else x
        for name, col in FIELD_INDEX.items()
        if not math.isnan(x := float(b.values[i, col]))
    }
    assert got[i // 2].values == want


def test_rejected_points_are_counted_not_spooled(influx_server, database, make_store):
    store = make_store(influx_server.url, database)
    store.write(batch(row("gas-1", T0, 1, lel_pct=1)))
    # A string "tamper" in the same shard makes our float one a type conflict: HTTP 400.
    line = f'reading,device=x tamper="s" {int(T0) * 10**9}\n'.encode()
    assert (
        httpx.post(f"{influx_server.url}/write", params={"db": database}, content=line).status_code
        == 204
    )
    store.write(batch(row("gas-1", T0 + 2, 3, co_ppm=3), row("x", T0 + 2, 4, tamper=1)))
    health = store.health()
    assert health["rejected_batches"] == 1
    assert health["spool_records"] == 0
    assert store.count("gas-1") == 2  # the good point of the partial write is kept


def test_outage_mid_stream_loses_nothing(own_influx_server, database, make_store):
    server = own_influx_server
    store = make_store(server.url, database, timeout_s=2.0)
    total = 0

    def send(i: int) -> None:
        nonlocal total
        rows = [
            row(dev, T0 + i + k / 100, i * 100 + k, lel_pct=k % 7, smoke=k % 2)
            for k, dev in enumerate(["gas-1", "smoke-1"] * 25)
        ]
        store.write(batch(*rows))
        total += len(rows)

    for i in range(5):
        send(i)
    server.stop()
    for i in range(5, 15):
        send(i)  # returns: spooled
    health = store.health()
    assert health["reachable"] is False
    assert health["spool_records"] == 10
    assert health["spool_bytes"] > 0
    server.start()
    for i in range(15, 20):
        send(i)  # behind the spool, in order
    assert store.wait_drained(timeout_s=60)
    assert store.count() == total == 1000
    assert store.health()["data_gap"] is False
    assert len(store.history("gas-1", T0, T0 + 100, limit=5000)) == 500


def test_spool_full_refuses_and_reports_a_data_gap(own_influx_server, database, make_store):
    server = own_influx_server
    store = make_store(server.url, database, spool_max_bytes=70_000, timeout_s=2.0)
    server.stop()
    n = 0
    with pytest.raises(StoreError):
        for i in range(10_000):
            store.write(
                batch(
                    *[
                        row("gas-1", T0 + i + k / 1000, i * 1000 + k, lel_pct=i % 97 + k / 1000)
                        for k in range(200)
                    ]
                )
            )
            n += 200
    health = store.health()
    assert health["data_gap"] is True
    assert health["refused_points"] == 200
    server.start()
    assert store.wait_drained(timeout_s=60)
    assert store.count() == n
    store.write(batch(row("gas-1", T0 - 1, 0, lel_pct=1)))
    assert store.health()["data_gap"] is False


def test_spool_survives_a_restart_of_the_service(own_influx_server, database, make_store, tmp_path):
    server = own_influx_server
    server.stop()
    first = make_store(server.url, database, spool_dir=tmp_path / "kept", timeout_s=2.0)
    first.write(batch(row("gas-1", T0, 1, lel_pct=1), row("gas-1", T0 + 1, 2, lel_pct=2)))
    first.close()
    server.start()
    second = make_store(server.url, database, spool_dir=tmp_path / "kept")
    assert second.wait_drained(timeout_s=60)
    assert second.count() == 2


def test_downsampling_and_raw_retention(influx_server, database, make_store):
    h0 = math.floor(T0 / 3600) * 3600
    now = h0 + 3 * 3600
    store = make_store(
        influx_server.url,
        database,
        raw_retention_s=3600,
        clock=lambda: now,
        downsample_lateness_s=60,
    )
    rows = [row("gas-1", h0 + i * 30, i, lel_pct=i % 10, tamper=i % 2) for i in range(240)]  # 2 h
    store.write(batch(*rows))
    assert store.downsample_now(now) == 120 + 2  # 120 minutes, 2 hours
    assert store.health()["downsampled_to_ts"] == now - 60
    # Raw readings past the retention (and rolled up) are deleted; 1.x: by the store.
    assert store.count() == 0
    assert store.health()["retention"] == "store-delete"
    # Aggregated history that old comes from the rollups.
    hourly = store.history("gas-1", h0, h0 + 3 * 3600, every_s=3600)
    assert [p.ts for p in hourly] == [h0, h0 + 3600]
    for point in hourly:
        assert point.values["lel_pct"] == pytest.approx(4.5)  # mean of the minute means
        assert point.values["tamper"] == pytest.approx(0.5)  # share of the hour it was true
    minutes = store.history("gas-1", h0, h0 + 600, every_s=300)
    assert [p.ts for p in minutes] == [h0, h0 + 300]
    assert minutes[0].values["lel_pct"] == pytest.approx(np.mean([i % 10 for i in range(10)]))
    # A later run recomputes only the last open window (an overwrite) and changes nothing.
    assert store.downsample_now(now) <= 1
    assert store.history("gas-1", h0, h0 + 3 * 3600, every_s=3600) == hourly


def test_settings_factory_round_trip(influx_server, database, tmp_path):
    settings = InfluxSettings(url=influx_server.url + "/", database=database, flush_interval_s=0.05)
    store = open_influx_store(settings, series_tags=TAGS, data_dir=tmp_path)
    try:
        store.write(batch(row("gas-1", T0, 1, lel_pct=4)))
        assert store.count() == 1
        assert (tmp_path / "influx-spool").is_dir()
    finally:
        store.close()


def test_reads_before_the_first_write_are_empty_not_errors(own_influx_server, make_store):
    """A service that started a moment ago may not have created its database yet (1.x
    creates it with the first write): its history and counts are empty, not errors."""
    store = make_store(own_influx_server.url, "gw_never_written", create_database=False)
    assert store.count() == 0
    assert store.history("gas-101", 0.0, 2e9) == []
    with pytest.raises(StoreError):
        store.query("SELEKT nonsense")
