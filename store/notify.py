"""SQLite for the notification side: escalation state (so a restart neither re-notifies
nor forgets a pending step) and every delivery attempt (GB/T 45839 5.10.1: records).

Layer: adapter. The tables live in ``state.db`` beside the alerts (one transaction for an
alert change and the escalation step it causes); an older ``notify.db`` is migrated.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from alerts.escalation import EscalationState
from store.db import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    alert_id INTEGER PRIMARY KEY,
    state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS notification_attempts (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    alert_id INTEGER NOT NULL,
    notice TEXT NOT NULL,
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT,
    duration_ms REAL NOT NULL,
    since_notice_ms REAL NOT NULL,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_alert ON notification_attempts (alert_id, id);
"""
_ATTEMPT_COLS = ("ts, alert_id, notice, recipient, channel, attempt, ok, error, duration_ms, "
                 "since_notice_ms, reason")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try to deliver one notice to one person on one channel.

    Attributes:
        ts: when the try ended, epoch s (wall clock).
        alert_id: the alert.
        notice: the notice type.
        recipient: worker id or ``contact:<household>:<n>``.
        channel: the channel URL with its secrets removed (``json://127.0.0.1:8080/...``).
        attempt: 1 for the first try on this channel.
        ok: delivered.
        error: why not, when not.
        duration_ms: how long the try took.
        since_notice_ms: from the notice being decided to the end of this try.
        reason: the notice's reason (escalation step, reminder...).
    """

    ts: float
    alert_id: int
    notice: str
    recipient: str
    channel: str
    attempt: int
    ok: bool
    error: str | None
    duration_ms: float
    since_notice_ms: float
    reason: str = ""


class NotifyStore:
    """Escalation state and delivery attempts in ``notify.db``; thread-safe."""

    def __init__(self, path: Path | Database, *, synchronous: str = "NORMAL") -> None:
        """Open (and create) the tables in the database at ``path``, or in an open
        :class:`Database` (the service keeps them in ``state.db``, so an escalation step
        commits with the alert change that caused it)."""
        self.db = path if isinstance(path, Database) else Database(path, synchronous=synchronous)
        self.db.script(_SCHEMA)

    # -- EscalationBook --------------------------------------------------------------

    def load_all(self) -> list[EscalationState]:
        """Every pending escalation."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT state FROM escalations ORDER BY alert_id").fetchall()
        return [EscalationState.from_dict(orjson.loads(r[0])) for r in rows]

    def escalation(self, alert_id: int) -> EscalationState | None:
        """One alert's escalation as committed (None: none pending), read on the
        reader connection (pages never wait for the alarm writer)."""
        with self.db.read() as conn:
            row = conn.execute("SELECT state FROM escalations WHERE alert_id = ?", (alert_id,)).fetchone()
        return EscalationState.from_dict(orjson.loads(row[0])) if row else None

    def save(self, state: EscalationState) -> None:
        """Insert or replace one escalation."""
        with self.db.write() as c:
            c.execute("INSERT OR REPLACE INTO escalations (alert_id, state) VALUES (?, ?)",
                      (state.alert_id, orjson.dumps(state.to_dict())))

    def delete(self, alert_id: int) -> None:
        """Forget an escalation."""
        with self.db.write() as c:
            c.execute("DELETE FROM escalations WHERE alert_id = ?", (alert_id,))

    # -- attempts ----------------------------------------------------------------------

    def record(self, a: Attempt) -> None:
        """Keep one attempt."""
        with self.db.write() as c:
            c.execute(
                "INSERT INTO notification_attempts (ts, alert_id, notice, recipient, channel, "
                "attempt, ok, error, duration_ms, since_notice_ms, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (a.ts, a.alert_id, a.notice, a.recipient, a.channel, a.attempt, int(a.ok),
                 a.error, a.duration_ms, a.since_notice_ms, a.reason),
            )

    def attempts(self, alert_id: int | None = None, *, limit: int = 1000,
                 offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Attempts (of one alert, or all), oldest first, and how many there are."""
        where, args = ("WHERE alert_id = ?", [alert_id]) if alert_id is not None else ("", [])
        with self.db.read() as conn:
            total = conn.execute(
                f"SELECT count(*) FROM notification_attempts {where}", args  # noqa: S608 - fixed text
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_ATTEMPT_COLS} FROM notification_attempts {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608 - fixed text
                [*args, limit, offset],
            ).fetchall()
        keys = _ATTEMPT_COLS.split(", ")
        out = []
        for r in rows:
            d = dict(zip(keys, r, strict=True))
            d["ok"] = bool(d["ok"])
            out.append(d)
        return out, int(total)

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def migrate_notify_db(old: Path, db: Database) -> bool:
    """Move an older data directory's ``notify.db`` (escalations and attempts, kept
    apart before) into ``db``; the old file is renamed ``notify.db.migrated``.
    Returns whether there was one."""
    if not old.exists():
        return False
    db.script(_SCHEMA)
    src = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
    try:
        escalations = src.execute("SELECT alert_id, state FROM escalations").fetchall()
        attempts = src.execute(f"SELECT {_ATTEMPT_COLS} FROM notification_attempts ORDER BY id").fetchall()  # noqa: S608 - fixed text
    except sqlite3.Error:
        escalations, attempts = [], []  # an empty or foreign file: nothing to keep
    finally:
        src.close()
    with db.write() as c:
        c.executemany("INSERT OR IGNORE INTO escalations (alert_id, state) VALUES (?, ?)", escalations)
        c.executemany(f"INSERT INTO notification_attempts ({_ATTEMPT_COLS}) "  # noqa: S608 - fixed text
                      f"VALUES ({', '.join('?' * 11)})", attempts)
    for suffix in ("", "-wal", "-shm"):
        p = old.with_name(old.name + suffix)
        if p.exists():
            p.rename(p.with_name(p.name.replace("notify.db", "notify.db.migrated")))
    return True


__all__ = ["Attempt", "NotifyStore"]
