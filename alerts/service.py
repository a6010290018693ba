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

from alerts.book import AlertBook, OpenAlerts
from alerts.lifecycle import act, alert_key, apply_transition, report, report_key
from alerts.model import Alert, AlertEvent, AlertStatus, Escalated, Facts, Outcome, ReportCategory
from alerts.mute import Inhibitor, Mutes, Silencer
from alerts.noise import Silence
from alerts.routing import Assignment, Place, address, place_of_device, place_of_id, route
from alerts.rules.types import FAULTS, LIFE_SAFETY, Severity, Transition
from alerts.system import SystemHazard, system_key, system_transition
from sensors.errors import GridWatchError
from sensors.registry import DeviceTable
from topology.index import SiteIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert after a change, with the events the change added."""

    alert: Alert
    events: tuple[AlertEvent, ...]
    created: bool


Listener = Callable[[AlertChange], None]


class DeviceRetired(GridWatchError):
    """A device taken out of service cannot be put back in service by a mode change."""


class UnknownPlace(GridWatchError):
    """A report names a place that is not in the site (the API answers 404)."""


def _facts(place: Place, assignment: Assignment, index: SiteIndex) -> Facts:
    """Facts a new alert carries for messages, grouping and the API."""
    device = index.place_of(place.device_id) if place.device_id else None
    return Facts(
        address=address(index, place), address_en=address(index, place, lang="en"),
        building_id=place.building_id, compound_id=place.compound_id,
        kind=device.kind.value if device is not None else None, duty=assignment.duty_note,
        backup=assignment.backup, property_company=assignment.property_company,
        property_staff=list(assignment.property_staff),
        contacts=[c.id for c in assignment.contacts],
    )

# Alerts of one of these hazards in one building this close together are one incident:
# several detectors sensing the same fire or leak; a building losing power or network
# (offline, and a day later its gas and fire devices unprotected); a batch of devices
# fitted together running flat, or a vandal going from door to door (tamper).
INCIDENT_WINDOW_S = 600.0
GROUPED_BY_BUILDING = LIFE_SAFETY | FAULTS


class AlertService:
    """Applies transitions and actions; persists through a :class:`StateStore`."""

    def __init__(self, index: SiteIndex, table: DeviceTable, store: AlertBook) -> None:
        """Args: the site index, the device table (row → id) and the book of alerts
        (the SQLite state store in the service; :class:`MemoryAlertBook` in tests)."""
        self.index = index
        self.table = table
        self.store = store
        # The open alerts in memory: folding, grouping and the mute stages read them here.
        self.open = OpenAlerts()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        # The mute stages the escalation asks before each notice: the silences in force
        # or scheduled (the alarm path loads and updates them), and gateway outages.
        self.mutes = Mutes(Silencer(index), Inhibitor(index, self.open))
        # The incident each (building, hazard) has open: kept here so a mass outage (a
        # thousand devices offline in one sweep) costs a lookup per alert, not a scan.
        self._roots: dict[tuple[str, str], int] = {}
        # Changes not yet handed to listeners: when a list, changes wait here for the
        # owner of the transaction (the alarm path hands them on after the commit).
        self.deferred: list[AlertChange] | None = None
        # Called after a change is deferred (the owner hands it on at once, outside any
        # call of this service: a change it causes is deferred and handed on after).
        self.drain: Callable[[], None] | None = None
        self.reload()

    def reload(self) -> None:
        """Rebuild the in-memory indexes (open alerts, open incidents) from the store: at
        start, and after a transaction that changed them rolled back."""
        roots: dict[tuple[str, str], int] = {}
        self.open.load(self.store.open_alerts())
        for a in sorted(self.open.all(), key=lambda x: x.raised_at):
            if a.hazard in GROUPED_BY_BUILDING and a.facts.building_id and a.incident.parent is None:
                roots[(a.facts.building_id, a.hazard)] = a.id
        self._roots = roots

    def _save(self, alert: Alert, events: Sequence[AlertEvent] | list[AlertEvent] = ()) -> Alert:
        """Save through the book and keep the open-alert index up to date."""
        saved = self.store.save_alert(alert, events)
        self.open.put(saved)
        return saved

    def _get(self, alert_id: int) -> Alert | None:
        """An alert by id: open ones from memory."""
        return self.open.get(alert_id) or self.store.get_alert(alert_id)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after every persisted change (exceptions are logged, not raised)."""
        self._listeners.append(listener)

    def _emit(self, change: AlertChange) -> None:
        if self.deferred is not None:
            self.deferred.append(change)
            if self.drain is not None:
                self.drain()
            return
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
                dplace = self.index.place_of(device_id)
                if dplace is None:  # the registry and the site are built together; cannot happen
                    log.error("transition for unknown device %s", device_id)
                    continue
                key = alert_key(device_id, t.hazard)
                existing = self.open.open(key)
                recent = ((self.open.recently_closed(key, now) or self.store.latest_alert(key))
                          if existing is None and t.severity else None)
                place = place_of_device(dplace)
                # routed once, and only for an alert that may be new (a change of an
                # open alert keeps who it was routed to)
                assignment = (route(self.index, place, hazard=t.hazard.value, now=now)
                              if existing is None and t.severity is not None else None)
                alert, events = apply_transition(
                    existing, t, device_id=device_id, place_id=place.place_id,
                    grid_id=place.grid_id, assignee=assignment.assignee if assignment else None,
                    now=now, recent=recent,
                )
                if alert is None:
                    continue
                created = alert.id == 0
                if created and assignment is not None:
                    alert.facts = _facts(place, assignment, self.index)
                parent = None if alert.incident.parent is not None else self._incident_of(t)
                if parent is None and created and t.hazard in GROUPED_BY_BUILDING:
                    parent = self._building_incident(alert, place.building_id)
                if parent is not None:
                    alert.incident.parent = parent.id
                    events.append(AlertEvent(0, now, "system", "grouped",
                                             f"part of incident #{parent.id} ({parent.device_id})"))
                saved = self._save(alert, events)
                changes.append(AlertChange(saved, tuple(events), created))
                if (created and parent is None and t.hazard in GROUPED_BY_BUILDING
                        and place.building_id):
                    self._roots.setdefault((place.building_id, t.hazard.value), saved.id)
                if parent is not None:
                    parent.incident.children.append(saved.id)
                    changes.append(self._record(parent, "joined", f"#{saved.id} ({device_id}) is "
                                                "part of this incident", now))
        for c in changes:
            self._emit(c)
        return changes

    def _record(self, a: Alert, action: str, note: str, now: float) -> AlertChange:
        """Save an alert with one system event on its timeline (under the caller's lock)."""
        ev = AlertEvent(a.id, now, "system", action, note)
        return AlertChange(self._save(a, [ev]), (ev,), False)

    # -- silences ---------------------------------------------------------------------

    @property
    def silences(self) -> tuple[Silence, ...]:
        """The silences in force or scheduled."""
        return self.mutes.silencer.silences

    def set_silences(self, silences: Sequence[Silence], now: float) -> None:
        """Replace the silences in force or scheduled. Nothing is written into alerts:
        the escalation asks the mute stages before each notice, and records on an
        alert's timeline when a silence starts or stops holding it."""
        self.mutes.silencer.set(silences, now)

    def _building_incident(self, alert: Alert, building_id: str | None) -> Alert | None:
        """The incident a new alert joins: the latest alert of the same hazard in the same
        building that is not itself part of another, still open and active, raised at
        most ``INCIDENT_WINDOW_S`` before (several detectors of one building are one
        incident). Without one, the new alert becomes the building's incident."""
        if not building_id:
            return None
        key = (building_id, alert.hazard)
        root_id = self._roots.get(key)
        root = self._get(root_id) if root_id is not None else None
        if (root is not None and root.is_open and root.active and root.device_id != alert.device_id
                and 0 <= alert.raised_at - root.raised_at <= INCIDENT_WINDOW_S):
            return root
        self._roots.pop(key, None)  # the new alert takes its place once saved
        return None

    def _incident_of(self, t: Transition) -> Alert | None:
        """The open alert a new one joins: the rule core says ``incident:<row>`` when a
        second smoke detector of a household or unit alarms soon after a first."""
        if not t.detail.startswith("incident:"):
            return None
        try:
            first = self.table.ids[int(t.detail.split(":", 1)[1])]
        except (ValueError, IndexError):
            return None
        parent = self.open.open(alert_key(first, t.hazard))
        if parent is None or parent.incident.parent is not None:
            return None
        return parent

    def report(
        self,
        category: ReportCategory,
        place_id: str,
        *,
        reporter: str,
        now: float,
        severity: Severity = Severity.WARNING,
        note: str = "",
        photos: Sequence[str] = (),
    ) -> AlertChange:
        """A grid worker's patrol finding: a new alert, or one more report on the open one.

        Raises:
            UnknownPlace: ``place_id`` is not a household, unit or building of the site.
        """
        place = place_of_id(self.index, place_id)
        if place is None:
            raise UnknownPlace(f"no household, unit or building {place_id!r}")
        with self._lock:
            existing = self.open.open(report_key(place_id, category))
            assignment = route(self.index, place, hazard=category.value, now=now)
            alert, event = report(
                existing, category, place_id=place_id, grid_id=place.grid_id,
                assignee=assignment.assignee, severity=severity, reporter=reporter, note=note,
                photos=photos, now=now,
            )
            if existing is None:
                alert.facts = _facts(place, assignment, self.index)
            saved = self._save(alert, [event])
            self.store.audit(reporter, "report.create", f"alert/{saved.id}",
                             {"category": category.value, "place": place_id, "note": note}, ts=now)
        change = AlertChange(saved, (event,), existing is None)
        self._emit(change)
        return change

    def get(self, alert_id: int) -> Alert | None:
        """The alert as it is now."""
        return self._get(alert_id)

    def annotate(self, alert_id: int, event: AlertEvent, *,
                 escalation: Callable[[Escalated], Escalated] | None = None) -> None:
        """Add ``event`` to an alert's timeline and, from the escalation engine, change
        what it shows of its escalation (``escalation`` gets the record as stored, so a
        step never undoes another); listeners hear of it."""
        with self._lock:
            alert = self._get(alert_id)
            if alert is None:
                return
            if escalation is not None:
                alert.escalation = escalation(alert.escalation)
            saved = self._save(alert, [event])
        self._emit(AlertChange(saved, (event,), False))

    def system(
        self,
        hazard: SystemHazard,
        *,
        active: bool,
        severity: Severity,
        now: float,
        note: str = "",
    ) -> AlertChange | None:
        """Raise or clear an alert about the service itself (see :mod:`alerts.system`);
        None when nothing changes. It goes to the community head (else the deputy)."""
        community = self.index.site.community
        with self._lock:
            existing = self.open.open(system_key(hazard))
            if existing is None and not active:
                return None
            step = system_transition(
                existing, hazard, active=active, severity=severity,
                community_id=community.id, assignee=community.head or community.deputy,
                note=note, now=now,
            )
            if step is None:
                return None
            alert, event = step
            alert.facts.address = alert.facts.address or community.name
            alert.facts.address_en = alert.facts.address_en or community.name
            saved = self._save(alert, [event])
        change = AlertChange(saved, (event,), existing is None)
        self._emit(change)
        return change

    def retire(self, device_id: str, *, actor: str, now: float, note: str = "") -> AlertChange:
        """A device taken out of service (设备注销): its open alerts are closed with the
        reason on their timelines, and a closed ``device_retired`` record is kept at its
        place (the notice about it goes out through the escalation engine)."""
        dplace = self.index.place_of(device_id)
        if dplace is None:
            raise UnknownPlace(f"no device {device_id!r}")
        place = place_of_device(dplace)
        assignment = route(self.index, place, hazard="device_retired", now=now)
        closed: list[AlertChange] = []
        with self._lock:
            for a in self.open.of_device(device_id):
                a.status, a.active, a.updated_at = AlertStatus.CLOSED, False, now
                a.cleared_at = a.cleared_at or now
                ev = AlertEvent(a.id, now, actor, "closed", f"device retired. {note}".strip())
                closed.append(AlertChange(self._save(a, [ev]), (ev,), False))
            record = Alert(
                id=0, key=f"{device_id}:device_retired", hazard="device_retired",
                severity=Severity.INFO, status=AlertStatus.CLOSED, active=False,
                device_id=device_id, place_id=place.place_id, grid_id=place.grid_id,
                assignee=assignment.assignee, raised_at=now, updated_at=now, cleared_at=now,
                detail="retired",
            )
            record.facts = _facts(place, assignment, self.index)
            ev = AlertEvent(0, now, actor, "retired", note)
            change = AlertChange(self._save(record, [ev]), (ev,), True)
        for c in [*closed, change]:
            self._emit(c)
        return change

    def act(
        self,
        alert_id: int,
        action: str,
        *,
        actor: str,
        now: float,
        note: str = "",
        outcome: Outcome | None = None,
        photos: Sequence[str] = (),
        helpers: Sequence[str] = (),
    ) -> Alert | None:
        """A person's action; None when the alert does not exist.

        Acknowledging or marking on site an incident (a grouped parent) does the same
        for its children that are still raised.

        Raises:
            LifecycleError: the action is not allowed now.
        """
        changes: list[AlertChange] = []
        with self._lock:
            alert = self._get(alert_id)
            if alert is None:
                return None
            changed, event = act(alert, action, actor=actor, now=now, note=note, outcome=outcome,
                                 photos=photos, helpers=helpers)
            saved = self._save(changed, [event])
            self.store.audit(actor, f"alert.{action}", f"alert/{alert_id}",
                             {"note": note, "photos": list(photos)}, ts=now)
            changes.append(AlertChange(saved, (event,), False))
            if action in ("acknowledge", "on_site"):
                changes.extend(self._cascade(saved, action, actor, now))
        for c in changes:
            self._emit(c)
        return saved

    def _cascade(self, parent: Alert, action: str, actor: str, now: float) -> list[AlertChange]:
        out: list[AlertChange] = []
        for child_id in parent.incident.children:
            child = self._get(int(child_id))
            if child is None or child.status.value != "raised":
                continue
            changed, event = act(child, action, actor=actor, now=now,
                                 note=f"with incident #{parent.id}")
            out.append(AlertChange(self._save(changed, [event]), (event,), False))
        return out
