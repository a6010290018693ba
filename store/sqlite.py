"""SQLite stores: the embedded default for readings, and the alert-state store.

Layer: adapters. WAL mode; ``synchronous=NORMAL`` survives a killed process (the
WAL is in the OS page cache), ``FULL`` also survives power loss
(``--sqlite-sync full``). Each store owns one writer connection behind a lock, and
readers use their own connections so the API never waits on the ingest.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sensors.batch import ReadingBatch
from sensors.errors import StoreError
from sensors.fields import FIELDS
from store.protocol import HistoryPoint

_COLS = [f.name for f in FIELDS]
# The shortest aggregation window a history is read in (``every_s=1e-320`` made a
# window per reading, and a division by nearly zero).
MIN_EVERY_S = 1.0
_BOOL = {f.name for f in FIELDS if f.boolean}


def connect(path: Path, *, synchronous: str = "NORMAL", readonly: bool = False) -> sqlite3.Connection:
    """Open a SQLite database in WAL mode with the settings every store uses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: inserts touch a page per device
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class SQLiteReadingStore:
    """Readings in one SQLite table, keyed by (event time, device, seq).

    The key makes writes idempotent: a message redelivered by the broker after a
    crash (same ``ts`` and ``seq``) is stored once. It is time-major on purpose:
    a batch then lands on the last few pages of the B-tree. Keyed device-first,
    each batch touched a page per device, and the WAL written per row grew with
    the table (8 → 23 µs a row by 150k rows; time-major stays at 3.3 µs,
    bench/ingest.py). A device's history is read through a small secondary index
    on (device, time) (``readings_by_device``): without it, a day of one device
    scanned a day of every device (935 ms at 5 M rows, issue 14); its cost on
    writes is measured by ``bench/history.py``. Long histories of large sites
    belong in InfluxDB.
    """

    def __init__(self, path: Path, *, synchronous: str = "NORMAL", device_index: bool = True) -> None:
        """Args: path of the database file; synchronous: NORMAL or FULL; device_index:
        keep the (device, time) index (False only to measure what it costs)."""
        self.path = path
        self._w = connect(path, synchronous=synchronous)
        self._lock = threading.Lock()
        cols = ", ".join(f"{c} REAL" for c in _COLS)
        self._w.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS readings (
                device_id TEXT NOT NULL, ts REAL NOT NULL, seq INTEGER NOT NULL,
                recv_ts REAL NOT NULL, {cols},
                PRIMARY KEY (ts, device_id, seq)
            ) WITHOUT ROWID;
            """
        )
        if device_index:  # also added to a database made before it existed
            self._w.execute("CREATE INDEX IF NOT EXISTS readings_by_device ON readings (device_id, ts)")
        marks = ", ".join("?" * (4 + len(_COLS)))
        self._insert = f"INSERT OR IGNORE INTO readings VALUES ({marks})"  # noqa: S608 - fixed columns
        self._local = threading.local()

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    def write(self, batch: ReadingBatch) -> None:
        """Insert a batch in one transaction; durable when it returns."""
        if not len(batch):
            return
        values = batch.values.tolist()
        rows = [
            (dev, ts, seq, recv, *[None if v != v else v for v in vals])  # noqa: PLR0124 - v != v is the fast NaN test
            for dev, ts, seq, recv, vals in zip(
                batch.device_ids, batch.ts.tolist(), batch.seq.tolist(), batch.recv_ts.tolist(),
                values, strict=True,
            )
        ]
        with self._lock:
            try:
                self._w.execute("BEGIN")
                self._w.executemany(self._insert, rows)
                self._w.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._w.in_transaction:
                    self._w.execute("ROLLBACK")
                raise StoreError(f"sqlite write failed: {exc}") from exc

    def history(
        self,
        device_id: str,
        start: float,
        end: float,
        *,
        every_s: float | None = None,
        limit: int = 10_000,
    ) -> list[HistoryPoint]:
        """Readings of one device in ``[start, end)``, oldest first, maybe aggregated
        (windows of at least :data:`MIN_EVERY_S`)."""
        conn = self._reader()
        if every_s:
            every_s = max(float(every_s), MIN_EVERY_S)
            aggs = ", ".join(f"AVG({c})" for c in _COLS)
            sql = (
                f"SELECT CAST(ts / ? AS INTEGER) * ? AS w, {aggs} FROM readings "  # noqa: S608
                "WHERE device_id = ? AND ts >= ? AND ts < ? GROUP BY w ORDER BY w LIMIT ?"
            )
            cur = conn.execute(sql, (every_s, every_s, device_id, start, end, limit))
            return [
                HistoryPoint(float(r[0]), {c: v for c, v in zip(_COLS, r[1:], strict=True) if v is not None})
                for r in cur
            ]
        sql = (
            f"SELECT ts, seq, {', '.join(_COLS)} FROM readings "  # noqa: S608
            "WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts, seq LIMIT ?"
        )
        out = []
        for r in conn.execute(sql, (device_id, start, end, limit)):
            vals: dict[str, float | bool] = {}
            for c, v in zip(_COLS, r[2:], strict=True):
                if v is not None:
                    vals[c] = bool(v) if c in _BOOL else v
            out.append(HistoryPoint(r[0], vals, None if r[1] < 0 else r[1]))
        return out

    def count(self, device_id: str | None = None) -> int:
        """How many readings are stored."""
        conn = self._reader()
        if device_id is None:
            return int(conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0])
        q = "SELECT COUNT(*) FROM readings WHERE device_id = ?"
        return int(conn.execute(q, (device_id,)).fetchone()[0])

    def health(self) -> dict[str, object]:
        """Backend facts for the health endpoint."""
        return {"backend": "sqlite", "path": str(self.path), "ok": True}

    def close(self) -> None:
        """Close the writer connection."""
        with self._lock:
            self._w.close()


def nan_to_none(v: float) -> float | None:
    """NaN (absent) as None for JSON and SQL."""
    return None if math.isnan(v) else v


@contextmanager
def transaction(conn: sqlite3.Connection, lock: threading.Lock) -> Iterator[sqlite3.Connection]:
    """Run a block in one write transaction under the store's lock."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
