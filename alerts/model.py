"""The alert record: one per (device, hazard) while it lasts, and its timeline.

Layer: pure core. Plain dataclasses; stores persist them, the lifecycle changes
them, the API shows them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
        data: extra facts (address, escalation level, ...), JSON-serialisable.
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
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """True while a person still has to act."""
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


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
