"""The downsampler's catch-up stops when the store closes, and goes on from there."""

from __future__ import annotations

from typing import Any

from store.influx_downsample import Downsampler


class FakeStore:
    """Answers every rollup query with nothing; counts them."""

    raw_retention_s = None
    rollup_database = "db"
    rollup_retention_policy = None

    def __init__(self, first: float) -> None:
        self.first = first
        self.queries: list[str] = []

    def query(self, q: str, *, method: str = "GET", database: str | None = None) -> list[Any]:
        self.queries.append(q)
        if q.startswith("SELECT first("):  # where the raw readings begin
            return [{"series": [{"columns": ["time", "first"], "values": [[int(self.first * 1e9), 1]]}]}]
        return [{}]

    def post_lines(self, body: bytes, *, database: str, retention_policy: str | None) -> None:
        raise AssertionError("nothing to write")

    def source(self, measurement: str) -> str:
        return measurement

    def is_v1(self) -> bool:
        return True


def test_a_long_catch_up_stops_between_queries_and_resumes():
    now = 1_790_000_000.0
    store = FakeStore(first=now - 30 * 86400)  # a month of minutes to roll up: 4,320 queries
    stop_after = 50
    ds = Downsampler(store, interval_s=60.0, lateness_s=120.0,
                     stopping=lambda: len(store.queries) >= stop_after)
    ds.run(now)
    assert len(store.queries) == stop_after  # stopped at once, not after the month
    assert ds.watermark_1m is not None and ds.watermark_1m < now - 29 * 86400
    reached = ds.watermark_1m
    stop_after = 10**9
    ds.run(now)
    assert ds.watermark_1m == (now - 120.0) // 60 * 60  # the rest, from where it stopped
    assert len(store.queries) < 4_320 + 2 * 130 + 50  # nothing done twice but the late minutes
    assert reached > store.first
