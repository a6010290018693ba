"""One SQLite database for the whole alarm side, with one writer and its own readers.

Layer: adapters. ``state.db`` holds alerts, escalation state, the notice outbox,
delivery attempts, the audit log, dead letters and the rule journal. Everything a
change of the alarm side writes commits in one transaction (:meth:`Database.write`
nests: the outermost block commits), on the one writer thread
(:mod:`gridwatch.writer`). Other threads read through a second connection, so a
page never sees a change that is not committed and never waits for a transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from store.sqlite import connect

# A write that cannot take the database this long fails (and the writer retries it,
# raising a fault), instead of holding the alarm path for SQLite's default 10 s.
WRITE_BUSY_TIMEOUT_MS = 2000


class Database:
    """A writer connection (re-entrant, nesting transactions) and a reader connection."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        """Open (and create) the database at ``path``."""
        self.path = path
        self._w = connect(path, synchronous=synchronous)
        self._w.execute(f"PRAGMA busy_timeout={WRITE_BUSY_TIMEOUT_MS}")
        self._wlock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0
        self._r = connect(path, synchronous=synchronous)
        self._rlock = threading.Lock()
        self.commits = 0

    def script(self, sql: str) -> None:
        """Run a schema script (outside any transaction)."""
        with self._wlock:
            self._w.executescript(sql)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested blocks join the outermost one, which commits.

        Raises:
            sqlite3.Error: the database refused (locked, full, read only); the whole
                outermost transaction is rolled back.
        """
        with self._wlock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._w
                finally:
                    self._depth -= 1
                return
            self._w.execute("BEGIN IMMEDIATE")
            self._depth, self._owner = 1, threading.get_ident()
            try:
                yield self._w
                self._w.execute("COMMIT")
                self.commits += 1
            except BaseException:
                if self._w.in_transaction:
                    self._w.execute("ROLLBACK")
                raise
            finally:
                self._depth, self._owner = 0, None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection to read from: the writer's own inside its transaction (it sees
        what it wrote), else the reader connection (committed data only)."""
        if self._owner == threading.get_ident():
            yield self._w
            return
        with self._rlock:
            yield self._r

    def close(self) -> None:
        """Close both connections."""
        with self._wlock, self._rlock:
            self._w.close()
            self._r.close()


__all__ = ["WRITE_BUSY_TIMEOUT_MS", "Database"]
