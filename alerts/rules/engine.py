"""The rule engine: readings and absences in, transitions of (device, hazard) conditions out.

Layer: pure core. No asyncio, no I/O, no clock: every call takes ``now``.

Event time: a batch's rows are applied per device in ``(ts, seq)`` order; a row
that is not newer than the newest already applied to its device (out of order,
or a duplicate) is counted in ``late_dropped`` and moves no rule, so late and
repeated deliveries never rewrite the past. A batch is applied in *rounds*: round
k holds the k-th new reading of each device, so each round is a plain vectorised
update where every device appears once. That is the readable form of the hot path;
by default a batch runs through :mod:`alerts.rules.kernel`, the same rules as scalar
code compiled by Numba, row by row (``compiled = False`` selects the vectorised
form; tests compare the two).

Absence rules (offline, unprotected, welfare, door held open, hold timers, hush
re-arm, battery reminders) run in :meth:`RuleEngine.sweep` over the devices whose
``next_due`` has passed; ``next_due`` is a lower bound kept by every rule, so a
sweep over a million quiet devices is one comparison and one ``flatnonzero``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.rules import doors, hazards, health
from alerts.rules import kernel as kern
from alerts.rules.ctx import GAS, SMOKE, WATER, WELFARE, Ctx, Idx
from alerts.rules.emit import Emitter
from alerts.rules.params import NAMES, RuleParams, build_params
from alerts.rules.state import CODE_SEVERITY, HAZARDS, H, State
from alerts.rules.types import Hazard, Transition
from sensors.batch import ReadingBatch
from sensors.fields import (
    BATTERY_LOW,
    BATTERY_PCT,
    CO_PPM,
    LEL_PCT,
    N_FIELDS,
    OPEN,
    TEMP_C,
    WATER_LEAK,
)
from sensors.fields import (
    SMOKE as SMOKE_COL,
)
from sensors.fields import (
    TAMPER as TAMPER_COL,
)
from sensors.registry import DeviceTable

F64 = npt.NDArray[np.float64]
ValueRule = Callable[[Ctx, Idx, npt.NDArray[np.int32], F64, F64], None]
# Readings of one column that drive one rule, in the order they are applied.
_VALUE_RULES: tuple[tuple[int, ValueRule], ...] = (
    (LEL_PCT, hazards.gas_apply), (CO_PPM, hazards.co_apply), (TEMP_C, hazards.heat_apply),
    (WATER_LEAK, hazards.water_apply), (OPEN, doors.door_apply),
)



def _where(mask: npt.NDArray[np.bool_]) -> Idx | None:
    """Row numbers where ``mask`` holds, or None when none does."""
    return mask.nonzero()[0] if mask.any() else None


@dataclass(slots=True)
class _Rows:
    """One round of a batch (views into the permuted batch): device, event time, seq,
    plausible values (impossible ones NaN), the device's main analog value (stuck rule),
    whether a row had an impossible value, the first such field and its raw value."""

    d: Idx
    t: F64
    q: npt.NDArray[np.int64]
    vals: F64
    main: F64
    bad: npt.NDArray[np.bool_]
    first: Idx
    raw_first: F64


def _rows_by_group(group: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.int32], Idx]:
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
        late_dropped: readings not applied because they were not newer than the last one.
        max_future_s: rows whose ``ts`` is further than this ahead of ``now`` use ``recv_ts``.
        compiled: batches run through the compiled kernel (default) or, False, the
            vectorised rules.
    """

    def __init__(self, table: DeviceTable, params: RuleParams | None = None) -> None:
        self.table = table
        self.params = params if params is not None else build_params(table)
        n = len(table)
        n_hh = int(table.household.max()) + 1 if n and table.household.max() >= 0 else 0
        n_unit = int(table.unit.max()) + 1 if n and table.unit.max() >= 0 else 0
        self.st = State.new(n, n_hh, n_unit)
        self.st.maint[:] = self.params.values["maintenance"][self.params.profile] > 0
        self._hh_rows, self._hh_ptr = _rows_by_group(table.household)
        self._any_maint = bool(self.st.maint.any())
        self._mark = np.zeros(n, dtype=np.uint8)  # scratch of the kernel, zero between calls
        self._welfare_dev = (table.kind == doors.DOOR_CODE) & table.elderly_alone & (
            table.household >= 0)
        self.late_dropped = 0
        self.max_future_s = 300.0
        p = self.params
        # the kernel's view of the parameters: one row per profile, columns in NAMES order
        self._pmat = np.ascontiguousarray(np.column_stack([p.values[k] for k in NAMES]))
        self._floors = np.array([p.floor["gas"], p.floor["heat"], p.floor["battery"]])
        self._out = np.empty((1024, 6))  # the kernel's transitions (it grows this)
        # the registry's arrays in the kernel's dtypes (no copy where they already are)
        self._table_arrays = (p.profile.astype(np.int32, copy=False),
                              table.heartbeat_s.astype(np.float64, copy=False),
                              table.kind.astype(np.int8, copy=False))
        self._elderly = table.elderly_alone.astype(np.bool_, copy=False)
        self._household = table.household.astype(np.int32, copy=False)
        self.compiled = True  # False: the vectorised form (tests compare the two)

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

    def condition(self, device_idx: int, hazard: Hazard) -> int:
        """The current condition code of one (device, hazard), see :mod:`alerts.rules.state`."""
        return int(self.st.cond[H[hazard]][device_idx])

    def snapshot(self) -> dict[str, npt.NDArray[np.generic]]:
        """Everything needed to restore hold timers, doses and welfare clocks after a restart."""
        snap = self.st.snapshot()
        snap["late_dropped"] = np.array([self.late_dropped], dtype=np.int64)
        return snap

    def restore(self, snap: dict[str, npt.NDArray[np.generic]]) -> None:
        """Load a snapshot taken from an engine over the same device table."""
        self.st.restore(snap)
        self._any_maint = bool(self.st.maint.any())
        if "late_dropped" in snap:
            self.late_dropped = int(snap["late_dropped"][0])

    def _ctx(self) -> Ctx:
        return Ctx(self.st, self.params, self.table, Emitter(self.st, self._any_maint),
                   self._welfare_dev)

    def _start(self, now: float) -> None:
        if np.isnan(self.st.epoch[0]):
            self.st.epoch[0] = now

    # --- readings -------------------------------------------------------------------

    def evaluate(self, batch: ReadingBatch, now: float) -> list[Transition]:
        """Apply a batch of readings; return the transitions they cause."""
        self._start(now)
        c = self._ctx()
        if len(batch) == 0:
            return c.em.out
        if self.compiled:
            self._apply_compiled(c, batch, now)
            self._group_smoke(c)
            return c.em.out
        acc = self._accepted(batch, now)
        if acc is not None:
            d, ts, seq, rows = acc
            self._apply_full(c, d, ts, seq, rows, batch.values, now)
            self._group_smoke(c)
        return c.em.out

    def _apply_compiled(self, c: Ctx, batch: ReadingBatch, now: float) -> None:
        """The batch through :func:`alerts.rules.kernel.apply_batch`; its transitions
        into ``c.em`` (smoke alarms raised too, for grouping)."""
        st, p = self.st, self.params
        values = batch.values
        self._out, k, dropped = kern.apply_batch(
            st.fblock, st.bblock, st.next_due, st.gas_lel, st.last_seq, st.cond.T, self._out,
            self._mark, self._pmat, *self._table_arrays, health.PRIMARY, self._welfare_dev,
            self._elderly, self._household, st.away, p.co_ppm, p.co_rate, health.LO,
            health.HI, health.BOOLEAN, self._floors, p.tz_offset_s,
            # one compiled specialisation: the same dtypes whatever the caller built
            batch.device_idx.astype(np.int32, copy=False), batch.ts.astype(np.float64, copy=False),
            batch.recv_ts.astype(np.float64, copy=False), batch.seq.astype(np.int64, copy=False),
            # (fields, rows), C-contiguous: a batch of one row is both C and F contiguous
            values.astype(np.float64, order="F", copy=False).T, float(now),
            float(self.max_future_s))
        self.late_dropped += int(dropped)
        if not k:
            return
        o = self._out[:k]
        dev = o[:, kern.O_DEV].astype(np.int64).tolist()
        hz = o[:, kern.O_HAZARD].astype(np.int64).tolist()
        code = o[:, kern.O_CODE].astype(np.int64).tolist()
        det = o[:, kern.O_DETAIL].astype(np.int64).tolist()
        sev, haz, names = CODE_SEVERITY, HAZARDS, kern.DETAILS
        out = [Transition(dv, haz[h], sev[cd], t, v, names[dd]) for dv, h, cd, t, v, dd in zip(
            dev, hz, code, o[:, kern.O_TS].tolist(), o[:, kern.O_VALUE].tolist(), det,
            strict=True)]
        c.em.out.extend(out)
        c.em.smoke_raised.extend(
            (tr.ts, tr.device_idx) for tr, h, cd, dd in zip(out, hz, code, det, strict=True)
            if h == SMOKE and cd == 3 and dd == kern.D_DEVICE_ALARM)

    def _accepted(self, batch: ReadingBatch, now: float) -> tuple[
            Idx, F64, npt.NDArray[np.int64], Idx | None] | None:
        """(device, event time, seq, batch row or None for all) of the rows newer than
        what their device already applied; None when there is none. A ``ts`` too far
        ahead of ``now`` (or missing) falls back to the receive time."""
        st = self.st
        d = batch.device_idx.astype(np.intp)
        ts = batch.ts
        bad_ts = ~(ts <= now + self.max_future_s)
        if bad_ts.any():
            ts = np.where(bad_ts, batch.recv_ts, ts)
        valid: npt.NDArray[np.bool_] | None = None
        if d.min() < 0 or d.max() >= len(self.table) or np.isnan(ts).any():
            valid = (d >= 0) & (d < len(self.table)) & ~np.isnan(ts)
            d = np.where(valid, d, 0)  # any valid index; the row is dropped below
        seq = batch.seq
        lt = st.last_ts.take(d)
        keep = ts > lt
        if valid is not None:
            keep &= valid
        if keep.all():
            return d, ts, seq, None
        tie = ts == lt
        if valid is not None:
            tie &= valid
        if tie.any():
            keep |= tie & (seq > st.last_seq.take(d))
        self.late_dropped += int(len(keep) - np.count_nonzero(keep))
        rows = keep.nonzero()[0]
        if not len(rows):
            return None
        return d[rows], ts[rows], seq[rows], rows

    def _apply_full(self, c: Ctx, d: Idx, ts: F64, seq: npt.NDArray[np.int64],
                    sel: Idx | None, values: F64, now: float) -> None:
        """Every rule on every row, round after round (the vectorised form of the engine)."""
        order, bounds = self._rounds(d, ts, seq)
        if order is not None:
            d, ts, seq = d[order], ts[order], seq[order]
            sel = order if sel is None else sel[order]
        if sel is not None:
            values = values.take(sel, axis=0)
        values = np.ascontiguousarray(values)
        n = len(d)
        prim = health.PRIMARY.take(self.table.kind.take(d))
        clean, any_bad, first = health.plausible(values)
        main = np.where(prim >= 0, clean.ravel().take(np.arange(n) * N_FIELDS + prim), np.nan)
        raw_first = values.ravel().take(np.arange(n) * N_FIELDS + first)
        for a, b in itertools.pairwise(bounds):
            sl = slice(a, b)
            self._round(c, _Rows(d[sl], ts[sl], seq[sl], clean[sl], main[sl], any_bad[sl],
                                 first[sl], raw_first[sl]), now)

    def _rounds(self, d: Idx, ts: F64, seq: npt.NDArray[np.int64]) -> tuple[Idx | None, list[int]]:
        """Put the rows in rounds: round k holds the k-th row of each device in ``(ts,
        seq)`` order. Returns (the row order, None when it is the given one; the rounds'
        bounds in that order). A row with the same ``(ts, seq)`` as an earlier one of its
        device is dropped (counted in ``late_dropped``)."""
        n = len(d)
        in_multi = np.bincount(d, minlength=len(self.table)).take(d) > 1
        if not in_multi.any():
            return None, [0, n]
        single = (~in_multi).nonzero()[0]
        m = in_multi.nonzero()[0]
        m = m[np.lexsort((seq[m], ts[m], d[m]))]
        dm, tm, qm = d[m], ts[m], seq[m]
        dup = (dm[1:] == dm[:-1]) & (tm[1:] == tm[:-1]) & (qm[1:] == qm[:-1])
        if dup.any():  # the same (ts, seq) twice: the first one counts
            self.late_dropped += int(dup.sum())
            m = m[np.concatenate(([True], ~dup))]
            dm = d[m]
        start = np.concatenate(([True], dm[1:] != dm[:-1]))
        first = np.maximum.accumulate(np.where(start, np.arange(len(m)), 0))
        rank = np.arange(len(m)) - first
        by_rank = np.argsort(rank, kind="stable")
        counts = np.bincount(rank)
        counts[0] += len(single)
        order = np.concatenate((single, m[by_rank]))
        return order, [0, *np.cumsum(counts).tolist()]

    def _round(self, c: Ctx, r: _Rows, now: float) -> None:
        st = self.st
        d, t, q = r.d, r.t, r.q  # accepted rows only (see evaluate and _rounds)
        st.last_ts[d] = t
        st.last_seq[d] = q
        prof = self.params.profile.take(d)
        health.seen(c, d, prof, t, now)
        vals = r.vals
        health.implausible_apply(c, d, t, r.bad, r.first, r.raw_first)
        pct, flag = vals[:, BATTERY_PCT], vals[:, BATTERY_LOW]
        if (i := _where(~np.isnan(pct) | ~np.isnan(flag))) is not None:
            health.battery_apply(c, d[i], prof[i], t[i], pct[i], flag[i])
        col = vals[:, TAMPER_COL]
        if (i := _where(~np.isnan(col))) is not None:
            health.tamper_apply(c, d[i], t[i], col[i])
        for column, fn in _VALUE_RULES:
            v = vals[:, column]
            if (i := _where(~np.isnan(v))) is not None:
                fn(c, d[i], prof[i], t[i], v[i])
        v = vals[:, SMOKE_COL]
        if (i := _where(~np.isnan(v))) is not None:
            hazards.smoke_apply(c, d[i], t[i], v[i])
        v = r.main
        if (i := _where(~np.isnan(v))) is not None:
            health.stuck_apply(c, d[i], prof[i], t[i], v[i])
        if (i := _where(c.welfare_dev.take(d))) is not None:
            doors.welfare_step(c, d[i], prof[i], t[i])
            c.lower_due(d[i], doors.welfare_dues(c, d[i], prof[i]))

    def _group_smoke(self, c: Ctx) -> None:
        """Two smoke alarms of one household or unit within ``smoke_group_s`` make one
        incident: the first device's condition escalates (code 4, ``escalated``) and the
        later one's carries ``incident:<first device idx>``."""
        st, table = self.st, self.table
        for ts, dev in sorted(c.em.smoke_raised):
            if st.cond[SMOKE][dev] != 3:
                continue
            window = self.params.device("smoke_group_s", dev)
            for grp_ts, grp_dev, g in (
                (st.hh_grp_ts, st.hh_grp_dev, int(table.household[dev])),
                (st.unit_grp_ts, st.unit_grp_dev, int(table.unit[dev])),
            ):
                if g < 0:
                    continue
                anchor = int(grp_dev[g])
                if (anchor >= 0 and anchor != dev and ts - grp_ts[g] <= window
                        and st.cond[SMOKE][anchor] >= 3):
                    if st.cond[SMOKE][anchor] == 3:
                        c.em.one(4, anchor, SMOKE, ts, 1.0, "escalated")
                    c.em.one(4, dev, SMOKE, ts, 1.0, f"incident:{anchor}")
                    break
            else:
                for grp_ts, grp_dev, g in (
                    (st.hh_grp_ts, st.hh_grp_dev, int(table.household[dev])),
                    (st.unit_grp_ts, st.unit_grp_dev, int(table.unit[dev])),
                ):
                    if g >= 0:
                        grp_ts[g] = ts
                        grp_dev[g] = dev

    # --- absence --------------------------------------------------------------------

    def sweep(self, now: float) -> list[Transition]:
        """Absence rules for every device whose next deadline has passed."""
        self._start(now)
        c = self._ctx()
        d = (self.st.next_due <= now).nonzero()[0]
        if not len(d):
            return c.em.out
        self.st.next_due[d] = np.inf  # devices in maintenance wait for set_maintenance(off)
        active = ~self.st.maint[d]
        d = d[active] if not active.all() else d
        if not len(d):
            return c.em.out
        prof = self.params.profile[d]
        t = np.full(len(d), now)
        health.offline_step(c, d, prof, now)
        health.battery_remind(c, d, prof, now)
        hazards.gas_step(c, d, prof, t)
        hazards.co_step(c, d, prof, t)
        hazards.smoke_step(c, d, t)
        hazards.water_step(c, d, prof, t)
        doors.door_step(c, d, prof, t)
        w = doors.welfare_devices(c, d)
        if w.any():
            i = w.nonzero()[0]
            doors.welfare_step(c, d[i], prof[i], t[i])
        self.st.next_due[d] = self._dues(c, d, prof, w)
        return c.em.out

    def _dues(self, c: Ctx, d: Idx, prof: npt.NDArray[np.int32],
              welfare: npt.NDArray[np.bool_]) -> F64:
        """The exact next deadline of devices ``d`` (inf: none)."""
        st = self.st
        due = health.offline_dues(c, d, prof)
        due = np.fmin(due, health.battery_dues(c, d))
        g = st.cond[GAS][d]
        w_due, c_due, r_due = hazards.gas_dues(c, d, prof)
        due = np.fmin(due, np.where(g < 2, w_due, np.nan))
        due = np.fmin(due, np.where(g < 3, c_due, np.nan))
        due = np.fmin(due, np.where(g > 0, r_due, np.nan))
        due = np.fmin(due, hazards.co_dues(c, d, prof))
        due = np.fmin(due, np.where(st.cond[SMOKE][d] == 1, st.until[d], np.nan))
        wc = st.cond[WATER][d]
        w_due, c_due = hazards.water_dues(c, d, prof)
        due = np.fmin(due, np.where(wc < 2, w_due, np.nan))
        due = np.fmin(due, np.where((wc < 3) & ~st.water_ack[d], c_due, np.nan))
        due = np.fmin(due, doors.door_dues(c, d, prof))
        if welfare.any():
            i = welfare.nonzero()[0]
            due[i] = np.fmin(due[i], doors.welfare_dues(c, d[i], prof[i]))
        return np.where(np.isnan(due), np.inf, due)

    # --- commands -------------------------------------------------------------------

    def availability(self, device_idx: int, online: bool, ts: float, now: float) -> list[Transition]:
        """An MQTT availability message: offline raises OFFLINE at once; online clears it
        when the device is not stale."""
        self._start(now)
        c = self._ctx()
        st = self.st
        d = np.array([device_idx], dtype=np.intp)
        t = np.array([ts])
        if online:
            health.seen(c, d, self.params.profile[d], t, now)
        else:
            code = st.cond[H[Hazard.OFFLINE]][d]
            c.em.emit(H[Hazard.OFFLINE], d, np.where(code == 0, 2, code), t, np.nan,
                      ("", "", "availability", "", ""))
        st.next_due[device_idx] = -np.inf
        return c.em.out

    def set_away(self, household_row: int, away: bool, now: float) -> list[Transition]:
        """A household checks in as away (no welfare alerts) or back (welfare clock restarts)."""
        self._start(now)
        c = self._ctx()
        st = self.st
        st.away[household_row] = away
        d = self._hh_rows[self._hh_ptr[household_row]:self._hh_ptr[household_row + 1]].astype(
            np.intp)
        d = d[doors.welfare_devices(c, d)]
        if away:
            c.em.emit(WELFARE, d, np.zeros(len(d), dtype=np.int8), now, np.nan,
                      ("away",) * 5)
        else:
            st.w_base[d] = np.fmax(st.w_base[d], now)
        st.next_due[d] = -np.inf
        return c.em.out

    def set_maintenance(self, device_idx: int, on: bool, now: float) -> list[Transition]:
        """Maintenance / test mode: readings still move the rules, no condition is raised;
        entering clears what is raised (detail ``maintenance``)."""
        self._start(now)
        c = self._ctx()
        st = self.st
        if on and not st.maint[device_idx]:
            for h in (st.cond[:, device_idx] > 0).nonzero()[0].tolist():
                c.em.one(0, device_idx, h, now, np.nan, "maintenance")
        st.maint[device_idx] = on
        self._any_maint = on or bool(st.maint.any())
        st.next_due[device_idx] = -np.inf
        return c.em.out

    def hush(self, device_idx: int, now: float) -> list[Transition]:
        """Silence a smoke alarm (the caller checks who may, GB/T 45839 5.4.4): INFO
        ``hushed`` until ``smoke_hush_s`` passes, then critical again if still on."""
        self._start(now)
        c = self._ctx()
        st = self.st
        if st.cond[SMOKE][device_idx] >= 3:
            st.until[device_idx] = now + self.params.device("smoke_hush_s", device_idx)
            c.em.one(1, device_idx, SMOKE, now, 1.0, "hushed")
            st.next_due[device_idx] = -np.inf
        return c.em.out

    def acknowledge(self, device_idx: int, hazard: Hazard, now: float) -> list[Transition]:
        """A person acknowledged the condition: a wet leak sensor then stays a warning."""
        self._start(now)
        if hazard is Hazard.WATER_LEAK and self.st.cond[WATER][device_idx] > 0:
            self.st.water_ack[device_idx] = True
            self.st.next_due[device_idx] = -np.inf
        return []


__all__ = ["HAZARDS", "RuleEngine", "RuleParams", "build_params"]
