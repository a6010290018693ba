"""Where alerts are kept, as the alert side sees it: a small protocol, an in-memory index
of the open alerts (so folding a transition, grouping and inhibition read memory,
not the database), and a book in memory for tests that need no database at all.

Layer: pure core. ``store.state.StateStore`` is the SQLite book of the service.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Protocol

from alerts.model import OPEN_STATUSES, Alert, AlertEvent

# A closed alert is remembered this long for the reopen rule (flapping: an alert that
# resolved by itself comes back rather than a new one; lifecycle.FlapPolicy's window).
RECENT_CLOSED_S = 3600.0


class AlertBook(Protocol):
    """What the alert side needs of a store of alerts."""

    def save_alert(self, alert: Alert, events: Iterable[AlertEvent] = ()) -> Alert:
        """Insert (``id == 0``) or update an alert with timeline events; returns it with its id."""
        ...

    def get_alert(self, alert_id: int) -> Alert | None:
        """One alert by id."""
        ...

    def latest_alert(self, key: str) -> Alert | None:
        """The newest alert of a key, whatever its status."""
        ...

    def open_alerts(self) -> list[Alert]:
        """Every open alert."""
        ...

    def audit(self, actor: str, action: str, target: str, detail: dict[str, Any] | None = None,
              ts: float | None = None) -> None:
        """Record an operation."""
        ...


def _copy(a: Alert) -> Alert:
    return a.copy()


class OpenAlerts:
    """The open alerts by key and by id, and the latest closed alert of each key for a
    while (copies go out: a caller's change counts once it is saved)."""

    def __init__(self) -> None:
        """Starts empty (:meth:`load` fills it)."""
        self._by_key: dict[str, Alert] = {}
        self._by_id: dict[int, Alert] = {}
        self._closed: dict[str, Alert] = {}

    def load(self, alerts: Iterable[Alert]) -> None:
        """Replace everything with these open alerts."""
        self._by_key.clear()
        self._by_id.clear()
        self._closed.clear()
        for a in alerts:
            self.put(a)

    def put(self, alert: Alert) -> None:
        """An alert as it was just saved."""
        a = _copy(alert)
        old = self._by_id.get(a.id)
        if old is not None and old.key != a.key:
            self._by_key.pop(old.key, None)
        if a.is_open:
            self._by_key[a.key] = a
            self._by_id[a.id] = a
            self._closed.pop(a.key, None)
            return
        self._by_id.pop(a.id, None)
        if self._by_key.get(a.key) is not None and self._by_key[a.key].id == a.id:
            del self._by_key[a.key]
        self._closed[a.key] = a
        if len(self._closed) > 10_000:  # bounded: the oldest go
            for k in list(itertools.islice(self._closed, 1000)):
                del self._closed[k]

    def open(self, key: str) -> Alert | None:
        """The open alert of a key."""
        a = self._by_key.get(key)
        return _copy(a) if a is not None else None

    def get(self, alert_id: int) -> Alert | None:
        """An open alert by id (None: not open, or unknown)."""
        a = self._by_id.get(alert_id)
        return _copy(a) if a is not None else None

    def recently_closed(self, key: str, now: float) -> Alert | None:
        """The latest closed alert of a key, if closed at most ``RECENT_CLOSED_S`` ago."""
        a = self._closed.get(key)
        if a is None or now - a.updated_at > RECENT_CLOSED_S:
            return None
        return _copy(a)

    def all(self) -> list[Alert]:
        """Copies of every open alert."""
        return [_copy(a) for a in self._by_id.values()]

    def of_device(self, device_id: str) -> list[Alert]:
        """Copies of the open alerts of one device."""
        return [_copy(a) for a in self._by_id.values() if a.device_id == device_id]

    def __len__(self) -> int:
        return len(self._by_id)


class MemoryAlertBook:
    """An :class:`AlertBook` in memory (tests of the alert side without a database)."""

    def __init__(self) -> None:
        """Starts empty."""
        self.alerts: dict[int, Alert] = {}
        self.events: dict[int, list[AlertEvent]] = {}
        self.audits: list[tuple[str, str, str, dict[str, Any]]] = []
        self._ids = itertools.count(1)

    def save_alert(self, alert: Alert, events: Iterable[AlertEvent] = ()) -> Alert:
        """Keep a copy; a new alert gets the next id."""
        if alert.id == 0:
            alert.id = next(self._ids)
        self.alerts[alert.id] = _copy(alert)
        self.events.setdefault(alert.id, []).extend(replace(e, alert_id=alert.id) for e in events)
        return alert

    def get_alert(self, alert_id: int) -> Alert | None:
        """A copy of one alert."""
        a = self.alerts.get(alert_id)
        return _copy(a) if a is not None else None

    def latest_alert(self, key: str) -> Alert | None:
        """The newest alert of a key."""
        found = [a for a in self.alerts.values() if a.key == key]
        return _copy(max(found, key=lambda a: a.id)) if found else None

    def open_alerts(self) -> list[Alert]:
        """Copies of the open alerts."""
        return [_copy(a) for a in self.alerts.values() if a.status in OPEN_STATUSES]

    def alert_events(self, alert_id: int) -> list[AlertEvent]:
        """An alert's timeline."""
        return list(self.events.get(alert_id, []))

    def audit(self, actor: str, action: str, target: str, detail: dict[str, Any] | None = None,
              ts: float | None = None) -> None:
        """Keep the record."""
        del ts
        self.audits.append((actor, action, target, dict(detail or {})))



__all__ = ["RECENT_CLOSED_S", "AlertBook", "MemoryAlertBook", "OpenAlerts"]
