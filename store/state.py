"""The alert-state store (SQLite): alerts and their timelines, each device's last
state, dead letters, the audit log and rule-core snapshots.

Layer: adapters. Always SQLite, whichever reading store is chosen: this data is
small, relational and must survive ``kill -9`` (WAL).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from alerts.model import OPEN_STATUSES, Alert, AlertEvent, AlertStatus, Outcome, records_from
from alerts.noise import Silence
from alerts.rules.types import Severity
from store.db import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL, hazard TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL,
    active INTEGER NOT NULL, device_id TEXT, place_id TEXT NOT NULL, grid_id TEXT NOT NULL,
    assignee TEXT, raised_at REAL NOT NULL, updated_at REAL NOT NULL, cleared_at REAL,
    value REAL, detail TEXT NOT NULL, outcome TEXT, data BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open_per_key ON alerts(key)
    WHERE status IN ('raised', 'acknowledged', 'on_site');
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts(status, grid_id);
CREATE TABLE IF NOT EXISTS alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER NOT NULL, ts REAL NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, note TEXT NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_events_by_alert ON alert_events(alert_id, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, topic TEXT NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL, payload BLOB NOT NULL, size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_reason ON dead_letters(reason, id);
CREATE TABLE IF NOT EXISTS device_state (
    device_id TEXT PRIMARY KEY, last_seen REAL, online INTEGER, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ends_at REAL NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, now REAL NOT NULL, body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER NOT NULL, recipient TEXT NOT NULL,
    notice BLOB NOT NULL, created_at REAL NOT NULL, delivered_at REAL, channel TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(delivered_at) WHERE delivered_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_by_alert ON outbox(alert_id, id);
CREATE TABLE IF NOT EXISTS dead_letter_counts (reason TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""

DEAD_LETTER_PAYLOAD_BYTES = 1024

_ALERT_COLS = (
    "id, key, hazard, severity, status, active, device_id, place_id, grid_id, assignee, "
    "raised_at, updated_at, cleared_at, value, detail, outcome, data"
)


@dataclass(frozen=True, slots=True)
class DeadLetterLimits:
    """How much of the refused input is kept (everything is counted): whoever can
    publish junk must not be able to fill the disk.

    Attributes:
        max_count: dead letters kept at most.
        max_bytes: bytes of payload, topic and detail kept at most.
        max_age_s: older ones are forgotten.
        prune_every: the limits are enforced after this many letters were kept (each
            pruning scans the table; it is not done for every batch of a junk flood),
            so at most this many more may be kept for a while.
    """

    max_count: int = 10_000
    max_bytes: int = 8 * 1024 * 1024
    max_age_s: float = 7 * 86400.0
    prune_every: int = 200


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An unusable message, kept with why it was refused."""

    ts: float
    topic: str
    reason: str
    detail: str
    payload: bytes


def _row_to_alert(r: Sequence[Any]) -> Alert:
    return Alert(
        id=r[0], key=r[1], hazard=r[2], severity=Severity(r[3]), status=AlertStatus(r[4]),
        active=bool(r[5]), device_id=r[6], place_id=r[7], grid_id=r[8], assignee=r[9],
        raised_at=r[10], updated_at=r[11], cleared_at=r[12], value=r[13], detail=r[14],
        outcome=Outcome(r[15]) if r[15] else None, **records_from(orjson.loads(r[16])),
    )


