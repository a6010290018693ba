"""What the rule core emits: transitions of a (device, hazard) condition.

Layer: pure core. This is the contract between the rule core and the alert side.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import NamedTuple


class Hazard(StrEnum):
    """A condition the rule core watches, one per device at most."""

    GAS = "gas"  # combustible gas, %LEL
    CO = "co"  # carbon monoxide
    SMOKE = "smoke"  # smoke alarm
    HEAT = "heat"  # fixed temperature / rate of rise
    WATER_LEAK = "water_leak"
    DOOR_OPEN = "door_open"  # a (unit) door held open too long
    DOOR_NIGHT = "door_night"  # elderly-alone household door opened at night
    WELFARE = "welfare"  # elderly-alone household: no door opening for a long time
    OFFLINE = "offline"  # no message for longer than the heartbeat allows
    UNPROTECTED = "unprotected"  # a gas or fire device out of contact for 24 h
    TAMPER = "tamper"  # tampered with or removed from its base
    BATTERY_LOW = "battery_low"
    STUCK = "stuck"  # the same analog value for days
    IMPLAUSIBLE = "implausible"  # physically implausible readings


class Severity(StrEnum):
    """How urgent a raised condition is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

# Hazards that threaten life: they reach several levels at once and a person must
# acknowledge them even after the condition cleared by itself.
LIFE_SAFETY = frozenset({Hazard.GAS, Hazard.CO, Hazard.SMOKE, Hazard.HEAT})
# Hazards that are faults of the device rather than of the place (GB/T 45839 5.5).
FAULTS = frozenset(
    {Hazard.OFFLINE, Hazard.UNPROTECTED, Hazard.TAMPER, Hazard.BATTERY_LOW, Hazard.STUCK,
     Hazard.IMPLAUSIBLE}
)


class Transition(NamedTuple):
    """A change of one (device, hazard) condition (a named tuple: the rule core builds
    thousands per second, and a frozen dataclass costs several times as much to build).

    Attributes:
        device_idx: registry row of the device.
        hazard: which condition.
        severity: the new severity, or None when the condition cleared.
        ts: event time of the change, epoch seconds.
        value: the reading that caused it (NaN when none applies).
        detail: a short machine-readable hint for the message (``evacuate``,
            ``device_alarm``, ``rate_of_rise``, ...), empty when none.
    """

    device_idx: int
    hazard: Hazard
    severity: Severity | None
    ts: float
    value: float = math.nan
    detail: str = ""

    @property
    def cleared(self) -> bool:
        """True when the condition went away."""
        return self.severity is None
