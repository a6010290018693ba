"""What the API needs from the running service, as a protocol (the runtime provides it).

Layer: adapters. Keeps the API independent of the composition root.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from alerts.model import Alert, Outcome, ReportCategory
from alerts.noise import Silence
from alerts.rules.types import Severity
from alerts.service import AlertChange
from ingest.mqtt import MqttIngest
from ingest.pipeline import IngestPipeline
from sensors.live import LiveState
from sensors.registry import DeviceTable
from store.notify import NotifyStore
from store.protocol import ReadingStore
from store.state import StateStore
from store.users import UserStore
from topology.index import SiteIndex


class AlertActions(Protocol):
    """Alert reads and people's actions (the runtime commits actions through its one
    writer of the alarm side)."""

    def get(self, alert_id: int) -> Alert | None:
        """The alert as committed."""
        ...

    def subscribe(self, listener: Callable[[AlertChange], None]) -> None:
        """Hear of every committed change."""
        ...

    def act(self, alert_id: int, action: str, *, actor: str, now: float | None = None,
            note: str = "", outcome: Outcome | None = None, photos: Sequence[str] = (),
            helpers: Sequence[str] = ()) -> Alert | None:
        """A person's action; None when the alert does not exist."""
        ...

    def report(self, category: ReportCategory, place_id: str, *, reporter: str,
               now: float | None = None, severity: Severity = Severity.WARNING, note: str = "",
               photos: Sequence[str] = ()) -> AlertChange:
        """A patrol finding."""
        ...

    def suppression(self, alert: Alert) -> dict[str, Any] | None:
        """What holds the alert's notices now (a silence, a gateway outage: the mute
        stages), or None."""
        ...


class AlarmCommands(Protocol):
    """People's commands on devices, households and silences (each commits as one
    transaction of the alarm side, audited)."""

    def set_maintenance(self, device_id: str, on: bool, *, actor: str, note: str = "") -> bool:
        """Maintenance / test mode on or off; returns whether it is on."""
        ...

    def hush(self, device_id: str, *, actor: str, note: str = "") -> bool:
        """Hush a sounding smoke alarm; False when it was not sounding."""
        ...

    def retire_device(self, device_id: str, *, actor: str, note: str = "") -> dict[str, Any]:
        """Take a device out of service."""
        ...

    def set_away(self, household_id: str, away: bool, *, actor: str, note: str = "") -> bool | None:
        """A household away or back; None without devices."""
        ...

    def add_silence(self, silence: Silence, *, actor: str) -> Silence:
        """Store a silence and apply it."""
        ...

    def end_silence(self, silence: Silence, *, actor: str) -> Silence:
        """Lift a silence now."""
        ...

    def retired(self) -> set[str]:
        """Devices out of service."""
        ...


class ApiContext(Protocol):
    """The parts of a running GridWatch the API reads and drives."""

    index: SiteIndex
    table: DeviceTable
    live: LiveState
    readings: ReadingStore
    state: StateStore
    notify_store: NotifyStore
    users: UserStore
    pipeline: IngestPipeline
    ingest: MqttIngest
    engine: Any
    settings: Any
    clock: Any
    counters: Any

    @property
    def commands(self) -> AlarmCommands:
        """People's commands (the alarm path)."""
        ...

    @property
    def alerts(self) -> AlertActions:
        """Alert reads and actions."""
        ...

    def faults(self) -> list[dict[str, Any]]:
        """Faults present that can delay an alarm (name, severity, since, note)."""
        ...

    def sweep(self) -> list[AlertChange]:
        """Run the absence rules now."""
        ...
