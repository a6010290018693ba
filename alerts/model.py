"""The alert record: one per (device, hazard) while it lasts, and its timeline.

Layer: pure core. Plain dataclasses; stores persist them, the lifecycle changes
them, the API shows them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from alerts.rules.types import Severity


class AlertStatus(StrEnum):
    """Where an alert is in the four-step method (四步工作法)."""

    RAISED = "raised"  # 及时发现: raised and routed, nobody has acted yet
    ACKNOWLEDGED = "acknowledged"  # a person has taken it
    ON_SITE = "on_site"  # 迅速到场: the person is there
    RESOLVED = "resolved"  # 联合处置: handled, awaiting the follow-up visit
    CLOSED = "closed"  # 跟踪回访: followed up, done


# Statuses in which the alert still needs a person (one per key at most).
OPEN_STATUSES = frozenset({AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.ON_SITE})


class Outcome(StrEnum):
    """What the alert turned out to be (GB/T 45839 5.8.2: reason and outcome recorded)."""

    REAL_HAZARD = "real_hazard"
    FALSE_ALARM = "false_alarm"
    DEVICE_FAULT = "device_fault"  # becomes a repair ticket
    CLEARED_BY_ITSELF = "cleared_by_itself"


class ReportCategory(StrEnum):
    """What a grid worker found on patrol (DOMAIN.md: manual reports enter the same workflow)."""

    ILLEGAL_WIRING = "illegal_wiring"  # 乱拉电线
    BROKEN_UNIT_DOOR = "broken_unit_door"  # 楼宇门故障
    LEAKING_PIPE = "leaking_pipe"  # 水管漏水
    GAS_PIPE = "gas_pipe"  # 煤气管道
    BLOCKED_FIRE_EXIT = "blocked_fire_exit"  # 消防通道堵塞
    OTHER = "other"


@dataclass(slots=True)
class Facts:
    """Where an alert is and who stands behind the place, fixed when it is raised (for
    messages, grouping and the pages).

    Attributes:
        address, address_en: the place in words.
        building_id, compound_id: the building and compound of the place.
        kind: the device's kind (``smoke``, ``gas``...), for a sensor alert.
        duty: who is on duty and why (a substitute covers an absent worker).
        backup: the grid's assistant.
        property_company: the property company of the building.
        property_staff: its staff for the building.
        contacts: the household's emergency contacts (personal: redacted for others).
    """

    address: str = ""
    address_en: str = ""
    building_id: str | None = None
    compound_id: str | None = None
    kind: str | None = None
    duty: str = ""
    backup: str | None = None
    property_company: str | None = None
    property_staff: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Incident:
    """Alerts of one hazard in one building (or household, unit) close together are one
    incident: the first is the parent, and the others join it (their notices are the
    parent's)."""

    parent: int | None = None  # the alert this one is part of
    children: list[int] = field(default_factory=list)  # the alerts that joined this one


@dataclass(slots=True)
class Escalated:
    """How far the alert's escalation went (the steps and who was told are the
    escalation engine's; this is what the alert shows)."""

    level: int = 0  # the last step taken (0: the first notice)
    to: list[str] = field(default_factory=list)  # the levels that step named
    outside_grid: bool = False  # it reached the deputy or the head
    overdue: bool = False  # not resolved by its deadline


@dataclass(slots=True)
class RepairTicket:
    """A device fault for the property company (or maintenance) to repair (GB/T 45839
    5.12)."""

    status: str = "open"
    opened_at: float = 0.0
    opened_by: str = ""
    company: str | None = None
    device_id: str | None = None


@dataclass(slots=True)
class Handling:
    """What people did about the alert, beyond its status and timeline."""

    acknowledged_at: float | None = None  # first acknowledged or marked on site
    acknowledged_by: str | None = None
    helpers: list[str] = field(default_factory=list)  # who helped resolve it
    repair_ticket: RepairTicket | None = None


@dataclass(slots=True)
class Flap:
    """A condition that keeps coming and going (:class:`alerts.lifecycle.FlapPolicy`)."""

    toggles: list[float] = field(default_factory=list)  # recent raise/clear times
    flapping: bool = False


@dataclass(slots=True)
class Source:
    """Where an alert came from when not from a sensor: a patrol report (who, how many
    times, the first note and photos) or the service itself."""

    kind: str = "sensor"  # sensor, patrol or system
    reporter: str | None = None
    reports: int = 0
    note: str = ""
    photos: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Alert:
    """A hazard that needs a person.

    Attributes:
        id: database id (0 before it is stored).
        key: dedup key, ``<device_id>:<hazard>`` for sensor alerts.
        hazard: the rule's hazard name (or a patrol finding's category).
        severity: current severity.
        status: lifecycle status.
        active: True while the condition is still true.
        device_id: the device, or None for a patrol report.
        place_id: household, unit or building id.
        grid_id: the grid responsible for the place.
        assignee: worker id the alert is assigned to.
        raised_at: event time the condition began, epoch s.
        updated_at: last change, epoch s.
        cleared_at: when the condition went away, or None.
        value: the reading that raised it (or last raised it higher).
        detail: rule hint (``evacuate``, ``device_alarm``, ...).
        outcome: what it turned out to be, once resolved.
        facts: where it is and who stands behind the place.
        incident: the incident it is part of, or the alerts that joined it.
        escalation: how far its escalation went.
        handling: what people did beyond the status (acknowledged by, helpers, repair).
        flap: whether it keeps coming and going.
        source: where it came from when not from a sensor (a patrol report, the service).

    Whether its notices are held (a silence, a gateway outage) is not part of the
    alert: the mute stages (:mod:`alerts.mute`) decide that when a notice is due.
    """

    id: int
    key: str
    hazard: str
    severity: Severity
    status: AlertStatus
    active: bool
    device_id: str | None
    place_id: str
    grid_id: str
    assignee: str | None
    raised_at: float
    updated_at: float
    cleared_at: float | None = None
    value: float | None = None
    detail: str = ""
    outcome: Outcome | None = None
    facts: Facts = field(default_factory=Facts)
    incident: Incident = field(default_factory=Incident)
    escalation: Escalated = field(default_factory=Escalated)
    handling: Handling = field(default_factory=Handling)
    flap: Flap = field(default_factory=Flap)
    source: Source = field(default_factory=Source)

    @property
    def is_open(self) -> bool:
        """True while a person still has to act."""
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def copy(self) -> Alert:
        """A copy whose records can be changed without touching this one."""
        h = self.handling
        return replace(
            self,
            facts=replace(self.facts, property_staff=list(self.facts.property_staff),
                          contacts=list(self.facts.contacts)),
            incident=replace(self.incident, children=list(self.incident.children)),
            escalation=replace(self.escalation, to=list(self.escalation.to)),
            handling=replace(h, helpers=list(h.helpers),
                             repair_ticket=replace(h.repair_ticket) if h.repair_ticket else None),
            flap=replace(self.flap, toggles=list(self.flap.toggles)),
            source=replace(self.source, photos=list(self.source.photos)),
        )

    def records(self) -> dict[str, Any]:
        """The typed records, as stored (one JSON document)."""
        return {name: asdict(getattr(self, name)) for name in RECORDS}


# The typed records of an alert, by attribute name (each a dataclass, stored as JSON).
RECORDS = ("facts", "incident", "escalation", "handling", "flap", "source")


# Keys of the free-form data of alerts stored before the typed records: read once, moved
# into the records (a data directory of an older version opens as it was).
_OLD_FACT_KEYS = ("address", "address_en", "building_id", "compound_id", "kind", "duty", "backup",
                  "property_company", "property_staff", "contacts")


def records_from(stored: dict[str, Any]) -> dict[str, Any]:
    """The records of a stored document (:meth:`Alert.records`, or the free-form data of
    an older version), as keyword arguments of :class:`Alert`."""
    if "facts" in stored and "data" not in stored:
        h = dict(stored.get("handling") or {})
        ticket = h.pop("repair_ticket", None)
        return {"facts": Facts(**stored["facts"]), "incident": Incident(**stored.get("incident") or {}),
                "escalation": Escalated(**stored.get("escalation") or {}),
                "handling": Handling(**h, repair_ticket=RepairTicket(**ticket) if ticket else None),
                "flap": Flap(**stored.get("flap") or {}), "source": Source(**stored.get("source") or {})}
    d = dict(stored.get("data") or {}) if "facts" in stored else dict(stored)
    ticket = d.get("repair_ticket")
    kind = str(d.get("source") or "sensor")
    return {
        "facts": Facts(**stored["facts"]) if "facts" in stored
        else Facts(**{k: d[k] for k in _OLD_FACT_KEYS if k in d}),
        "incident": Incident(**stored["incident"]) if "incident" in stored
        else Incident(parent=d.get("grouped_into"), children=[int(x) for x in d.get("children", [])]),
        "escalation": Escalated(**stored["escalation"]) if "escalation" in stored
        else Escalated(level=int(d.get("escalation_level", 0)), to=list(d.get("escalated_to", [])),
                       outside_grid=d.get("escalated") == "outside_grid",
                       overdue=bool(d.get("overdue", False))),
        "handling": Handling(acknowledged_at=d.get("acknowledged_at"), acknowledged_by=d.get("acknowledged_by"),
                             helpers=list(d.get("helpers", [])),
                             repair_ticket=RepairTicket(**ticket) if isinstance(ticket, dict) else None),
        "flap": Flap(toggles=[float(x) for x in d.get("toggles", [])], flapping=bool(d.get("flapping"))),
        "source": Source(kind=kind, reporter=d.get("reporter"), reports=int(d.get("reports", 0)),
                         note=str(d.get("note", "")) if kind != "sensor" else "",
                         photos=list(d.get("photos", []))),
    }


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One entry of an alert's timeline: who did what, when.

    ``actor`` is a worker id, ``system`` for the rule core, or ``admin``.
    """

    alert_id: int
    ts: float
    actor: str
    action: str  # raised, severity, cleared, reactivated, acknowledged, on_site, resolved, ...
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