class StateStore:
    """Alert state in SQLite; safe to call from any thread."""

    def __init__(self, path: Path | Database, *, synchronous: str = "NORMAL") -> None:
        """Args: path of the database file (or an open :class:`Database`);
        synchronous: NORMAL or FULL."""
        self.db = path if isinstance(path, Database) else Database(path, synchronous=synchronous)
        self.path = self.db.path
        self.db.script(_SCHEMA)
        self.dead_letter_limits = DeadLetterLimits()
        self._kept_since_prune = self.dead_letter_limits.prune_every  # the first letters prune at once
        with self.db.write() as c:  # data directories from before the counts were kept
            if c.execute("SELECT COUNT(*) FROM dead_letter_counts").fetchone()[0] == 0:
                c.execute("INSERT INTO dead_letter_counts (reason, n) "
                          "SELECT reason, COUNT(*) FROM dead_letters GROUP BY reason")

    # -- alerts ---------------------------------------------------------------------

    def open_alert(self, key: str) -> Alert | None:
        """The open alert with this key, if any."""
        with self.db.read() as conn:
            r = conn.execute(
                f"SELECT {_ALERT_COLS} FROM alerts WHERE key = ? "  # noqa: S608
                "AND status IN ('raised', 'acknowledged', 'on_site')",
                (key,),
            ).fetchone()
        return _row_to_alert(r) if r else None

    def latest_alert(self, key: str) -> Alert | None:
        """The most recent alert with this key, whatever its status."""
        with self.db.read() as conn:
            r = conn.execute(
                f"SELECT {_ALERT_COLS} FROM alerts WHERE key = ? ORDER BY id DESC LIMIT 1",  # noqa: S608
                (key,),
            ).fetchone()
        return _row_to_alert(r) if r else None

    def open_alerts_in(self, grid_id: str) -> list[Alert]:
        """Every open alert of a grid (grouping and inhibition look at neighbours)."""
        return self.list_alerts(statuses=tuple(OPEN_STATUSES), grid_ids=[grid_id], limit=100_000)

    def open_alerts(self) -> list[Alert]:
        """Every open alert."""
        return self.list_alerts(statuses=tuple(OPEN_STATUSES), limit=1_000_000)

    def save_alert(self, alert: Alert, events: Iterable[AlertEvent] = ()) -> Alert:
        """Insert (``id == 0``) or update an alert, with timeline events, atomically.

        Returns the alert with its id set.
        """
        vals = (
            alert.key, alert.hazard, alert.severity.value, alert.status.value, int(alert.active),
            alert.device_id, alert.place_id, alert.grid_id, alert.assignee, alert.raised_at,
            alert.updated_at, alert.cleared_at, alert.value, alert.detail,
            alert.outcome.value if alert.outcome else None, orjson.dumps(alert.records()),
        )
        with self.db.write() as c:
            if alert.id == 0:
                cur = c.execute(
                    f"INSERT INTO alerts ({_ALERT_COLS}) VALUES (NULL, {', '.join('?' * 16)})",  # noqa: S608
                    vals,
                )
                alert.id = int(cur.lastrowid or 0)
            else:
                c.execute(
                    "UPDATE alerts SET key=?, hazard=?, severity=?, status=?, active=?, device_id=?, "
                    "place_id=?, grid_id=?, assignee=?, raised_at=?, updated_at=?, cleared_at=?, "
                    "value=?, detail=?, outcome=?, data=? WHERE id=?",
                    (*vals, alert.id),
                )
            c.executemany(
                "INSERT INTO alert_events (alert_id, ts, actor, action, note, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (alert.id, e.ts, e.actor, e.action, e.note, orjson.dumps(e.data))
                    for e in events
                ],
            )
        return alert

    def get_alert(self, alert_id: int) -> Alert | None:
        """One alert by id."""
        with self.db.read() as conn:
            r = conn.execute(
                f"SELECT {_ALERT_COLS} FROM alerts WHERE id = ?", (alert_id,)  # noqa: S608
            ).fetchone()
        return _row_to_alert(r) if r else None

    def list_alerts(
        self,
        *,
        statuses: Sequence[str] = (),
        grid_ids: Sequence[str] | None = None,
        assignee: str | None = None,
        hazard: str | None = None,
        device_id: str | None = None,
        severity: str | None = None,
        since: float | None = None,
        place_ids: Sequence[str] | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Alert]:
        """Alerts matching every given filter, newest first.

        ``place_ids`` keeps alerts at those places (a user's scope); ``since`` and
        ``until`` bound ``raised_at`` (``until`` exclusive).
        """
        where, args = self._alert_filter(statuses, grid_ids, assignee, hazard, device_id, severity,
                                         since, place_ids, until)
        sql = f"SELECT {_ALERT_COLS} FROM alerts {where} ORDER BY id DESC LIMIT ? OFFSET ?"  # noqa: S608
        with self.db.read() as conn:
            rows = conn.execute(sql, (*args, limit, offset)).fetchall()
        return [_row_to_alert(r) for r in rows]

    def count_alerts(self, **filters: Any) -> int:
        """How many alerts match the filters of :meth:`list_alerts`."""
        where, args = self._alert_filter(
            filters.get("statuses", ()), filters.get("grid_ids"), filters.get("assignee"),
            filters.get("hazard"), filters.get("device_id"), filters.get("severity"),
            filters.get("since"), filters.get("place_ids"), filters.get("until"),
        )
        with self.db.read() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM alerts {where}", args).fetchone()[0])  # noqa: S608

    @staticmethod
    def _alert_filter(
        statuses: Sequence[str],
        grid_ids: Sequence[str] | None,
        assignee: str | None,
        hazard: str | None,
        device_id: str | None,
        severity: str | None,
        since: float | None,
        place_ids: Sequence[str] | None = None,
        until: float | None = None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if statuses:
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            args.extend(statuses)
        if grid_ids is not None:
            clauses.append(f"grid_id IN ({', '.join('?' * len(grid_ids))})" if grid_ids else "0")
            args.extend(grid_ids)
        for col, val in (("assignee", assignee), ("hazard", hazard), ("device_id", device_id),
                         ("severity", severity)):
            if val is not None:
                clauses.append(f"{col} = ?")
                args.append(val)
        if since is not None:
            clauses.append("raised_at >= ?")
            args.append(since)
        if until is not None:
            clauses.append("raised_at < ?")
            args.append(until)
        if place_ids is not None:
            ids = list(place_ids)
            clauses.append("place_id IN (SELECT value FROM json_each(?))" if ids else "0")
            if ids:
                args.append(orjson.dumps(ids).decode())
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", args

    def alert_events(self, alert_id: int) -> list[AlertEvent]:
        """An alert's timeline, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT alert_id, ts, actor, action, note, data FROM alert_events "
                "WHERE alert_id = ? ORDER BY id",
                (alert_id,),
            ).fetchall()
        return [AlertEvent(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5])) for r in rows]

    def events_of(self, alert_ids: Sequence[int]) -> dict[int, list[AlertEvent]]:
        """The timelines of many alerts at once (statistics), oldest first."""
        if not alert_ids:
            return {}
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT alert_id, ts, actor, action, note, data FROM alert_events "
                "WHERE alert_id IN (SELECT value FROM json_each(?)) ORDER BY id",
                (orjson.dumps(list(alert_ids)).decode(),),
            ).fetchall()
        out: dict[int, list[AlertEvent]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(AlertEvent(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5])))
        return out

    # -- dead letters -----------------------------------------------------------------

    def add_dead_letters(self, letters: Sequence[DeadLetter], *,
                         dropped: Mapping[str, int] | None = None, now: float | None = None) -> None:
        """Keep refused messages (payload truncated to 1 KiB) within the limits of
        :attr:`dead_letter_limits` (oldest go first); ``dropped`` counts, per reason,
        those the ingest's rate limit did not keep: every refusal is counted."""
        counts: dict[str, int] = dict(dropped or {})
        for d in letters:
            counts[d.reason] = counts.get(d.reason, 0) + 1
        if not counts:
            return
        lim = self.dead_letter_limits
        with self.db.write() as c:
            c.executemany(
                "INSERT INTO dead_letters (ts, topic, reason, detail, payload, size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (d.ts, d.topic[:512], d.reason, d.detail[:512],
                     d.payload[:DEAD_LETTER_PAYLOAD_BYTES], len(d.payload))
                    for d in letters
                ],
            )
            c.executemany(
                "INSERT INTO dead_letter_counts (reason, n) VALUES (?, ?) "
                "ON CONFLICT(reason) DO UPDATE SET n = n + excluded.n", list(counts.items()))
            self._kept_since_prune += len(letters)
            if letters and self._kept_since_prune >= lim.prune_every:
                self._kept_since_prune = 0
                oldest = (now if now is not None else letters[-1].ts) - lim.max_age_s
                c.execute("DELETE FROM dead_letters WHERE ts < ?", (oldest,))
                c.execute("DELETE FROM dead_letters WHERE id <= (SELECT id FROM dead_letters "
                          "ORDER BY id DESC LIMIT 1 OFFSET ?)", (lim.max_count,))
                kept = c.execute("SELECT COALESCE(SUM(length(payload) + length(topic) + "
                                 "length(detail)), 0) FROM dead_letters").fetchone()[0]
                if int(kept) > lim.max_bytes:  # drop the oldest half's worth at once
                    c.execute("DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters "
                              "ORDER BY id LIMIT (SELECT COUNT(*) / 2 + 1 FROM dead_letters))")

    def dead_letter_stats(self) -> dict[str, Any]:
        """How many dead letters are kept, their bytes, and every refusal ever counted."""
        with self.db.read() as conn:
            n, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(length(payload) + length(topic) + "
                                   "length(detail)), 0) FROM dead_letters").fetchone()
            total = dict(conn.execute("SELECT reason, n FROM dead_letter_counts").fetchall())
        return {"kept": int(n), "kept_bytes": int(size), "counted": {k: int(v) for k, v in total.items()}}

    def list_dead_letters(
        self, *, reason: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Dead letters, newest first."""
        where, args = ("WHERE reason = ?", [reason]) if reason else ("", [])
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT id, ts, topic, reason, detail, payload, size FROM dead_letters {where} "  # noqa: S608
                "ORDER BY id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [
            {"id": r[0], "ts": r[1], "topic": r[2], "reason": r[3], "detail": r[4],
             "payload": r[5].decode("utf-8", "replace"), "size": r[6]}
            for r in rows
        ]

    def dead_letter_counts(self) -> dict[str, int]:
        """Refused messages per reason, every one counted (kept or not)."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT reason, n FROM dead_letter_counts").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # -- device state, audit, snapshots -----------------------------------------------------

    def save_device_states(self, rows: Iterable[tuple[str, float | None, bool | None, dict[str, Any]]]) -> None:
        """Upsert (device_id, last_seen, online, data) rows."""
        with self.db.write() as c:
            c.executemany(
                "INSERT INTO device_state (device_id, last_seen, online, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET last_seen=excluded.last_seen, "
                "online=excluded.online, data=excluded.data",
                [(d, ls, None if on is None else int(on), orjson.dumps(data)) for d, ls, on, data in rows],
            )

    def load_device_states(self) -> dict[str, tuple[float | None, bool | None, dict[str, Any]]]:
        """Every saved device state."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT device_id, last_seen, online, data FROM device_state").fetchall()
        return {r[0]: (r[1], None if r[2] is None else bool(r[2]), orjson.loads(r[3])) for r in rows}

    # -- silences and maintenance windows ---------------------------------------------

    def add_silence(self, silence: Silence) -> Silence:
        """Store a new silence; returns it with its id."""
        with self.db.write() as c:
            cur = c.execute("INSERT INTO silences (ends_at, data) VALUES (?, ?)",
                            (silence.ends_at, b"{}"))
            silence.id = int(cur.lastrowid or 0)
            c.execute("UPDATE silences SET data = ? WHERE id = ?",
                      (orjson.dumps(silence.to_dict()), silence.id))
        return silence

    def save_silence(self, silence: Silence) -> None:
        """Store a changed silence (lifted early)."""
        with self.db.write() as c:
            c.execute("UPDATE silences SET ends_at = ?, data = ? WHERE id = ?",
                      (silence.ends_at, orjson.dumps(silence.to_dict()), silence.id))

    def get_silence(self, silence_id: int) -> Silence | None:
        """One silence by id."""
        with self.db.read() as conn:
            row = conn.execute("SELECT data FROM silences WHERE id = ?", (silence_id,)).fetchone()
        return Silence.from_dict(orjson.loads(row[0])) if row else None

    def silences(self, *, ending_after: float | None = None) -> list[Silence]:
        """Every silence, newest first (only those ending after a time, when given)."""
        sql, args = "SELECT data FROM silences", tuple[float, ...]()
        if ending_after is not None:
            sql, args = sql + " WHERE ends_at > ?", (ending_after,)
        with self.db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC", args).fetchall()
        return [Silence.from_dict(orjson.loads(r[0])) for r in rows]

    def audit(self, actor: str, action: str, target: str, detail: dict[str, Any] | None = None,
              ts: float | None = None) -> None:
        """Record an operation (GB/T 45839 5.9.2)."""
        with self.db.write() as c:
            c.execute(
                "INSERT INTO audit (ts, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                (time.time() if ts is None else ts, actor, action, target, orjson.dumps(detail or {})),
            )

    def list_audit(self, *, limit: int = 100, offset: int = 0, actor: str | None = None,
                   action: str | None = None) -> list[dict[str, Any]]:
        """The audit log, newest first (optionally of one actor, or actions with a prefix)."""
        where, args = self._audit_filter(actor, action)
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT id, ts, actor, action, target, detail FROM audit {where} "  # noqa: S608
                "ORDER BY id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [{"id": r[0], "ts": r[1], "actor": r[2], "action": r[3], "target": r[4],
                 "detail": orjson.loads(r[5])} for r in rows]

    def count_audit(self, *, actor: str | None = None, action: str | None = None) -> int:
        """How many audit entries match :meth:`list_audit`'s filters."""
        where, args = self._audit_filter(actor, action)
        with self.db.read() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM audit {where}", args).fetchone()[0])  # noqa: S608

    @staticmethod
    def _audit_filter(actor: str | None, action: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if actor is not None:
            clauses.append("actor = ?")
            args.append(actor)
        if action is not None:
            clauses.append("action LIKE ? ESCAPE '\\'")
            args.append(action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", args

    def put_blob(self, key: str, value: bytes) -> None:
        """Store a blob (rule-core snapshot, ...)."""
        with self.db.write() as c:
            c.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def get_blob(self, key: str) -> bytes | None:
        """A stored blob, or None."""
        with self.db.read() as conn:
            r = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return bytes(r[0]) if r else None

    # -- the rule journal (see gridwatch.journal) ------------------------------------

    def journal_append(self, kind: str, now: float, body: bytes) -> int:
        """Append one rule-core input; returns its id (in the caller's transaction)."""
        with self.db.write() as c:
            cur = c.execute("INSERT INTO journal (kind, now, body) VALUES (?, ?, ?)", (kind, now, body))
            return int(cur.lastrowid or 0)

    def journal_after(self, after_id: int) -> list[tuple[int, str, float, bytes]]:
        """The journal entries after ``after_id``, oldest first."""
        with self.db.read() as c:
            rows = c.execute("SELECT id, kind, now, body FROM journal WHERE id > ? ORDER BY id",
                             (after_id,)).fetchall()
        return [(int(r[0]), str(r[1]), float(r[2]), bytes(r[3])) for r in rows]

    def journal_truncate(self, upto_id: int, *, limit: int) -> int:
        """Forget at most ``limit`` of the oldest entries a checkpoint covers (a long
        journal goes in several short transactions); returns how many went."""
        with self.db.write() as c:
            cur = c.execute("DELETE FROM journal WHERE id IN "
                            "(SELECT id FROM journal WHERE id <= ? ORDER BY id LIMIT ?)", (upto_id, limit))
            return int(cur.rowcount)

    # -- the notice outbox ----------------------------------------------------------

    def outbox_add(self, alert_id: int, notice: dict[str, Any], recipient: str, created_at: float) -> int:
        """A notice to one person that must be delivered; returns its id."""
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO outbox (alert_id, recipient, notice, created_at) VALUES (?, ?, ?, ?)",
                (alert_id, recipient, orjson.dumps(notice), created_at))
            return int(cur.lastrowid or 0)

    def outbox_delivered(self, outbox_id: int, at: float, channel: str) -> None:
        """One channel delivered this notice to its person."""
        with self.db.write() as c:
            c.execute("UPDATE outbox SET delivered_at = ?, channel = ? WHERE id = ? "
                      "AND delivered_at IS NULL", (at, channel, outbox_id))

    def outbox_pending(self) -> list[tuple[int, int, str, dict[str, Any], float]]:
        """(id, alert id, recipient, notice, created at) of every undelivered notice."""
        with self.db.read() as c:
            rows = c.execute("SELECT id, alert_id, recipient, notice, created_at FROM outbox "
                             "WHERE delivered_at IS NULL ORDER BY id").fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), orjson.loads(r[3]), float(r[4])) for r in rows]

    def outbox_of(self, alert_id: int) -> list[dict[str, Any]]:
        """Every notice of an alert, whom it was for and whether it was delivered."""
        with self.db.read() as c:
            rows = c.execute("SELECT id, recipient, notice, created_at, delivered_at, channel FROM outbox "
                             "WHERE alert_id = ? ORDER BY id", (alert_id,)).fetchall()
        return [{"id": r[0], "recipient": r[1], "notice": orjson.loads(r[2]).get("notice"),
                 "created_at": r[3], "delivered_at": r[4], "channel": r[5]} for r in rows]

    def close(self) -> None:
        """Close the database."""
        self.db.close()
