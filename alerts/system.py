"""Alerts about GridWatch itself: the readings store refusing data (a data gap), the
store unreachable for long. They follow the same lifecycle as a sensor alert, belong
to the whole community (no grid) and go to the community's head of duty.

Layer: pure core.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from alerts.model import Alert, AlertEvent, AlertStatus, Outcome, Source
from alerts.rules.types import Severity


class SystemHazard(StrEnum):
    """What can go wrong with the service itself."""

    DATA_GAP = "data_gap"  # the disk spool was full: readings were refused (not acked)
    STORE_UNREACHABLE = "store_unreachable"  # readings go to the spool meanwhile
    ALARM_STORE_FAILING = "alarm_store_failing"  # state.db refuses writes: nothing is acked
    READINGS_STORE_FAILING = "readings_store_failing"  # readings refused: nothing is acked
    INGEST_INTERNAL_ERROR = "ingest_internal_error"  # a bug: a batch kept only as dead letters
    DISK_LOW = "disk_low"  # the data directory's disk is nearly full
    MQTT_DISCONNECTED = "mqtt_disconnected"  # the ingest has no broker connection
    INGEST_SILENT = "ingest_silent"  # connected, but nothing heard for too long
    CLOCK_STEP = "clock_step"  # the system clock jumped; timers kept their own course
    NOTIFY_FAILING = "notify_failing"  # notices are not being delivered
    TIMERS_FAILING = "timers_failing"  # the sweep, escalation tick or checkpoint fails on a bug


def system_key(hazard: SystemHazard) -> str:
    """The dedup key: one open alert per system hazard."""
    return f"system:{hazard.value}"


def system_transition(
    existing: Alert | None,
    hazard: SystemHazard,
    *,
    active: bool,
    severity: Severity,
    community_id: str,
    assignee: str | None,
    note: str,
    now: float,
) -> tuple[Alert, AlertEvent] | None:
    """The change for a system condition now ``active`` (or not); None when nothing changes.

    A new condition raises an alert; a condition that goes away while nobody has acted
    closes it as cleared by itself (the timeline keeps both); one that someone has taken
    stays open for them, marked cleared.
    """
    if active:
        if existing is not None:
            return None
        alert = Alert(
            id=0, key=system_key(hazard), hazard=hazard.value, severity=severity,
            status=AlertStatus.RAISED, active=True, device_id=None, place_id=community_id,
            grid_id="", assignee=assignee, raised_at=now, updated_at=now, detail="system",
            source=Source("system", note=note),
        )
        return alert, AlertEvent(0, now, "system", "raised", note, {})
    if existing is None or not existing.active:
        return None
    changed = replace(existing.copy(), active=False, cleared_at=now, updated_at=now)
    if existing.status is AlertStatus.RAISED:
        changed.status = AlertStatus.CLOSED
        changed.outcome = Outcome.CLEARED_BY_ITSELF
    return changed, AlertEvent(existing.id, now, "system", "cleared", note, {})


__all__ = ["SystemHazard", "system_key", "system_transition"]
