"""Escalation: who is told about an alert, and who next when nobody acts in time.

Layer: pure core. The engine is told of every alert change
(:meth:`EscalationEngine.on_change`, subscribed to the alert service) and ticked with
the service's clock (:meth:`EscalationEngine.tick`); it hands :class:`Notice` s to a
:class:`Notifier` (which queues and returns) and keeps its state in an
:class:`EscalationBook`, so that a restart neither re-notifies anybody nor forgets a
pending step.

The chain (DOMAIN.md): grid worker on duty and the assistant → grid leader (or the
compound's branch secretary) → the deputy in charge → the community head. Policies
come from the site file's ``escalation:`` section (:mod:`topology.escalation`),
tried in order, then the defaults below:

- critical gas, CO, smoke, heat: worker, assistant, the household's emergency
  contacts and the property company at once; grid leader at 3 min unacknowledged,
  deputy at 10, head at 30; reminders every 2 min until acknowledged;
- other critical alerts: worker, assistant, property at once; grid leader at 10 min,
  deputy at 30; reminders every 5 min;
- warnings: worker and property at once; assistant and grid leader at 30 min, deputy
  at 2 h; reminders every 30 min;
- info: the worker, once.

Resolution deadlines by severity ("big matters within the day"): critical 2 h,
warning 24 h, info 72 h; past it, the grid leader and the deputy are told once.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from alerts.model import Alert, AlertEvent, AlertStatus, Escalated
from alerts.mute import Muted, Mutes
from alerts.notify.types import Notice, NoticeType, Notifier
from alerts.routing import (
    Assignment,
    Place,
    Recipient,
    level_ids,
    place_of_device,
    place_of_id,
    recipients,
    route,
)
from alerts.rules.types import FAULTS, LIFE_SAFETY, Severity
from alerts.system import SystemHazard
from topology.escalation import EscalationConfig, EscalationPolicy, EscalationStep
from topology.index import SiteIndex

log = logging.getLogger(__name__)

_LIFE = sorted(h.value for h in LIFE_SAFETY)
# Device faults and every fault of the service itself are told as faults, not alarms.
_FAULTS = frozenset(h.value for h in FAULTS) | frozenset(h.value for h in SystemHazard)

DEFAULT_POLICIES: tuple[EscalationPolicy, ...] = (
    EscalationPolicy(
        hazards=_LIFE, severity="critical", repeat_s=120, repeat_max=30,
        steps=[EscalationStep(after_s=0, notify=["worker", "assistant", "contacts", "property"]),
               EscalationStep(after_s=180, notify=["grid_leader"]),
               EscalationStep(after_s=600, notify=["deputy"]),
               EscalationStep(after_s=1800, notify=["head"])],
    ),
    EscalationPolicy(
        severity="critical", repeat_s=300, repeat_max=20,
        steps=[EscalationStep(after_s=0, notify=["worker", "assistant", "contacts", "property"]),
               EscalationStep(after_s=600, notify=["grid_leader"]),
               EscalationStep(after_s=1800, notify=["deputy"])],
    ),
    EscalationPolicy(
        severity="warning", repeat_s=1800, repeat_max=8,
        steps=[EscalationStep(after_s=0, notify=["worker", "property", "contacts"]),
               EscalationStep(after_s=1800, notify=["assistant", "grid_leader"]),
               EscalationStep(after_s=7200, notify=["deputy"])],
    ),
    EscalationPolicy(steps=[EscalationStep(after_s=0, notify=["worker"])]),
)
DEFAULT_RESOLVE_WITHIN_S = {"critical": 7200.0, "warning": 86400.0, "info": 259200.0}
# Levels past the grid: an alert escalated to them was not handled inside the grid.
OUTSIDE_GRID = frozenset({"deputy", "head"})
# At most one "more detectors joined" notice per incident in this many seconds.
INCIDENT_UPDATE_S = 60.0


def policy_for(config: EscalationConfig, hazard: str, severity: Severity | str) -> EscalationPolicy:
    """The first site policy matching, else the first default that does."""
    sev = str(severity)
    for p in (*config.policies, *DEFAULT_POLICIES):
        if (not p.hazards or hazard in p.hazards) and (p.severity is None or p.severity == sev):
            return p
    return DEFAULT_POLICIES[-1]


def resolve_within(config: EscalationConfig, policy: EscalationPolicy, severity: str) -> float:
    """The resolution deadline of an alert, in seconds after it was raised."""
    if policy.resolve_within_s is not None:
        return policy.resolve_within_s
    return float(config.resolve_within_s.get(severity, DEFAULT_RESOLVE_WITHIN_S[severity]))  # type: ignore[call-overload]


@dataclass(slots=True)
class EscalationState:
    """Where one alert's escalation is; persisted after every change.

    Attributes:
        alert_id: the alert.
        started_at: when escalation began (the alert was raised), epoch s.
        next_step: index of the next step of the policy to run.
        told: ids of everybody told so far (reminders go to them).
        repeats: reminders sent.
        last_notice_at: when the last notice went out.
        overdue_sent: the resolution deadline notice went out.
        acknowledged: a person took it: no more steps or reminders.
        suppressed: what holds its notices (``silenced:<id>``, ``inhibited:<id>`` from the
            mute stages, or ``incident:<id>``: the parent incident is notified instead).
        joined: devices that joined this incident and are not announced yet.
        last_update_at: when the last incident update went out.
    """

    alert_id: int
    started_at: float
    next_step: int = 0
    told: list[str] = field(default_factory=list)
    repeats: int = 0
    last_notice_at: float = 0.0
    overdue_sent: bool = False
    acknowledged: bool = False
    suppressed: str | None = None
    joined: list[str] = field(default_factory=list)
    last_update_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EscalationState:
        """Back from :meth:`to_dict`."""
        return cls(**d)


class EscalationBook(Protocol):
    """Where escalation state is kept (``store.escalation`` in SQLite)."""

    def load_all(self) -> list[EscalationState]:
        """Every pending escalation."""
        ...

    def save(self, state: EscalationState) -> None:
        """Insert or replace."""
        ...

    def delete(self, alert_id: int) -> None:
        """Forget an alert that needs no more notices."""
        ...


class MemoryBook:
    """An :class:`EscalationBook` in memory (tests)."""

    def __init__(self) -> None:
        """Starts empty."""
        self.states: dict[int, dict[str, Any]] = {}

    def load_all(self) -> list[EscalationState]:
        """Copies of what is kept."""
        return [EscalationState.from_dict(dict(d)) for d in self.states.values()]

    def save(self, state: EscalationState) -> None:
        """Keep a copy."""
        self.states[state.alert_id] = state.to_dict()

    def delete(self, alert_id: int) -> None:
        """Forget."""
        self.states.pop(alert_id, None)


class AlertAccess(Protocol):
    """What the engine needs of the alert side (the :class:`AlertService`)."""

    def get(self, alert_id: int) -> Alert | None:
        """The alert as it is now."""
        ...

    def annotate(self, alert_id: int, event: AlertEvent, *,
                 escalation: Callable[[Escalated], Escalated] | None = None) -> None:
        """Add ``event`` to the alert's timeline (and change what it shows of its
        escalation, applied to the alert as stored)."""
        ...

    @property
    def mutes(self) -> Mutes:
        """The mute stages asked before each notice."""
        ...


def first_notice(alert: Alert) -> NoticeType:
    """Alarm or fault, by the hazard."""
    return NoticeType.FAULT if alert.hazard in _FAULTS else NoticeType.ALARM


def cleared_notice(alert: Alert) -> NoticeType:
    """Alarm cleared or fault recovered, by the hazard."""
    return NoticeType.FAULT_RECOVERED if alert.hazard in _FAULTS else NoticeType.ALARM_CLEARED


class EscalationEngine:
    """Runs the escalation policy of every open alert; thread-safe."""

    def __init__(
        self,
        index: SiteIndex,
        alerts: AlertAccess,
        book: EscalationBook,
        notifier: Notifier,
        *,
        clock: Callable[[], float],
    ) -> None:
        """Args: the site, the alert side, the state book, the notifier, the service clock."""
        self.index = index
        self.alerts = alerts
        self.book = book
        self.notifier = notifier
        self.clock = clock
        self._lock = threading.RLock()
        self._states: dict[int, EscalationState] = {s.alert_id: s for s in book.load_all()}
        # When each escalation next has something to do (the rule core's ``next_due``
        # idea): a tick reads only the alerts that are due. Missing: due now.
        self._due: dict[int, float] = {}
        # The silences last seen, and when the next one starts or ends: a change wakes
        # every escalation (a silence that starts holds their next notices).
        self._silences_seen: object = None
        self._mute_due = math.inf
        self._last_route: tuple[tuple[Place, str, float], Assignment] | None = None

    def reload(self) -> None:
        """Take the escalations from the book again (after a rolled-back transaction)."""
        with self._lock:
            self._states = {s.alert_id: s for s in self.book.load_all()}
            self._due.clear()

    @property
    def config(self) -> EscalationConfig:
        """The site's escalation section."""
        return self.index.site.escalation

    def pending(self) -> list[EscalationState]:
        """Copies of the escalations in progress."""
        with self._lock:
            return [EscalationState.from_dict(s.to_dict()) for s in self._states.values()]

    # -- the alert side tells us -------------------------------------------------------

    def on_change(self, change: Any) -> None:
        """An :class:`alerts.service.AlertChange`: start, stop or clear an escalation."""
        alert: Alert = change.alert
        actions = {e.action for e in change.events}
        now = self.clock()
        with self._lock:
            self._due.pop(alert.id, None)  # looked at again at the next tick
            if alert.hazard == "offline" and self.alerts.mutes.is_gateway(alert.device_id):
                self._due.clear()  # a gateway's outage began or ended: its devices' notices
            state = self._states.get(alert.id)
            if change.created:
                if alert.is_open:
                    self._start(alert, now)
                return
            if state is None:
                if alert.is_open and "reactivated" in actions:
                    self._start(alert, now)
                return
            if alert.status is not AlertStatus.RAISED and not state.acknowledged:
                state.acknowledged = True
                self.book.save(state)
            if "cleared" in actions and not alert.active and state.told:
                self._send(alert, cleared_notice(alert), state.told, now, "condition cleared",
                           state.next_step)
            if not alert.is_open:
                self._forget(alert.id)
                return
            if ("severity" in actions and alert.status is AlertStatus.RAISED
                    and not state.acknowledged and not state.suppressed):
                self._upgrade(alert, state, now)

    def announce(self, alert: Alert, kind: NoticeType, levels: list[str], reason: str) -> int:
        """A one-off notice outside any escalation (a device retired) to the people the
        levels name at the alert's place; returns notices sent (0 or 1)."""
        now = self.clock()
        with self._lock:
            return self._send(alert, kind, self._ids(alert, levels, now), now, reason, 0)

    # -- time moves --------------------------------------------------------------------

    def tick(self, now: float | None = None) -> int:
        """Run every step, reminder and deadline due by ``now``; returns notices sent."""
        now = self.clock() if now is None else now
        sent = 0
        with self._lock:
            silencer = self.alerts.mutes.silencer
            if silencer.silences is not self._silences_seen or now >= self._mute_due:
                self._silences_seen = silencer.silences  # silences changed, started or ended
                self._mute_due = silencer.next_change(now)
                self._due.clear()
            for alert_id in list(self._states):
                if self._due.get(alert_id, -math.inf) > now:
                    continue
                state = self._states[alert_id]
                alert = self.alerts.get(alert_id)
                if alert is None or not alert.is_open:
                    self._forget(alert_id)
                    continue
                sent += self._run(alert, state, now)
                self._due[alert_id] = self._next_due(alert, state, now)
        return sent

    def _next_due(self, alert: Alert, state: EscalationState, now: float) -> float:
        """When this escalation next has a step, reminder, deadline or incident update
        to run (while a mute stage holds it: when that ends; while a parent incident speaks
        for it: a change)."""
        if state.suppressed:
            muted = self.alerts.mutes.mute(alert, now)
            return muted.until if muted is not None else math.inf
        policy = policy_for(self.config, alert.hazard, alert.severity)
        due = math.inf
        if not state.acknowledged and alert.status is AlertStatus.RAISED:
            if state.next_step < len(policy.steps):
                due = min(due, state.started_at + policy.steps[state.next_step].after_s)
            if policy.repeat_s and state.told and state.repeats < policy.repeat_max:
                due = min(due, state.last_notice_at + policy.repeat_s)
        if not state.overdue_sent:
            due = min(due, state.started_at + resolve_within(self.config, policy, str(alert.severity)))
        if state.joined:
            due = min(due, state.last_update_at + INCIDENT_UPDATE_S)
        return due

    def resume(self, open_alerts: Iterable[Alert], now: float) -> None:
        """Adopt open alerts that have no escalation state (raised before it was kept):
        steps whose time has passed count as done, so nobody is told twice."""
        with self._lock:
            for alert in open_alerts:
                if alert.id in self._states or alert.status is not AlertStatus.RAISED:
                    continue
                policy = policy_for(self.config, alert.hazard, alert.severity)
                done = sum(1 for s in policy.steps if alert.raised_at + s.after_s <= now)
                state = EscalationState(alert.id, alert.raised_at, next_step=done,
                                        last_notice_at=now)
                self._states[alert.id] = state
                self.book.save(state)

    # -- inside ------------------------------------------------------------------------

    def _start(self, alert: Alert, now: float) -> None:
        state = EscalationState(alert.id, started_at=now)  # steps count from when it was raised
        self._states[alert.id] = state
        self._run(alert, state, now)
        self.book.save(state)

    def _forget(self, alert_id: int) -> None:
        self._due.pop(alert_id, None)
        if self._states.pop(alert_id, None) is not None:
            self.book.delete(alert_id)

    def _upgrade(self, alert: Alert, state: EscalationState, now: float) -> None:
        """The alert became more severe: the steps of its new policy that are already
        due tell the people they name who have not heard of it yet (a gas warning that
        turns critical reaches the assistant and the contacts at once), then the new
        policy's later steps run on its own times."""
        policy = policy_for(self.config, alert.hazard, alert.severity)
        due = [s for s in policy.steps if now >= state.started_at + s.after_s]
        levels = [lv for s in due for lv in s.notify]
        new = [i for i in self._ids(alert, levels, now) if i not in state.told]
        if new:
            state.told.extend(new)
            self._send(alert, first_notice(alert), new, now,
                       f"now {alert.severity}: " + ", ".join(dict.fromkeys(levels)),
                       max(len(due) - 1, 0))
        state.next_step = max(state.next_step, len(due))
        self._run(alert, state, now)
        self.book.save(state)

    def _join_incident(self, alert: Alert, state: EscalationState, now: float) -> None:
        """A detector that joined an incident: its first step reaches only the people the
        incident has not reached (the contacts of a second household); the incident's
        own escalation speaks for both from then on."""
        assert alert.incident.parent is not None
        parent = self._states.get(alert.incident.parent)
        already = set(parent.told) if parent is not None else set()
        policy = policy_for(self.config, alert.hazard, alert.severity)
        state.next_step = 1
        if not policy.steps:
            return
        new = [i for i in self._ids(alert, policy.steps[0].notify, now) if i not in already]
        state.told.extend(new)
        self._send(alert, first_notice(alert), new, now,
                   f"part of incident #{alert.incident.parent}", 0)
        if parent is not None:
            self._due.pop(parent.alert_id, None)  # its incident update is due
            parent.joined.append(str(alert.facts.address or alert.device_id or alert.id))
            parent_alert = self.alerts.get(parent.alert_id)
            if parent_alert is not None:  # those just told by the alarm need no update
                self._update(parent_alert, parent, now)
            parent.told.extend(i for i in new if i not in parent.told)
            self.book.save(parent)

    def _update(self, alert: Alert, state: EscalationState, now: float) -> None:
        """Tell everyone an incident reached that more detectors joined it: at once for
        the first, then at most once per ``INCIDENT_UPDATE_S`` with all that joined since
        (several flats alarming are news for the person on the way; a page per detector
        is noise)."""
        if not state.joined or now < state.last_update_at + INCIDENT_UPDATE_S:
            return
        reason = "; ".join(state.joined)
        state.joined, state.last_update_at = [], now
        self._send(alert, NoticeType.INCIDENT_UPDATE, list(state.told), now, reason,
                   max(state.next_step - 1, 0))

    def _run(self, alert: Alert, state: EscalationState, now: float) -> int:
        muted = self.alerts.mutes.mute(alert, now)
        if muted is None and alert.incident.parent is not None and state.next_step == 0:
            self._join_incident(alert, state, now)  # not while silenced or inhibited
        held = muted.key if muted is not None else (
            f"incident:{alert.incident.parent}" if alert.incident.parent is not None else None)
        if held != state.suppressed:
            self._held(alert, state, muted, held, now)
        if held is not None:
            return 0
        policy = policy_for(self.config, alert.hazard, alert.severity)
        sent = 0
        changed = bool(state.joined)
        self._update(alert, state, now)
        if not state.acknowledged and alert.status is AlertStatus.RAISED:
            while (state.next_step < len(policy.steps)
                   and now >= state.started_at + policy.steps[state.next_step].after_s):
                step = policy.steps[state.next_step]
                level = state.next_step
                state.next_step += 1
                changed = True
                ids = self._ids(alert, step.notify, now)
                new = [i for i in ids if i not in state.told]
                state.told.extend(new)
                if level == 0:
                    sent += self._send(alert, first_notice(alert), new, now,
                                       "raised: " + ", ".join(step.notify), level)
                    continue
                sent += self._send(alert, NoticeType.ESCALATION, new, now,
                                   f"not acknowledged in {int(step.after_s)} s: "
                                   + ", ".join(step.notify), level)
                self.alerts.annotate(alert.id, AlertEvent(
                    alert.id, now, "system", "escalated",
                    f"not acknowledged in {int(step.after_s)} s",
                    {"level": level, "levels": list(step.notify), "recipients": new}),
                    escalation=_stepped(level, step.notify))
            if (policy.repeat_s and state.told and state.repeats < policy.repeat_max
                    and now >= state.last_notice_at + policy.repeat_s):
                state.repeats += 1
                changed = True
                sent += self._send(alert, NoticeType.REMINDER, state.told, now,
                                   f"reminder {state.repeats}: not acknowledged", state.next_step - 1)
        deadline = state.started_at + resolve_within(self.config, policy, str(alert.severity))
        if not state.overdue_sent and now >= deadline and alert.is_open:
            state.overdue_sent = True
            changed = True
            ids = self._ids(alert, [*policy.overdue_notify, "worker"], now)
            sent += self._send(alert, NoticeType.OVERDUE, ids, now,
                               "not resolved by the deadline", state.next_step - 1)
            self.alerts.annotate(alert.id, AlertEvent(
                alert.id, now, "system", "overdue", "not resolved by the deadline",
                {"recipients": ids}), escalation=lambda e: replace(e, overdue=True))
        if changed:
            self.book.save(state)
        return sent

    def _held(self, alert: Alert, state: EscalationState, muted: Muted | None, held: str | None,
              now: float) -> None:
        """What holds the alert's notices changed: on its timeline when a mute stage
        starts or stops holding it; once free, the chain's clock restarts (the step not
        yet taken comes its usual interval after the last one taken, the first at once)."""
        before = state.suppressed
        state.suppressed = held
        if before and not before.startswith("incident:") and (muted is None or muted.key != before):
            stage, _, by = before.partition(":")
            if stage == "silenced":
                self._event(alert, "unsilenced", f"silence #{by} is over", now)
            else:
                self._event(alert, "uninhibited", f"gateway outage #{by} is over; this device "
                            "is still not heard", now)
        if muted is not None:
            self._event(alert, muted.stage, muted.note, now)
        if held is None:
            steps = policy_for(self.config, alert.hazard, alert.severity).steps
            done = min(state.next_step, len(steps))
            state.started_at = now - (steps[done - 1].after_s if done > 0 else 0.0)
        self.book.save(state)

    def _event(self, alert: Alert, action: str, note: str, now: float) -> None:
        self.alerts.annotate(alert.id, AlertEvent(alert.id, now, "system", action, note, {}))

    def _place(self, alert: Alert) -> Place | None:
        if alert.device_id:
            dp = self.index.place_of(alert.device_id)
            if dp is not None:
                return place_of_device(dp)
        return place_of_id(self.index, alert.place_id)

    def _ids(self, alert: Alert, levels: Iterable[str], now: float) -> list[str]:
        place = self._place(alert)
        community = self.index.site.community
        out: list[str] = []
        if place is None:  # the service itself: the community's leaders
            for level in levels:
                who = {"head": community.head, "deputy": community.deputy}.get(level)
                if who is None and level in ("worker", "grid_leader"):
                    who = alert.assignee
                if who and who not in out:
                    out.append(who)
            return out
        assignment = self._route(place, alert.hazard, now)
        if alert.assignee and alert.assignee != assignment.assignee:
            assignment = Assignment(alert.assignee, assignment.backup,
                                    assignment.property_company, assignment.property_staff,
                                    assignment.contacts, assignment.duty_note)
        for level in levels:
            for i in level_ids(self.index, place, assignment, level):
                if i not in out:
                    out.append(i)
        return out

    def _recipients(self, alert: Alert, ids: list[str], now: float) -> list[Recipient]:
        place = self._place(alert)
        if place is None:
            return recipients(self.index, ids, Assignment(alert.assignee or "", None, None))
        return recipients(self.index, ids, self._route(place, alert.hazard, now))

    def _route(self, place: Place, hazard: str, now: float) -> Assignment:
        """``route()`` once per (place, hazard, time): a step names people, then finds
        their channels, with the same routing."""
        key = (place, hazard, now)
        if self._last_route is None or self._last_route[0] != key:
            self._last_route = (key, route(self.index, place, hazard=hazard, now=now))
        return self._last_route[1]

    def _send(self, alert: Alert, kind: NoticeType, ids: list[str], now: float, reason: str,
              level: int) -> int:
        if not ids:
            return 0
        people = self._recipients(alert, ids, now)
        state = self._states.get(alert.id)
        if state is not None:
            state.last_notice_at = now
        if not people:
            return 0
        self.notifier.submit(Notice(alert, kind, tuple(people), now, reason, max(level, 0)))
        return 1


def _stepped(level: int, levels: Sequence[str]) -> Callable[[Escalated], Escalated]:
    """What an alert shows after an escalation step (applied to the alert as stored)."""
    def change(e: Escalated) -> Escalated:
        return replace(e, level=level, to=list(levels),
                       outside_grid=e.outside_grid or bool(OUTSIDE_GRID & set(levels)))
    return change


__all__ = [
    "DEFAULT_POLICIES", "DEFAULT_RESOLVE_WITHIN_S", "AlertAccess",
    "EscalationBook", "EscalationEngine", "EscalationState", "MemoryBook", "cleared_notice",
    "first_notice", "policy_for", "resolve_within",
]
