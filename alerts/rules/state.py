"""The rule core's per-device state, as NumPy arrays, with snapshot and restore.

Layer: pure core. Every timer is an event time in epoch seconds (float64, NaN when
not running); ``cond`` holds one condition code per (hazard, device):

=====  ===============================================================
code   meaning
=====  ===============================================================
0      not raised
1      info (a hushed smoke alarm)
2      warning
3      critical
4      critical, escalated (gas at the evacuate level; smoke confirmed by a
       second detector of the same household or unit)
=====  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from alerts.rules.types import Hazard, Severity

HAZARDS: tuple[Hazard, ...] = tuple(Hazard)
H: dict[Hazard, int] = {h: i for i, h in enumerate(HAZARDS)}
CODE_SEVERITY: tuple[Severity | None, ...] = (
    None, Severity.INFO, Severity.WARNING, Severity.CRITICAL, Severity.CRITICAL,
)

F64 = npt.NDArray[np.float64]


def _nan(n: int) -> F64:
    return np.full(n, np.nan, dtype=np.float64)


@dataclass(slots=True)
class State:
    """All mutable rule state. Arrays of length ``n`` are per device; ``away`` and
    ``hh_*`` are per household row, ``unit_*`` per unit row."""

    last_seen: F64
    last_ts: F64  # event time of the newest applied reading (-inf: none)
    last_seq: npt.NDArray[np.int64]
    cond: npt.NDArray[np.int8]  # (len(HAZARDS), n): one contiguous row per hazard
    next_due: F64  # lower bound of the next absence deadline; sweep looks here only
    maint: npt.NDArray[np.bool_]
    water_ack: npt.NDArray[np.bool_]
    welfare_blind: npt.NDArray[np.bool_]
    gas_ws: F64  # above the warning level since
    gas_cs: F64  # above the critical level since
    gas_clr: F64  # below the clear level since
    gas_lel: npt.NDArray[np.float32]  # last %LEL, for messages
    co_dose: F64  # dose at co_t (1.0 = alarm with the default curve)
    co_t: F64
    co_ppm: F64  # last ppm (held until the next reading)
    co_clr: F64  # below co_clear_ppm since
    heat_c: F64  # last temperature
    heat_t: F64
    wet_since: F64
    open_since: F64
    w_base: F64  # welfare clock: last door activity or clock restart
    until: F64  # smoke: hush ends; door: night warning ends
    remind_at: F64  # battery: next daily reminder
    stuck_val: F64
    stuck_since: F64
    away: npt.NDArray[np.bool_]
    hh_grp_ts: F64
    hh_grp_dev: npt.NDArray[np.int32]
    unit_grp_ts: F64
    unit_grp_dev: npt.NDArray[np.int32]
    epoch: F64  # shape (1,): first ``now`` the engine saw (base for never-seen devices)

    @classmethod
    def new(cls, n: int, n_households: int, n_units: int) -> State:
        """Fresh state: nothing seen, nothing raised."""
        return cls(
            last_seen=_nan(n),
            last_ts=np.full(n, -np.inf),
            last_seq=np.full(n, np.iinfo(np.int64).min, dtype=np.int64),
            cond=np.zeros((len(HAZARDS), n), dtype=np.int8),
            next_due=np.full(n, -np.inf),
            maint=np.zeros(n, dtype=np.bool_),
            water_ack=np.zeros(n, dtype=np.bool_),
            welfare_blind=np.zeros(n, dtype=np.bool_),
            gas_ws=_nan(n), gas_cs=_nan(n), gas_clr=_nan(n),
            gas_lel=np.full(n, np.nan, dtype=np.float32),
            co_dose=np.zeros(n), co_t=_nan(n), co_ppm=_nan(n), co_clr=_nan(n),
            heat_c=_nan(n), heat_t=_nan(n),
            wet_since=_nan(n), open_since=_nan(n), w_base=_nan(n), until=_nan(n),
            remind_at=_nan(n), stuck_val=_nan(n), stuck_since=_nan(n),
            away=np.zeros(n_households, dtype=np.bool_),
            hh_grp_ts=_nan(n_households), hh_grp_dev=np.full(n_households, -1, dtype=np.int32),
            unit_grp_ts=_nan(n_units), unit_grp_dev=np.full(n_units, -1, dtype=np.int32),
            epoch=_nan(1),
        )

    def snapshot(self) -> dict[str, npt.NDArray[np.generic]]:
        """Copies of every array, by name."""
        return {f.name: getattr(self, f.name).copy() for f in fields(self)}

    def restore(self, snap: dict[str, npt.NDArray[np.generic]]) -> None:
        """Load a snapshot taken from state of the same shape.

        Raises:
            ValueError: a name is missing or an array has another shape or dtype.
        """
        for f in fields(self):
            cur = getattr(self, f.name)
            new = snap.get(f.name)
            if new is None:
                raise ValueError(f"snapshot lacks {f.name!r}")
            if new.shape != cur.shape:
                raise ValueError(f"snapshot {f.name!r}: shape {new.shape} != {cur.shape}")
            setattr(self, f.name, np.array(new, dtype=cur.dtype, copy=True))

    def nbytes_per_device(self) -> float:
        """Bytes of state per device (household and unit arrays included)."""
        n = len(self.last_seen)
        return float(sum(getattr(self, f.name).nbytes for f in fields(self))) / max(n, 1)
