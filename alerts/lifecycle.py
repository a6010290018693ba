"""The alert lifecycle as pure functions: rule transitions and people's actions in,
the changed alert and its timeline events out.

Layer: pure core. No store, no clock: ``now`` is passed in; the caller persists
what these functions return.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from alerts.model import (
    Alert,
    AlertEvent,
    AlertStatus,
    Outcome,
    RepairTicket,
    ReportCategory,
    Source,
)
from alerts.rules.types import FAULTS, LIFE_SAFETY, SEVERITY_RANK, Severity, Transition
from sensors.errors import GridWatchError


class LifecycleError(GridWatchError):
    """An action that the alert's status does not allow (the API answers 409 with
    ``code``, which the pages translate)."""

    def __init__(self, message: str, code: str = "conflict") -> None:
        """Args: the message for a person, and the machine code."""
        super().__init__(message)
        self.code = code


def alert_key(device_id: str, hazard: str) -> str:
    """The dedup key of a sensor alert: one open alert per device and hazard."""
    return f"{device_id}:{hazard}"


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    """When a condition that keeps coming and going is one flapping alert.

    Attributes:
        window_s: how far back toggles (raise, clear) are counted.
        toggles: this many toggles inside the window mark the alert flapping.
    """

    window_s: float = 600.0
    toggles: int = 4


DEFAULT_FLAP = FlapPolicy()


def _toggle(alert: Alert, ts: float, flap: FlapPolicy) -> AlertEvent | None:
    """Record one toggle; returns a ``flapping`` event the first time the alert flaps."""
    recent = [x for x in alert.flap.toggles if ts - x <= flap.window_s]
    recent.append(ts)
    alert.flap.toggles = recent[-2 * flap.toggles:]
    if len(recent) >= flap.toggles and not alert.flap.flapping:
        alert.flap.flapping = True
        return AlertEvent(alert.id, ts, "system", "flapping",
                          f"{len(recent)} changes in {flap.window_s:.0f} s")
    return None


def apply_transition(
    existing: Alert | None,
    t: Transition,
    *,
    device_id: str,
    place_id: str,
    grid_id: str,
    assignee: str | None,
    now: float,
    recent: Alert | None = None,
    flap: FlapPolicy = DEFAULT_FLAP,
) -> tuple[Alert | None, list[AlertEvent]]:
    """Fold one rule transition into the open alert of its key.

    Args:
        existing: the open alert of the transition's key, if any.
        t: the transition.
        device_id, place_id, grid_id, assignee: facts for a new alert.
        now: the service time, epoch s.
        recent: the latest alert of the key when none is open; when it resolved by
            itself within ``flap.window_s`` it is reopened rather than a new alert
            raised (a toggling sensor stays one alert, marked flapping).
        flap: the flapping policy.

    Returns:
        The new or changed alert (None when nothing changes) and the events to
        append to its timeline.
    """
    value = None if math.isnan(t.value) else t.value
    if t.severity is not None:
        if existing is None and _reopenable(recent, t, flap):
            assert recent is not None
            return _reopen(recent, t, value, now, flap)
        if existing is None:
            alert = Alert(
                id=0, key=alert_key(device_id, t.hazard), hazard=t.hazard.value,
                severity=t.severity, status=AlertStatus.RAISED, active=True,
                device_id=device_id, place_id=place_id, grid_id=grid_id, assignee=assignee,
                raised_at=t.ts, updated_at=now, value=value, detail=t.detail,
            )
            alert.flap.toggles = [t.ts]
            return alert, [AlertEvent(0, now, "system", "raised", "", _ev(t))]
        events: list[AlertEvent] = []
        alert = replace(existing.copy(), updated_at=now)
        if not existing.active:
            alert.active, alert.cleared_at = True, None
            events.append(AlertEvent(existing.id, now, "system", "reactivated", "", _ev(t)))
            flapped = _toggle(alert, t.ts, flap)
            if flapped is not None:
                events.append(flapped)
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
    alert = replace(existing.copy(), active=False, cleared_at=t.ts, updated_at=now)
    events = [AlertEvent(existing.id, now, "system", "cleared", "", _ev(t))]
    flapped = _toggle(alert, t.ts, flap)
    if flapped is not None:
        events.append(flapped)
    if (existing.status is AlertStatus.RAISED and t.hazard not in LIFE_SAFETY
            and not alert.flap.flapping):
        # Nobody acted and the condition went away: resolved by itself, on the record.
        alert.status, alert.outcome = AlertStatus.RESOLVED, Outcome.CLEARED_BY_ITSELF
        events.append(AlertEvent(existing.id, now, "system", "resolved", "cleared by itself"))
    return alert, events


def _reopenable(recent: Alert | None, t: Transition, flap: FlapPolicy) -> bool:
    return (
        recent is not None
        and recent.status is AlertStatus.RESOLVED
        and recent.outcome is Outcome.CLEARED_BY_ITSELF
        and recent.cleared_at is not None
        and t.ts - recent.cleared_at <= flap.window_s
    )


def _reopen(
    recent: Alert, t: Transition, value: float | None, now: float, flap: FlapPolicy
) -> tuple[Alert, list[AlertEvent]]:
    assert t.severity is not None
    alert = replace(recent.copy(), status=AlertStatus.RAISED, active=True, cleared_at=None,
                    outcome=None, severity=t.severity, updated_at=now)
    if value is not None:
        alert.value = value
    events = [AlertEvent(recent.id, now, "system", "reopened", "raised again soon after it cleared",
                         _ev(t))]
    flapped = _toggle(alert, t.ts, flap)
    if flapped is not None:
        events.append(flapped)
    return alert, events


def _ev(t: Transition) -> dict[str, object]:
    d: dict[str, object] = {"severity": t.severity.value if t.severity else None, "ts": t.ts}
    if not math.isnan(t.value):
        d["value"] = t.value
    if t.detail:
        d["detail"] = t.detail
    return d


_OPEN = frozenset({AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.ON_SITE})
_ALLOWED: dict[str, frozenset[AlertStatus]] = {
    "acknowledge": frozenset({AlertStatus.RAISED}),
    "on_site": frozenset({AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED}),
    "resolve": _OPEN,
    "close": frozenset({AlertStatus.RESOLVED}),
    "follow_up": frozenset({AlertStatus.RESOLVED}),
    "note": _OPEN | {AlertStatus.RESOLVED},
}
_TARGET = {
    "acknowledge": AlertStatus.ACKNOWLEDGED,
    "on_site": AlertStatus.ON_SITE,
    "resolve": AlertStatus.RESOLVED,
    "close": AlertStatus.CLOSED,
    "follow_up": AlertStatus.CLOSED,
}
# What the property company (or maintenance) repairs: these outcomes and kinds open a
# repair ticket (GB/T 45839 5.12: a fault becomes a repair ticket for maintenance staff).
_REPAIR_KINDS = frozenset({h.value for h in FAULTS})
ACTIONS = tuple(_ALLOWED)


def act(
    alert: Alert,
    action: str,
    *,
    actor: str,
    now: float,
    note: str = "",
    outcome: Outcome | None = None,
    photos: Sequence[str] = (),
    helpers: Sequence[str] = (),
) -> tuple[Alert, AlertEvent]:
    """A person's action on an alert, recorded with who, when, a note and photo references.

    Actions: ``acknowledge``, ``on_site``, ``resolve`` (with an outcome and who helped:
    property company, police, fire brigade), ``close`` / ``follow_up`` (the follow-up
    visit, 跟踪回访), ``note`` (adds to the timeline without changing the status).

    A ``device_fault`` outcome (the default when a device-fault alert is resolved)
    opens a repair ticket for the property company in ``alert.handling.repair_ticket``.

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
            "the hazard is still present: mark it on site; it can be resolved once it clears",
            "hazard_still_present",
        )
    status = _TARGET.get(action, alert.status)
    changed = replace(alert.copy(), status=status, updated_at=now)
    data: dict[str, object] = {}
    if photos:
        data["photos"] = list(photos)
    if action == "resolve":
        changed.outcome = outcome or _default_outcome(alert)
        data["outcome"] = changed.outcome.value
        if helpers:
            data["helpers"] = list(helpers)
            changed.handling.helpers = list(helpers)
        if changed.outcome is Outcome.DEVICE_FAULT:
            changed.handling.repair_ticket = RepairTicket(
                opened_at=now, opened_by=actor, company=alert.facts.property_company,
                device_id=alert.device_id)
            data["repair_ticket"] = True
    if action in ("acknowledge", "on_site") and changed.handling.acknowledged_at is None:
        changed.handling.acknowledged_at = now
        changed.handling.acknowledged_by = actor
    return changed, AlertEvent(alert.id, now, actor, status.value if action in _TARGET else action,
                               note, data)


