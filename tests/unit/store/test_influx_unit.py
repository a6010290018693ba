"""InfluxReadingStore without a server: spooling, replay order and errors via httpx.MockTransport."""

from __future__ import annotations

import gzip
import math
import threading
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from sensors.batch import ReadingBatch, Row
from sensors.errors import StoreError, StoreUnavailable
from sensors.fields import N_FIELDS
from store.influx import InfluxReadingStore, quote_literal, time_bound_ns
from store.influx_config import InfluxSettings


class FakeInflux:
    """A /write + /ping endpoint that can be switched down, and records what it took."""

    def __init__(self) -> None:
        self.up = True
        self.status = 204
        self.bodies: list[bytes] = []
        self.headers: list[httpx.Headers] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/ping":
            return httpx.Response(204, headers={"X-Influxdb-Version": "v2.7.1"})
        if request.url.path == "/query":
            return httpx.Response(200, json={"results": [{"statement_id": 0}]})
        with self.lock:
            if self.status == 204:
                self.bodies.append(gzip.decompress(request.content))
                self.headers.append(request.headers)
            return httpx.Response(
                self.status, json={"error": "nope"} if self.status != 204 else None
            )

    def lines(self) -> list[str]:
        return [line for body in self.bodies for line in body.decode().splitlines()]


def batch(first_seq: int, n: int = 3) -> ReadingBatch:
    rows = []
    for k in range(n):
        v = [math.nan] * N_FIELDS
        v[0] = float(k)
        rows.append(Row("dev", 0, 1000.0 + first_seq + k, 1000.0, first_seq + k, v))
    return ReadingBatch.from_rows(rows)


@pytest.fixture
def fake() -> FakeInflux:
    return FakeInflux()


@pytest.fixture
def store(fake: FakeInflux, tmp_path: Path):
    s = InfluxReadingStore(
        "http://influx.test:8086",
        "gw",
        token="s3cret",
        series_tags={"dev": {"community": "c", "kind": "gas"}},
        spool_dir=tmp_path / "spool",
        spool_max_bytes=1 << 16,
        batch_max_points=2,
        flush_interval_s=0.01,
        downsample_interval_s=None,
        transport=httpx.MockTransport(fake),
    )
    yield s
    s.close()


def seqs(lines: list[str]) -> list[int]:
    return [int(line.split("seq=")[1].split("i")[0]) for line in lines]


def test_write_posts_gzip_with_token(store: InfluxReadingStore, fake: FakeInflux) -> None:
    store.write(batch(0, 5))
    # posted up to max_in_flight at once: every point, in whichever order the posts land
    assert sorted(seqs(fake.lines())) == [0, 1, 2, 3, 4]
    assert len(fake.bodies) == 3  # batch_max_points=2
    assert fake.headers[0]["authorization"] == "Token s3cret"
    assert fake.headers[0]["content-encoding"] == "gzip"
    assert store.health()["written_points"] == 5


def test_outage_spools_then_replays_in_order(store: InfluxReadingStore, fake: FakeInflux) -> None:
    store.write(batch(0))
    fake.up = False
    store.write(batch(10))
    store.write(batch(20))
    health = store.health()
    assert health["reachable"] is False
    assert health["spool_records"] == 4
    assert "ConnectError" in str(health["last_error"])
    fake.up = True
    store.write(batch(30))  # queued behind the spool, not posted first
    assert store.wait_drained(30)
    got = seqs(fake.lines())
    # the spool replays in order, before what came after; the chunks of one live write
    # are posted concurrently
    assert sorted(got[:3]) == [0, 1, 2] and got[3:9] == [10, 11, 12, 20, 21, 22]
    assert sorted(got[9:]) == [30, 31, 32]
    assert store.health()["spool_records"] == 0


def test_server_errors_spool_and_bad_points_do_not(
    store: InfluxReadingStore, fake: FakeInflux
) -> None:
    fake.status = 503
    store.write(batch(0))
    assert store.health()["spool_records"] == 2
    fake.status = 400
    assert store.wait_drained(30)  # replay drops what the server refuses as bad
    assert store.health()["rejected_batches"] == 2
    store.write(batch(5))
    assert store.health()["spool_records"] == 0
    assert store.health()["rejected_batches"] == 4


def test_full_spool_raises_and_reports_a_gap(fake: FakeInflux, tmp_path: Path) -> None:
    fake.up = False
    s = InfluxReadingStore(
        "http://influx.test",
        "gw",
        series_tags={},
        spool_dir=tmp_path,
        spool_max_bytes=1 << 16,
        flush_interval_s=0.01,
        downsample_interval_s=None,
        transport=httpx.MockTransport(fake),
    )
    try:
        with pytest.raises(StoreError):
            for i in range(10_000):
                s.write(batch(i * 10, 50))
        assert s.health()["data_gap"] is True
        assert s.health()["refused_points"] == 50
        fake.up = True
        assert s.wait_drained(30)
        s.write(batch(0))
        assert s.health()["data_gap"] is False
    finally:
        s.close()


def test_query_errors_are_translated(fake: FakeInflux, store: InfluxReadingStore) -> None:
    fake.up = False
    with pytest.raises(StoreUnavailable):
        store.count()


def test_influxql_quoting() -> None:
    assert quote_literal("it's \\ ok") == "'it\\'s \\\\ ok'"
    assert time_bound_ns(1.5) == 1_500_000_000


def test_settings_validate_without_network() -> None:
    s = InfluxSettings(url="http://db:8086/", token="tok-3f9a")
    assert s.url == "http://db:8086"
    assert "tok-3f9a" not in repr(s)
    with pytest.raises(ValidationError):
        InfluxSettings(url="db:8086")
    with pytest.raises(ValidationError):
        InfluxSettings(token="t", username="u")
    with pytest.raises(ValidationError):
        InfluxSettings(password="p")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_INFLUX_URL", "https://influx.example")
    monkeypatch.setenv("GRIDWATCH_INFLUX_DATABASE", "district")
    monkeypatch.setenv("GRIDWATCH_INFLUX_TOKEN", "abc")
    s = InfluxSettings()
    assert (s.url, s.database) == ("https://influx.example", "district")
    assert s.token is not None and s.token.get_secret_value() == "abc"
