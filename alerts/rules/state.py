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
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.rules.kernel import BOOL_BLOCK, FLOAT_BLOCK, HAZARD_NAMES
from alerts.rules.types import Hazard, Severity

HAZARDS: tuple[Hazard, ...] = tuple(Hazard(name) for name in HAZARD_NAMES)
H: dict[Hazard, int] = {h: i for i, h in enumerate(HAZARDS)}
CODE_SEVERITY: tuple[Severity | None, ...] = (
    None, Severity.INFO, Severity.WARNING, Severity.CRITICAL, Severity.CRITICAL,
)

F64 = npt.NDArray[np.float64]

# The float64 and bool per-device arrays are columns of one block each, a row per
# device, in the kernel's order (alerts.rules.kernel.FLOAT_BLOCK, BOOL_BLOCK); ``cond``
# is the transpose of a (device, hazard) block. The kernel reads one device's state from
# a few cache lines instead of one line per array. ``next_due`` stays a plain array.
_BLOCKS = ("fblock", "bblock")
# state added after snapshots were first kept, with its fresh value
_ADDED: dict[str, float] = {"sp_last": np.nan, "sp_n": np.nan, "water_int": False}


def _nan(n: int) -> F64:
    return np.full(n, np.nan, dtype=np.float64)


@dataclass(slots=True)
class State:
    """All mutable rule state. Arrays of length ``n`` are per device; ``away`` and
    ``hh_*`` are per household row, ``unit_*`` per unit row."""

    last_seen: F64
    last_ts: F64  # event time of the newest applied reading (-inf: none)
    last_seq: npt.NDArray[np.int64]
    cond: npt.NDArray[np.int8]  # (len(HAZARDS), n), a view of a (n, len(HAZARDS)) block
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
    sp_last: F64  # intermittent rule: when the last hazard spell began
    sp_n: F64  # intermittent rule: spells in the current run
    water_int: npt.NDArray[np.bool_]  # the raised water condition is intermittent
    away: npt.NDArray[np.bool_]
    hh_grp_ts: F64
    hh_grp_dev: npt.NDArray[np.int32]
    unit_grp_ts: F64
    unit_grp_dev: npt.NDArray[np.int32]
    epoch: F64  # shape (1,): first ``now`` the engine saw (base for never-seen devices)
    fblock: F64  # (n, len(FLOAT_BLOCK)): the float arrays above are its columns
    bblock: npt.NDArray[np.bool_]  # (n, len(BOOL_BLOCK)): likewise

    @property
    def arrays(self) -> list[str]:
        """The names of the state arrays (not the blocks that hold some of them)."""
        return [f.name for f in fields(self) if f.name not in _BLOCKS]

    @classmethod
    def new(cls, n: int, n_households: int, n_units: int) -> State:
        """Fresh state: nothing seen, nothing raised."""
        fblock = np.full((n, len(FLOAT_BLOCK)), np.nan)
        cols = dict(zip(FLOAT_BLOCK, fblock.T, strict=True))
        cols["last_ts"][:] = -np.inf
        cols["co_dose"][:] = 0.0
        bblock = np.zeros((n, len(BOOL_BLOCK)), dtype=np.bool_)
        flags: dict[str, Any] = dict(zip(BOOL_BLOCK, bblock.T, strict=True))
        return cls(
            **cols,
            **flags,
            next_due=np.full(n, -np.inf),
            last_seq=np.full(n, np.iinfo(np.int64).min, dtype=np.int64),
            cond=np.zeros((n, len(HAZARDS)), dtype=np.int8).T,
            gas_lel=np.full(n, np.nan, dtype=np.float32),
            away=np.zeros(n_households, dtype=np.bool_),
            hh_grp_ts=_nan(n_households), hh_grp_dev=np.full(n_households, -1, dtype=np.int32),
            unit_grp_ts=_nan(n_units), unit_grp_dev=np.full(n_units, -1, dtype=np.int32),
            epoch=_nan(1),
            fblock=fblock,
            bblock=bblock,
        )

    def snapshot(self) -> dict[str, npt.NDArray[np.generic]]:
        """Copies of every array, by name."""
        return {name: getattr(self, name).copy() for name in self.arrays}

    def restore(self, snap: dict[str, npt.NDArray[np.generic]]) -> None:
        """Load a snapshot taken from state of the same shape. A snapshot from before
        the intermittent rule (no ``sp_last``, ``sp_n``, ``water_int``) loads with those
        fresh.

        Raises:
            ValueError: a name is missing or an array has another shape or dtype.
        """
        for name in self.arrays:
            new = snap.get(name)
            if new is None:
                if name in _ADDED:
                    continue
                raise ValueError(f"snapshot lacks {name!r}")
            cur = getattr(self, name)
            if new.shape != cur.shape:
                raise ValueError(f"snapshot {name!r}: shape {new.shape} != {cur.shape}")
        for name in self.arrays:  # in place: the blocks' rows stay the named arrays
            cur = getattr(self, name)
            if name in snap:
                cur[...] = np.asarray(snap[name]).astype(cur.dtype)
            else:
                cur[...] = _ADDED[name]

    def nbytes_per_device(self) -> float:
        """Bytes of state per device (household and unit arrays included)."""
        n = len(self.last_seen)
        return float(sum(getattr(self, name).nbytes for name in self.arrays)) / max(n, 1)
