"""What the alert side asks the notifier to deliver, and the notifier's interface.

Layer: pure core. The escalation engine (:mod:`alerts.escalation`) and the alert
service decide *who* is told *what* and *when*; a :class:`Notifier` (the dispatcher
in :mod:`alerts.notify.dispatcher`) delivers it through each person's channels
(apprise URLs) and the MQTT integration topic, records every attempt, and never
blocks its caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from alerts.model import Alert
from alerts.routing import Recipient


class NoticeType(StrEnum):
    """The notice types of GB/T 45839-2025 5.10.4 (plus the workflow's own)."""

    ALARM = "alarm"  # 报警: a hazard was raised (or raised higher)
    FAULT = "fault"  # 故障: a device fault (offline, battery, tamper, ...)
    ALARM_CLEARED = "alarm_cleared"  # 报警解除: the condition went away
    FAULT_RECOVERED = "fault_recovered"  # 故障恢复
    DEVICE_RETIRED = "device_retired"  # 设备注销
    ESCALATION = "escalation"  # not acknowledged in time: told to the next level
    REMINDER = "reminder"  # repeat until acknowledged
    OVERDUE = "overdue"  # resolution deadline passed
    INCIDENT_UPDATE = "incident_update"  # more detectors joined an incident (rate-limited)


@dataclass(frozen=True, slots=True)
class Notice:
    """One message about one alert to some people.

    Attributes:
        alert: the alert as it is now (its ``data`` carries address, reading, ...).
        notice: what kind of message this is.
        recipients: who is told; each is delivered to independently.
        created_at: epoch seconds (the service clock) when it was decided; the
            latency of a notice is measured from the reading to this and on to delivery.
        reason: why (``step 1: grid_leader``, ``repeat 3``, ...), for the record.
        level: the escalation level index the notice belongs to (0 = first).
    """

    alert: Alert
    notice: NoticeType
    recipients: tuple[Recipient, ...]
    created_at: float
    reason: str = ""
    level: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class Notifier(Protocol):
    """Delivers notices without blocking the caller (queue and return)."""

    def submit(self, notice: Notice) -> None:
        """Queue a notice for delivery; must return at once and never raise for delivery."""
        ...


class NullNotifier:
    """A notifier that keeps what it is given (tests, and a service with no channels)."""

    def __init__(self) -> None:
        """Starts empty."""
        self.notices: list[Notice] = []

    def submit(self, notice: Notice) -> None:
        """Keep the notice."""
        self.notices.append(notice)


__all__ = ["Notice", "NoticeType", "Notifier", "NullNotifier"]