def _default_outcome(alert: Alert) -> Outcome:
    if alert.hazard in _REPAIR_KINDS:
        return Outcome.DEVICE_FAULT
    return Outcome.CLEARED_BY_ITSELF if not alert.active else Outcome.REAL_HAZARD


def report_key(place_id: str, category: ReportCategory) -> str:
    """The dedup key of a patrol report: one open report per place and category."""
    return f"report:{place_id}:{category.value}"


def report(
    existing: Alert | None,
    category: ReportCategory,
    *,
    place_id: str,
    grid_id: str,
    assignee: str | None,
    severity: Severity,
    reporter: str,
    note: str,
    photos: Sequence[str] = (),
    now: float,
) -> tuple[Alert, AlertEvent]:
    """A grid worker's patrol finding as an alert (or one more report on the open one).

    The alert follows the same lifecycle as a sensor alert; it has no device and its
    condition counts as present until a person resolves it.
    """
    data: dict[str, object] = {"reporter": reporter}
    if photos:
        data["photos"] = list(photos)
    if existing is not None:
        changed = replace(existing.copy(), updated_at=now)
        changed.source.reports = max(existing.source.reports, 1) + 1
        if SEVERITY_RANK[severity] > SEVERITY_RANK[existing.severity]:
            changed.severity = severity
        return changed, AlertEvent(existing.id, now, reporter, "reported_again", note, data)
    alert = Alert(
        id=0, key=report_key(place_id, category), hazard=category.value, severity=severity,
        status=AlertStatus.RAISED, active=True, device_id=None, place_id=place_id,
        grid_id=grid_id, assignee=assignee, raised_at=now, updated_at=now, detail="patrol",
        source=Source("patrol", reporter, 1, note, list(photos)),
    )
    return alert, AlertEvent(0, now, reporter, "raised", note, data)
