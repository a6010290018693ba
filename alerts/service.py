"""The alert service: turns rule transitions into persisted, routed alerts and applies
people's actions, telling listeners (notifiers, live pages, the console) of each change.

Layer: adapter-facing orchestrator of the alert side. Synchronous and thread-safe:
the asyncio runtime calls it through ``asyncio.to_thread`` so SQLite never blocks
the event loop; ``now`` is always passed in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alerts.lifecycle import act, alert_key, apply_transition
from alerts.model import Alert, AlertEvent, Outcome
from alerts.routing import route
from alerts.rules.types import Transition
from sensors.registry import DeviceTable
from store.state import StateStore
from topology.index import SiteIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert after a change, with the events the change added."""

    alert: Alert
    events: tuple[AlertEvent, ...]
    created: bool


Listener = Callable[[AlertChange], None]


class AlertService:
    """Applies transitions and actions; persists through a :class:`StateStore`."""

    def __init__(self, index: SiteIndex, table: DeviceTable, store: StateStore) -> None:
        """Args: the site index, the device table (row → id) and the state store."""
        self.index = index
        self.table = table
        self.store = store
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after every persisted change (exceptions are logged, not raised)."""
        self._listeners.append(listener)

    def _emit(self, change: AlertChange) -> None:
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:
                log.exception("alert listener %r failed", listener)

    def apply(self, transitions: Sequence[Transition], now: float) -> list[AlertChange]:
        """Fold rule transitions into alerts; returns the persisted changes."""
        changes: list[AlertChange] = []
        with self._lock:
            for t in transitions:
                device_id = self.table.ids[t.device_idx]
                place = self.index.place_of(device_id)
                if place is None:  # the registry and the site are built together; cannot happen
                    log.error("transition for unknown device %s", device_id)
                    continue
                existing = self.store.open_alert(alert_key(device_id, t.hazard))
                assignment = route(self.index, place)
                alert, events = apply_transition(
                    existing, t, device_id=device_id, place_id=place.place_id,
                    grid_id=place.grid_id, assignee=assignment.assignee, now=now,
                )
                if alert is None:
                    continue
                if existing is None:
                    alert.data["address"] = self.index.address(place)
                    alert.data["kind"] = place.kind.value
                    if assignment.backup:
                        alert.data["backup"] = assignment.backup
                    if assignment.property_company:
                        alert.data["property_company"] = assignment.property_company
                saved = self.store.save_alert(alert, events)
                changes.append(AlertChange(saved, tuple(events), existing is None))
        for c in changes:
            self._emit(c)
        return changes

    def act(
        self,
        alert_id: int,
        action: str,
        *,
        actor: str,
        now: float,
        note: str = "",
        outcome: Outcome | None = None,
    ) -> Alert | None:
        """A person's action; None when the alert does not exist.

        Raises:
            LifecycleError: the action is not allowed now.
        """
        with self._lock:
            alert = self.store.get_alert(alert_id)
            if alert is None:
                return None
            changed, event = act(alert, action, actor=actor, now=now, note=note, outcome=outcome)
            saved = self.store.save_alert(changed, [event])
            self.store.audit(actor, f"alert.{action}", f"alert/{alert_id}", {"note": note}, ts=now)
        self._emit(AlertChange(saved, (event,), False))
        return saved
