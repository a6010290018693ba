"""The rule engine: readings and absences in, transitions of (device, hazard) conditions out.

Layer: pure core. No asyncio, no I/O, no clock: every call takes ``now``.

Every rule runs in :mod:`alerts.rules.kernel`, scalar code compiled by Numba over the
state arrays of :mod:`alerts.rules.state`: a batch row by row, the sweep over the
devices whose deadline has passed, and the commands. This class holds the state and
the registry's arrays in the kernel's dtypes, turns the kernel's output rows into
:class:`Transition` objects and groups smoke alarms of one household or unit into one
incident (a rule across devices).

Event time: a batch's rows are applied per device in ``(ts, seq)`` order; a row that
is not newer than the newest already applied to its device (out of order, or the same
``(ts, seq)`` again: the first one counts) is counted in ``late_dropped`` and moves no
rule, so late and repeated deliveries never rewrite the past.

Absence rules (offline, unprotected, welfare, door held open, hold timers, hush
re-arm, battery reminders, the end of an intermittent leak) run in
:meth:`RuleEngine.sweep` over the devices whose ``next_due`` has passed; ``next_due``
is a lower bound kept by every rule, so a sweep over a million quiet devices is one
pass of comparisons.

Determinism: the same snapshot and the same calls (batches, ``now``, commands) give
the same state and transitions; nothing here reads a clock or a random source.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.rules import kernel as kern
from alerts.rules.params import NAMES, RuleParams, build_params
from alerts.rules.state import CODE_SEVERITY, HAZARDS, H, State
from alerts.rules.types import Hazard, Transition
from sensors.batch import ReadingBatch
from sensors.fields import CO_PPM, FIELDS, LEL_PCT, TEMP_C, DeviceKind
from sensors.registry import KIND_CODE, KIND_CODES, DeviceTable

F64 = npt.NDArray[np.float64]
SMOKE = H[Hazard.SMOKE]
DOOR_CODE = KIND_CODE[DeviceKind.DOOR]
# physical range of each field (a flag: 0 or 1); outside it a value is implausible
LO = np.array([0.0 if f.boolean else f.lo for f in FIELDS])
HI = np.array([1.0 if f.boolean else f.hi for f in FIELDS])
BOOLEAN = np.array([f.boolean for f in FIELDS])
_PRIMARY = {DeviceKind.GAS: LEL_PCT, DeviceKind.CO: CO_PPM, DeviceKind.HEAT: TEMP_C,
            DeviceKind.SMOKE: TEMP_C}
_SPELLS = {DeviceKind.GAS: kern.H_GAS, DeviceKind.CO: kern.H_CO,
           DeviceKind.WATER: kern.H_WATER}
# per kind code: the analog field the stuck rule watches, and the hazard whose short
# spells the intermittent rule counts (-1: none)
KIND_TABLE = np.array([(_PRIMARY.get(k, -1), _SPELLS.get(k, -1)) for k in KIND_CODES],
                      dtype=np.int64)


def _arg(a: npt.NDArray[Any], dtype: type[np.generic]) -> npt.NDArray[Any]:
    """``a`` as the kernel's one compiled specialisation takes it: ``dtype``,
    C-contiguous and writeable (Numba compiles read-only or strided arrays, such as a
    journal's ``frombuffer`` views, separately: tens of seconds on the hot path). No copy
    when it already is."""
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, dtype=dtype, order="C")


def _rows_by_group(group: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.intp]]:
    """CSR of device rows per group number (negative groups left out)."""
    n = int(group.max()) + 1 if len(group) and group.max() >= 0 else 0
    order = np.argsort(group, kind="stable")
    order = order[group[order] >= 0]
    counts = np.bincount(group[order], minlength=n)
    return order.astype(np.int32), np.concatenate(([0], np.cumsum(counts))).astype(np.intp)


class RuleEngine:
    """The rule core over per-device state arrays.

    Attributes:
        table: the device registry.
        params: per-device parameters (profiles).
        st: the state arrays.
        late_dropped: readings not applied because they were not newer than the last one.
        max_future_s: rows whose ``ts`` is further than this ahead of ``now`` use ``recv_ts``.
    """

    def __init__(self, table: DeviceTable, params: RuleParams | None = None) -> None:
        self.table = table
        self.params = params if params is not None else build_params(table)
        n = len(table)
        n_hh = int(table.household.max()) + 1 if n and table.household.max() >= 0 else 0
        n_unit = int(table.unit.max()) + 1 if n and table.unit.max() >= 0 else 0
        self.st = State.new(n, n_hh, n_unit)
        p = self.params
        self.st.maint[:] = p.values["maintenance"][p.profile] > 0
        self._hh_rows, self._hh_ptr = _rows_by_group(table.household)
        self._mark = np.zeros(n, dtype=np.uint8)  # scratch of the kernel, zero between calls
        self._welfare_dev = (table.kind == DOOR_CODE) & table.elderly_alone & (
            table.household >= 0)
        self.late_dropped = 0
        self.max_future_s = 300.0
        # the kernel's view of the parameters: one row per profile, columns in NAMES order
        self._pmat = np.ascontiguousarray(np.column_stack([p.values[k] for k in NAMES]))
        self._floors = np.array([p.floor["gas"], p.floor["heat"], p.floor["battery"]])
        self._out = np.empty((1024, 6))  # the kernel's transitions (it grows this)
        # the registry's arrays in the kernel's dtypes (no copy where they already are)
        self._prof = _arg(p.profile, np.int32)
        self._hb = _arg(table.heartbeat_s, np.float64)
        self._kind = _arg(table.kind, np.int8)
        self._elderly = _arg(table.elderly_alone, np.bool_)
        self._household = _arg(table.household, np.int32)

    # --- public state ---------------------------------------------------------------

    @property
    def last_seen(self) -> F64:
        """Event time of the newest message per device (NaN: never seen)."""
        return self.st.last_seen

    @property
    def maintenance(self) -> npt.NDArray[np.bool_]:
        """Which devices are in maintenance / test mode (read only by convention)."""
        return self.st.maint

    def nbytes_per_device(self) -> tuple[float, float]:
        """(bytes of rule state per device, the state and parameters' profile number;
        bytes of everything the engine keeps per device: that plus its indexes and
        scratch: repeat marks, welfare flags, household index)."""
        n = max(len(self.table), 1)
        state = self.st.nbytes_per_device() + self.params.profile.itemsize
        extra = sum(a.nbytes for a in (self._mark, self._welfare_dev, self._hh_rows))
        return state, state + extra / n

    def next_due(self) -> float:
        """The earliest deadline the sweep waits for (inf: none; a lower bound)."""
        return float(self.st.next_due.min()) if len(self.st.next_due) else np.inf

    def condition(self, device_idx: int, hazard: Hazard) -> int:
        """The current condition code of one (device, hazard), see :mod:`alerts.rules.state`."""
        return int(self.st.cond[H[hazard]][device_idx])

    def snapshot(self) -> dict[str, npt.NDArray[np.generic]]:
        """Everything needed to restore hold timers, doses and welfare clocks after a
        restart: copies of the state arrays, by name."""
        snap = self.st.snapshot()
        snap["late_dropped"] = np.array([self.late_dropped], dtype=np.int64)
        return snap

    def restore(self, snap: dict[str, npt.NDArray[np.generic]]) -> None:
        """Load a snapshot taken from an engine over the same device table."""
        self.st.restore(snap)
        if "late_dropped" in snap:
            self.late_dropped = int(snap["late_dropped"][0])

    def _start(self, now: float) -> None:
        if np.isnan(self.st.epoch[0]):
            self.st.epoch[0] = now

    def _transitions(self, k: int) -> list[Transition]:
        """The first ``k`` rows of the kernel's output as transitions."""
        if not k:
            return []
        o = self._out[:k]
        dev = o[:, kern.O_DEV].astype(np.int64).tolist()
        hz = o[:, kern.O_HAZARD].astype(np.int64).tolist()
        code = o[:, kern.O_CODE].astype(np.int64).tolist()
        det = o[:, kern.O_DETAIL].astype(np.int64).tolist()
        sev, haz, names = CODE_SEVERITY, HAZARDS, kern.DETAILS
        return [Transition(dv, haz[h], sev[cd], t, v, names[dd]) for dv, h, cd, t, v, dd in zip(
            dev, hz, code, o[:, kern.O_TS].tolist(), o[:, kern.O_VALUE].tolist(), det,
            strict=True)]

    # --- readings -------------------------------------------------------------------

    def evaluate(self, batch: ReadingBatch, now: float) -> list[Transition]:
        """Apply a batch of readings; return the transitions they cause."""
        self._start(now)
        if len(batch) == 0:
            return []
        st, p = self.st, self.params
        self._out, k, dropped = kern.apply_batch(
            st.fblock, st.bblock, st.next_due, st.gas_lel, st.last_seq, st.cond.T, self._out,
            self._mark, self._pmat, self._prof, self._hb, self._kind, KIND_TABLE,
            self._welfare_dev, self._elderly, self._household, st.away, p.co_ppm, p.co_rate,
            LO, HI, BOOLEAN, self._floors, p.tz_offset_s,
            # one compiled specialisation: the same array types whatever the caller built
            _arg(batch.device_idx, np.int32), _arg(batch.ts, np.float64),
            _arg(batch.recv_ts, np.float64), _arg(batch.seq, np.int64),
            # (fields, rows), C-contiguous: a batch of one row is both C and F contiguous
            _arg(batch.values.T, np.float64), float(now), float(self.max_future_s))
        self.late_dropped += int(dropped)
        out = self._transitions(int(k))
        raised = [(tr.ts, tr.device_idx) for tr in out
                  if tr.hazard is Hazard.SMOKE and tr.detail == "device_alarm"
                  and st.cond[SMOKE][tr.device_idx] == 3]
        if raised:
            self._group_smoke(raised, out)
        return out

    def _group_smoke(self, raised: list[tuple[float, int]], out: list[Transition]) -> None:
        """Two smoke alarms of one household or unit within ``smoke_group_s`` make one
        incident: the first device's condition escalates (code 4, ``escalated``) and the
        later one's carries ``incident:<first device idx>``."""
        st, table = self.st, self.table
        cond = st.cond[SMOKE]

        def one(dev: int, ts: float, detail: str) -> None:
            cond[dev] = 4
            out.append(Transition(dev, Hazard.SMOKE, CODE_SEVERITY[4], ts, 1.0, detail))

        groups = ((st.hh_grp_ts, st.hh_grp_dev, table.household),
                  (st.unit_grp_ts, st.unit_grp_dev, table.unit))
        for ts, dev in sorted(raised):
            if cond[dev] != 3:
                continue
            window = self.params.device("smoke_group_s", dev)
            for grp_ts, grp_dev, of in groups:
                g = int(of[dev])
                anchor = int(grp_dev[g]) if g >= 0 else -1
                if anchor >= 0 and anchor != dev and ts - grp_ts[g] <= window and cond[anchor] >= 3:
                    if cond[anchor] == 3:
                        one(anchor, ts, "escalated")
                    one(dev, ts, f"incident:{anchor}")
                    break
            else:
                for grp_ts, grp_dev, of in groups:
                    g = int(of[dev])
                    if g >= 0:
                        grp_ts[g] = ts
                        grp_dev[g] = dev

    # --- absence --------------------------------------------------------------------

    def sweep(self, now: float) -> list[Transition]:
        """Absence rules for every device whose next deadline has passed."""
        self._start(now)
        st, p = self.st, self.params
        self._out, k = kern.sweep(
            st.fblock, st.bblock, st.next_due, st.gas_lel, st.cond.T, self._out, self._pmat,
            self._prof, self._hb, p.co_ppm, p.co_rate, self._welfare_dev, self._household,
            st.away, float(st.epoch[0]), float(now))
        return self._transitions(int(k))

    # --- commands -------------------------------------------------------------------

    def _command(self, op: int, device_idx: int, now: float, ts: float | None = None) -> list[
            Transition]:
        self._start(now)
        st = self.st
        if len(self._out) < kern.MAX_PER_ROW:  # the kernel does not check bounds
            self._out = np.empty((kern.MAX_PER_ROW, 6))
        k = kern.command(op, int(device_idx), float(now if ts is None else ts), float(now),
                         st.fblock, st.bblock, st.next_due, st.cond.T, self._out, self._pmat,
                         self._prof, self._hb)
        return self._transitions(int(k))

    def availability(self, device_idx: int, online: bool, ts: float, now: float) -> list[Transition]:
        """An MQTT availability message: offline raises OFFLINE at once; online clears it
        when the device is not stale."""
        return self._command(kern.OP_ONLINE if online else kern.OP_OFFLINE, device_idx, now, ts)

    def set_away(self, household_row: int, away: bool, now: float) -> list[Transition]:
        """A household checks in as away (no welfare alerts) or back (welfare clock restarts)."""
        self._start(now)
        self.st.away[household_row] = away
        rows = self._hh_rows[self._hh_ptr[household_row]:self._hh_ptr[household_row + 1]]
        out: list[Transition] = []
        for d in rows[self._welfare_dev[rows]].tolist():
            out += self._command(kern.OP_AWAY if away else kern.OP_BACK, d, now)
        return out

    def set_maintenance(self, device_idx: int, on: bool, now: float) -> list[Transition]:
        """Maintenance / test mode: readings still move the rules, no condition is raised;
        entering clears what is raised (detail ``maintenance``)."""
        return self._command(kern.OP_MAINT_ON if on else kern.OP_MAINT_OFF, device_idx, now)

    def hush(self, device_idx: int, now: float) -> list[Transition]:
        """Silence a smoke alarm (the caller checks who may, GB/T 45839 5.4.4): INFO
        ``hushed`` until ``smoke_hush_s`` passes, then critical again if still on."""
        return self._command(kern.OP_HUSH, device_idx, now)

    def acknowledge(self, device_idx: int, hazard: Hazard, now: float) -> list[Transition]:
        """A person acknowledged the condition: a wet leak sensor then stays a warning."""
        if hazard is not Hazard.WATER_LEAK:
            self._start(now)
            return []
        return self._command(kern.OP_ACK, device_idx, now)


__all__ = ["HAZARDS", "RuleEngine", "RuleParams", "build_params"]
