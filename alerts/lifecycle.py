"""The alert lifecycle as pure functions: rule transitions and people's actions in,
the changed alert and its timeline events out.

Layer: pure core. No store, no clock: ``now`` is passed in; the caller persists
what these functions return.
"""

from __future__ import annotations

import math
from dataclasses import replace

from alerts.model import Alert, AlertEvent, AlertStatus, Outcome
from alerts.rules.types import LIFE_SAFETY, SEVERITY_RANK, Transition
from sensors.errors import GridWatchError


class LifecycleError(GridWatchError):
    """An action that the alert's status does not allow (the API answers 409)."""


def alert_key(device_id: str, hazard: str) -> str:
    """The dedup key of a sensor alert: one open alert per device and hazard."""
    return f"{device_id}:{hazard}"


def apply_transition(
    existing: Alert | None,
    t: Transition,
    *,
    device_id: str,
    place_id: str,
    grid_id: str,
    assignee: str | None,
    now: float,
) -> tuple[Alert | None, list[AlertEvent]]:
    """Fold one rule transition into the open alert of its key.

    Returns the new or changed alert (None when nothing changes) and the events
    to append to its timeline.
    """
    value = None if math.isnan(t.value) else t.value
    if t.severity is not None:
        if existing is None:
            alert = Alert(
                id=0, key=alert_key(device_id, t.hazard), hazard=t.hazard.value,
                severity=t.severity, status=AlertStatus.RAISED, active=True,
                device_id=device_id, place_id=place_id, grid_id=grid_id, assignee=assignee,
                raised_at=t.ts, updated_at=now, value=value, detail=t.detail,
            )
            return alert, [AlertEvent(0, now, "system", "raised", "", _ev(t))]
        events: list[AlertEvent] = []
        alert = replace(existing, updated_at=now, data=dict(existing.data))
        if not existing.active:
            alert.active, alert.cleared_at = True, None
            events.append(AlertEvent(existing.id, now, "system", "reactivated", "", _ev(t)))
        if t.severity != existing.severity:
            up = SEVERITY_RANK[t.severity] > SEVERITY_RANK[existing.severity]
            alert.severity = t.severity
            if up:
                alert.value = value
            events.append(AlertEvent(existing.id, now, "system", "severity", "", _ev(t)))
        if t.detail and t.detail != existing.detail:
            alert.detail = t.detail
        return (alert, events) if events or alert.detail != existing.detail else (None, [])
    if existing is None or not existing.active:
        return None, []
    alert = replace(existing, active=False, cleared_at=t.ts, updated_at=now, data=dict(existing.data))
    events = [AlertEvent(existing.id, now, "system", "cleared", "", _ev(t))]
    if existing.status is AlertStatus.RAISED and t.hazard not in LIFE_SAFETY:
        # Nobody acted and the condition went away: resolved by itself, on the record.
        alert.status, alert.outcome = AlertStatus.RESOLVED, Outcome.CLEARED_BY_ITSELF
        events.append(AlertEvent(existing.id, now, "system", "resolved", "cleared by itself"))
    return alert, events


def _ev(t: Transition) -> dict[str, object]:
    d: dict[str, object] = {"severity": t.severity.value if t.severity else None, "ts": t.ts}
    if not math.isnan(t.value):
        d["value"] = t.value
    if t.detail:
        d["detail"] = t.detail
    return d


_ALLOWED: dict[str, frozenset[AlertStatus]] = {
    "acknowledge": frozenset({AlertStatus.RAISED}),
    "on_site": frozenset({AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED}),
    "resolve": frozenset({AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.ON_SITE}),
    "close": frozenset({AlertStatus.RESOLVED}),
}
_TARGET = {
    "acknowledge": AlertStatus.ACKNOWLEDGED,
    "on_site": AlertStatus.ON_SITE,
    "resolve": AlertStatus.RESOLVED,
    "close": AlertStatus.CLOSED,
}


def act(
    alert: Alert,
    action: str,
    *,
    actor: str,
    now: float,
    note: str = "",
    outcome: Outcome | None = None,
) -> tuple[Alert, AlertEvent]:
    """A person's action on an alert: acknowledge, on_site, resolve or close.

    Raises:
        LifecycleError: the action is unknown or not allowed in the alert's status,
            or a life-safety alert whose condition is still true is being resolved
            (it can only be marked on site until the condition clears).
    """
    allowed = _ALLOWED.get(action)
    if allowed is None:
        raise LifecycleError(f"unknown action {action!r}")
    if alert.status not in allowed:
        raise LifecycleError(f"cannot {action} an alert that is {alert.status.value}")
    if action == "resolve" and alert.active and alert.hazard in {h.value for h in LIFE_SAFETY}:
        raise LifecycleError(
            "the hazard is still present: mark it on site; it can be resolved once it clears"
        )
    changed = replace(alert, status=_TARGET[action], updated_at=now, data=dict(alert.data))
    if action == "resolve":
        changed.outcome = outcome or (Outcome.CLEARED_BY_ITSELF if not alert.active else Outcome.REAL_HAZARD)
    data: dict[str, object] = {"outcome": changed.outcome.value} if action == "resolve" and changed.outcome else {}
    return changed, AlertEvent(alert.id, now, actor, _TARGET[action].value, note, data)
