"""What every rule function works on: state, parameters, the registry and the emitter.

Layer: pure core. Rule functions take a :class:`Ctx` and the rows they apply to
(device indices, their profiles, event times); each device appears at most once
per call, so plain fancy-index assignment is a correct scatter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.rules.emit import Emitter
from alerts.rules.params import RuleParams
from alerts.rules.state import H, State
from alerts.rules.types import Hazard
from sensors.registry import DeviceTable

Idx = npt.NDArray[np.intp]
Prof = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]

GAS = H[Hazard.GAS]
CO = H[Hazard.CO]
SMOKE = H[Hazard.SMOKE]
HEAT = H[Hazard.HEAT]
WATER = H[Hazard.WATER_LEAK]
DOOR_OPEN = H[Hazard.DOOR_OPEN]
DOOR_NIGHT = H[Hazard.DOOR_NIGHT]
WELFARE = H[Hazard.WELFARE]
OFFLINE = H[Hazard.OFFLINE]
UNPROTECTED = H[Hazard.UNPROTECTED]
TAMPER = H[Hazard.TAMPER]
BATTERY = H[Hazard.BATTERY_LOW]
STUCK = H[Hazard.STUCK]
IMPLAUSIBLE = H[Hazard.IMPLAUSIBLE]

NO_DETAIL = ("", "", "", "", "")


@dataclass(slots=True)
class Ctx:
    """The engine's parts, handed to rule functions."""

    st: State
    p: RuleParams
    table: DeviceTable
    em: Emitter
    welfare_dev: npt.NDArray[np.bool_]  # doors of elderly-alone households

    def lower_due(self, d: Idx, due: F64) -> None:
        """Make the sweep look at ``d`` no later than ``due`` (NaN: no deadline)."""
        self.st.next_due[d] = np.fmin(self.st.next_due[d], due)


def keep_or(since: F64, running: npt.NDArray[np.bool_], t: F64) -> F64:
    """A timer: kept where already running, started at ``t`` where it starts, NaN where off."""
    return np.where(running, np.where(np.isnan(since), t, since), np.nan)
