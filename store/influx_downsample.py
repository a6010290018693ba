"""Downsampling and raw retention for the InfluxDB store, portable to every generation.

Layer: adapters. Run by :class:`store.influx.InfluxReadingStore`'s maintenance
thread (see its module docstring for the schema of ``reading_1m`` and
``reading_1h``). Aggregates are computed with a plain InfluxQL ``GROUP BY
time(...), *`` query and written back through ``/write``: no continuous
queries, tasks or ``SELECT INTO``, which not every generation has.

Watermarks: ``watermark_1m`` is the end of the minutes already rolled up and
final (older than ``lateness_s``); each run recomputes from ``watermark -
lateness_s`` so late readings still land in their minute (a rewrite of a
rollup point overwrites it). On start the watermark is recovered from the last
``reading_1m`` point, or the first raw reading when there is none.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sensors.fields import FIELDS
from store.lineprotocol import MEASUREMENT, ROLLUP_1H, ROLLUP_1M, SEQ_FIELD, format_point

log = logging.getLogger(__name__)

MINUTE_S = 60
HOUR_S = 3600
_FIELD_NAMES = [f.name for f in FIELDS]


class _Store(Protocol):
    """What the downsampler needs from the store (kept small to test it alone)."""

    raw_retention_s: float | None
    rollup_database: str
    rollup_retention_policy: str | None

    def query(self, q: str, *, method: str = "GET", database: str | None = None) -> list[Any]: ...

    def post_lines(self, body: bytes, *, database: str, retention_policy: str | None) -> None: ...

    def source(self, measurement: str) -> str: ...

    def is_v1(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Level:
    """One rollup level: which measurement feeds which, and how."""

    source: str
    target: str
    window_s: int
    step_s: int  # time range per query, to keep answers small

    def select(self) -> str:
        first = self.source == MEASUREMENT
        cols = []
        for f in _FIELD_NAMES:
            q = f'"{f}"'
            lo, hi = (q, q) if first else (f'"{f}_min"', f'"{f}_max"')
            cols += [f"mean({q}) AS {q}", f'min({lo}) AS "{f}_min"', f'max({hi}) AS "{f}_max"']
        cols.append(f'count("{SEQ_FIELD}") AS "n"' if first else 'sum("n") AS "n"')
        return ", ".join(cols)


_LEVEL_1M = _Level(MEASUREMENT, ROLLUP_1M, MINUTE_S, 600)
_LEVEL_1H = _Level(ROLLUP_1M, ROLLUP_1H, HOUR_S, 6 * HOUR_S)


def _floor(ts: float, window_s: int) -> float:
    return math.floor(ts / window_s) * window_s


class Downsampler:
    """Writes 1-minute and 1-hour rollups and enforces raw retention.

    Args:
        store: the store whose database it reads and writes.
        interval_s: how often :meth:`maybe_run` really runs (None: never).
        lateness_s: how long after its end a minute may still receive readings.
        stopping: True once the store is closing: a catch-up over months of readings
            stops between two queries and goes on from there next time (issue 14:
            ``close()`` waited for the whole catch-up).
    """

    def __init__(self, store: _Store, *, interval_s: float | None, lateness_s: float,
                 stopping: Callable[[], bool] = lambda: False) -> None:
        self._store = store
        self._stopping = stopping
        self.interval_s = interval_s
        self.lateness_s = lateness_s
        self.watermark_1m: float | None = None
        self.watermark_1h: float | None = None
        self._last_run: float | None = None

    def maybe_run(self, now: float) -> int:
        """Run when ``interval_s`` has passed since the last run; returns points written."""
        if self.interval_s is None:
            return 0
        if self._last_run is not None and now - self._last_run < self.interval_s:
            return 0
        return self.run(now)

    def run(self, now: float) -> int:
        """Roll up every final minute and hour up to ``now``; delete expired raw readings."""
        self._last_run = now
        final_1m = _floor(now - self.lateness_s, MINUTE_S)
        written, self.watermark_1m = self._roll(_LEVEL_1M, self.watermark_1m, final_1m)
        if self._stopping():
            return written
        final_1h = _floor(self.watermark_1m, HOUR_S)
        more, self.watermark_1h = self._roll(_LEVEL_1H, self.watermark_1h, final_1h)
        if not self._stopping():
            self._retain(now)
        return written + more

    def source_for(self, start: float, every_s: float, now: float) -> str:
        """The measurement (FROM clause) an aggregated history query should read."""
        retention = self._store.raw_retention_s
        if retention is None or start >= now - retention:
            return self._store.source(MEASUREMENT)
        if every_s % HOUR_S == 0:
            return self._store.source(ROLLUP_1H)
        if every_s % MINUTE_S == 0:
            return self._store.source(ROLLUP_1M)
        return self._store.source(MEASUREMENT)

    def retention_mode(self) -> str:
        """How raw retention is enforced here (for health)."""
        if self._store.raw_retention_s is None:
            return "none"
        return "store-delete" if self._store.is_v1() else "server (bucket/database retention)"

    def _roll(self, level: _Level, watermark: float | None, final_end: float) -> tuple[int, float]:
        if watermark is None:
            watermark = self._recover(level, final_end)
        start = max(_floor(watermark - self.lateness_s, level.window_s), 0.0)
        start = min(start, watermark)
        written = 0
        while start < final_end:
            if self._stopping():  # closing: keep what is done, go on from here next time
                return written, max(watermark, start)
            end = min(start + level.step_s, final_end)
            written += self._roll_range(level, start, end)
            start = end
        return written, max(watermark, final_end)

    def _roll_range(self, level: _Level, start: float, end: float) -> int:
        q = (
            f"SELECT {level.select()} FROM {self._store.source(level.source)} "  # noqa: S608 - InfluxQL built from quoted identifiers, literals and numbers
            f"WHERE time >= {int(start) * 10**9} AND time < {int(end) * 10**9} "
            f"GROUP BY time({level.window_s}s), * fill(none)"
        )
        lines = []
        for result in self._store.query(q):
            for series in result.get("series", ()):
                tags = series.get("tags", {})
                cols = series["columns"]
                for values in series["values"]:
                    row = dict(zip(cols, values, strict=True))
                    fields: dict[str, float | int] = {
                        k: float(v)
                        for k, v in row.items()
                        if k not in ("time", "n") and v is not None
                    }
                    fields["n"] = int(row.get("n") or 0)
                    lines.append(format_point(level.target, tags, fields, int(row["time"])))
        if lines:
            self._store.post_lines(
                ("\n".join(lines) + "\n").encode(),
                database=self._store.rollup_database,
                retention_policy=self._store.rollup_retention_policy,
            )
        return len(lines)

    def _recover(self, level: _Level, final_end: float) -> float:
        """Where a level's rollups stopped: the last rollup point, else the first input point."""
        last = self._first_time(f'SELECT last("n") FROM {self._store.source(level.target)}')  # noqa: S608 - InfluxQL built from quoted identifiers, literals and numbers
        if last is not None:
            return last + level.window_s
        field = SEQ_FIELD if level.source == MEASUREMENT else "n"
        first = self._first_time(f'SELECT first("{field}") FROM {self._store.source(level.source)}')  # noqa: S608 - InfluxQL built from quoted identifiers, literals and numbers
        return _floor(first, level.window_s) if first is not None else final_end

    def _first_time(self, q: str) -> float | None:
        for result in self._store.query(q):
            for series in result.get("series", ()):
                for values in series["values"]:
                    return float(values[0]) / 1e9
        return None

    def _retain(self, now: float) -> None:
        retention = self._store.raw_retention_s
        if retention is None or self.watermark_1m is None or not self._store.is_v1():
            return
        # Never delete raw readings a later run may still roll up (see the watermark note).
        cutoff = min(now - retention, _floor(self.watermark_1m - self.lateness_s, MINUTE_S))
        q = f'DELETE FROM "{MEASUREMENT}" WHERE time < {int(cutoff) * 10**9}'  # noqa: S608 - constant and a number
        self._store.query(q, method="POST")
