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
from typing import Any

from alerts.book import AlertBook, OpenAlerts
from alerts.lifecycle import act, alert_key, apply_transition, report, report_key
from alerts.model import Alert, AlertEvent, AlertStatus, Outcome, ReportCategory
from alerts.noise import INHIBITED_HAZARDS, Silence, gateways_of, silence_for
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


def _facts(alert: Alert, place: Place, assignment: Assignment, index: SiteIndex) -> None:
    """Facts a new alert carries for messages, grouping and the API."""
    alert.data["address"] = address(index, place)
    alert.data["address_en"] = address(index, place, lang="en")
    alert.data["building_id"] = place.building_id
    alert.data["compound_id"] = place.compound_id
    alert.data["duty"] = assignment.duty_note
    device = index.place_of(place.device_id) if place.device_id else None
    if device is not None:
        alert.data["kind"] = device.kind.value
    if assignment.backup:
        alert.data["backup"] = assignment.backup
    if assignment.property_company:
        alert.data["property_company"] = assignment.property_company
    if assignment.property_staff:
        alert.data["property_staff"] = list(assignment.property_staff)
    if assignment.contacts:
        alert.data["contacts"] = [c.id for c in assignment.contacts]


# How long the devices behind a gateway that came back have to be heard again before
# their own offline alerts speak (a Zigbee device rejoins and reports within minutes).
GATEWAY_GRACE_S = 300.0
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
        # The open alerts in memory: folding, grouping and inhibition read them here.
        self.open = OpenAlerts()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        # Silences and maintenance windows in force or scheduled (the runtime loads and
        # updates them); the gateway each device is heard through.
        self.silences: list[Silence] = []
        self._phases: dict[int, str] = {}
        # Inhibited alerts waiting for their grace after the gateway came back, and the
        # incident each (building, hazard) has open: kept here so a mass outage (a
        # thousand devices offline in one sweep) costs a lookup per alert, not a scan.
        self._releases: dict[int, float] = {}
        self._roots: dict[tuple[str, str], int] = {}
        # Changes not yet handed to listeners: when a list, changes wait here for the
        # owner of the transaction (the alarm path hands them on after the commit).
        self.deferred: list[AlertChange] | None = None
        # Called after a change is deferred (the owner hands it on at once, outside any
        # call of this service: a change it causes is deferred and handed on after).
        self.drain: Callable[[], None] | None = None
        self.reload()
        self.gateway_of = gateways_of(index)
        self._behind: dict[str, list[str]] = {}
        for dev, gw in self.gateway_of.items():
            self._behind.setdefault(gw, []).append(dev)

    def reload(self) -> None:
        """Rebuild the in-memory indexes (open incidents, inhibition releases) from the
        store: at start, and after a transaction that changed them rolled back."""
        releases: dict[int, float] = {}
        roots: dict[tuple[str, str], int] = {}
        self.open.load(self.store.open_alerts())
        for a in sorted(self.open.all(), key=lambda x: x.raised_at):
            if "release_at" in a.data:
                releases[a.id] = float(a.data["release_at"])
            if a.hazard in GROUPED_BY_BUILDING and a.data.get("building_id") and not a.data.get("grouped_into"):
                roots[(a.data["building_id"], a.hazard)] = a.id
        self._releases, self._roots = releases, roots

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
                    _facts(alert, place, assignment, self.index)
                parent = None if alert.data.get("grouped_into") else self._incident_of(t)
                if parent is None and created and t.hazard in GROUPED_BY_BUILDING:
                    parent = self._building_incident(alert, place.building_id)
                if parent is not None:
                    alert.data["grouped_into"] = parent.id
                    events.append(AlertEvent(0, now, "system", "grouped",
                                             f"part of incident #{parent.id} ({parent.device_id})"))
                if created:
                    self._quiet_new(alert, events, now)
                saved = self._save(alert, events)
                changes.append(AlertChange(saved, tuple(events), created))
                if (created and parent is None and t.hazard in GROUPED_BY_BUILDING
                        and place.building_id):
                    self._roots.setdefault((place.building_id, t.hazard.value), saved.id)
                if t.hazard.value == "offline" and device_id in self._behind:
                    changes.extend(self._gateway_changed(saved, now))
                if parent is not None:
                    parent.data["children"] = [*parent.data.get("children", []), saved.id]
                    changes.append(self._record(parent, "joined", f"#{saved.id} ({device_id}) is "
                                                "part of this incident", now))
        for c in changes:
            self._emit(c)
        return changes

    def _record(self, a: Alert, action: str, note: str, now: float) -> AlertChange:
        """Save an alert with one system event on its timeline (under the caller's lock)."""
        ev = AlertEvent(a.id, now, "system", action, note)
        return AlertChange(self._save(a, [ev]), (ev,), False)

    # -- silences and inhibition -----------------------------------------------------

    def _quiet_new(self, alert: Alert, events: list[AlertEvent], now: float) -> None:
        """A new alert under a silence, or behind a gateway that is offline."""
        s = silence_for(self.silences, self.index, alert, now)
        if s is not None:
            alert.data["silenced_by"] = s.id
            events.append(AlertEvent(0, now, "system", "silenced", f"#{s.id} by {s.author}: {s.reason}"))
        gw = self.gateway_of.get(alert.device_id or "")
        if gw and alert.hazard in INHIBITED_HAZARDS:
            gw_alert = self.open.open(alert_key(gw, "offline"))
            if gw_alert is not None and gw_alert.active:
                alert.data["inhibited_by"] = gw_alert.id
                events.append(AlertEvent(0, now, "system", "inhibited",
                                         f"gateway {gw} is offline (#{gw_alert.id})"))

    def _gateway_changed(self, gw_alert: Alert, now: float) -> list[AlertChange]:
        """A gateway went offline: inhibit the offline alerts of the devices behind it
        that nobody has taken yet. It came back: give them ``GATEWAY_GRACE_S`` to be
        heard again (a device that reports clears by itself), then release the rest."""
        out: list[AlertChange] = []
        gw = gw_alert.device_id or ""
        n = 0
        for dev in self._behind.get(gw, []):
            for hazard in INHIBITED_HAZARDS:
                a = self.open.open(alert_key(dev, hazard))
                if a is None:
                    continue
                if gw_alert.active and (a.data.get("inhibited_by") or a.status is AlertStatus.RAISED):
                    n += 1
                    self._releases.pop(a.id, None)
                    if a.data.get("inhibited_by"):  # still or again behind this gateway
                        if a.data["inhibited_by"] != gw_alert.id or "release_at" in a.data:
                            a.data["inhibited_by"] = gw_alert.id
                            a.data.pop("release_at", None)
                            self._save(a, [])
                        continue
                    a.data["inhibited_by"] = gw_alert.id
                    out.append(self._record(a, "inhibited", f"gateway {gw} is offline (#{gw_alert.id})", now))
                elif not gw_alert.active and a.data.get("inhibited_by") == gw_alert.id:
                    a.data["release_at"] = now + GATEWAY_GRACE_S
                    self._releases[a.id] = now + GATEWAY_GRACE_S
                    self._save(a, [])
        if gw_alert.active and n:
            gw_alert.data["inhibits"] = n
            self._save(gw_alert, [])
        return out

    def release_inhibited(self, now: float) -> list[AlertChange]:
        """Release the alerts whose gateway came back ``GATEWAY_GRACE_S`` ago and that are
        still open: the device itself is not heard, and its own alert speaks now."""
        if not self._releases:  # the common case, without the lock
            return []
        changes: list[AlertChange] = []
        with self._lock:  # apply() changes _releases on other threads
            for alert_id in [i for i, t in self._releases.items() if t <= now]:
                self._releases.pop(alert_id, None)
                a = self._get(alert_id)
                if a is None or not a.is_open or not a.data.get("inhibited_by"):
                    continue
                gw = self.gateway_of.get(a.device_id or "", "?")
                a.data.pop("inhibited_by")
                a.data.pop("release_at", None)
                changes.append(self._record(a, "uninhibited",
                                            f"gateway {gw} is back; this device is still not heard", now))
        for c in changes:
            self._emit(c)
        return changes

    def set_silences(self, silences: Sequence[Silence], now: float) -> list[AlertChange]:
        """Replace the silences in force and apply them to open alerts: a silence that
        started covers the open alerts it matches; one that ended (or was lifted)
        releases them, and their escalation resumes."""
        changes: list[AlertChange] = []
        with self._lock:
            self.silences = [s for s in silences if not s.over(now)]
            self._phases = {s.id: s.state(now) for s in self.silences}
            by_id = {s.id: s for s in self.silences}
            for a in self.open.all():
                held = a.data.get("silenced_by")
                current = by_id.get(int(held)) if held else None
                if current is not None and current.active(now):
                    continue
                s = silence_for(self.silences, self.index, a, now)
                if s is not None:
                    a.data["silenced_by"] = s.id
                    changes.append(self._record(a, "silenced", f"#{s.id} by {s.author}: {s.reason}", now))
                elif held:
                    a.data.pop("silenced_by")
                    changes.append(self._record(a, "unsilenced", f"silence #{held} is over", now))
        for c in changes:
            self._emit(c)
        return changes

    def refresh_silences(self, now: float) -> list[AlertChange]:
        """Apply the silences' starts and expiries due by ``now`` (a comparison per
        silence when none started or ended since the last call)."""
        phases = {s.id: s.state(now) for s in self.silences}
        if phases == self._phases:
            return []
        return self.set_silences(self.silences, now)

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
        if parent is None or parent.data.get("grouped_into"):
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
                _facts(alert, place, assignment, self.index)
            saved = self._save(alert, [event])
            self.store.audit(reporter, "report.create", f"alert/{saved.id}",
                             {"category": category.value, "place": place_id, "note": note}, ts=now)
        change = AlertChange(saved, (event,), existing is None)
        self._emit(change)
        return change

    def get(self, alert_id: int) -> Alert | None:
        """The alert as it is now."""
        return self._get(alert_id)

    def annotate(self, alert_id: int, data: dict[str, Any], event: AlertEvent | None) -> None:
        """Merge ``data`` into an alert's data and add ``event`` to its timeline (the
        escalation engine records its steps this way); listeners hear of it."""
        with self._lock:
            alert = self._get(alert_id)
            if alert is None:
                return
            if data:
                alert.data.update(data)
            saved = self._save(alert, [event] if event else [])
        self._emit(AlertChange(saved, (event,) if event else (), False))

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
            alert.data.setdefault("address", community.name)
            alert.data.setdefault("address_en", community.name)
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
            _facts(record, place, assignment, self.index)
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
        for child_id in parent.data.get("children", []):
            child = self._get(int(child_id))
            if child is None or child.status.value != "raised":
                continue
            changed, event = act(child, action, actor=actor, now=now,
                                 note=f"with incident #{parent.id}")
            out.append(AlertChange(self._save(changed, [event]), (event,), False))
        return out
