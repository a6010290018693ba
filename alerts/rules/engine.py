"""The rule engine: readings and absences in, transitions of (device, hazard) conditions out.

Layer: pure core. No asyncio, no I/O, no clock: every call takes ``now``.

Event time: a batch's rows are applied per device in ``(ts, seq)`` order; a row
that is not newer than the newest already applied to its device (out of order,
or a duplicate) is counted in ``late_dropped`` and moves no rule, so late and
repeated deliveries never rewrite the past. A batch is applied in *rounds*: round
k holds the k-th new reading of each device, so each round is a plain vectorised
update where every device appears once. Each rule family runs only on the rows of
devices not quiet in it or bringing a rough value (:mod:`alerts.rules.families`);
``fast = False`` runs every rule on every row, for tests to compare.

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
from alerts.rules import families as fam
from alerts.rules.ctx import GAS, SMOKE, WATER, WELFARE, Ctx, Idx
from alerts.rules.emit import Emitter
from alerts.rules.params import RuleParams, build_params
from alerts.rules.state import HAZARDS, H, State
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


# The value families' rules, in the order of families.VALUE_FAMILIES: (bit, field, rule).
_FAMILY_RULES: tuple[tuple[int, int, ValueRule], ...] = tuple(
    (bit, col, fn) for (bit, col), fn in zip(fam.VALUE_FAMILIES, (
        hazards.gas_apply, hazards.co_apply, hazards.heat_apply, hazards.water_apply,
        doors.door_apply), strict=True))
assert tuple(c for c, _ in _VALUE_RULES) == tuple(c for _, c in fam.VALUE_FAMILIES)


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
    """Vectorised rule core over per-device state arrays.

    Attributes:
        table: the device registry.
        params: per-device parameters (profiles).
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
        self.st.maint[:] = self.params.values["maintenance"][self.params.profile] > 0
        self._hh_rows, self._hh_ptr = _rows_by_group(table.household)
        self._any_maint = bool(self.st.maint.any())
        self._mark = np.zeros(n, dtype=np.uint16)  # scratch of _rounds
        self._welfare_dev = (table.kind == doors.DOOR_CODE) & table.elderly_alone & (
            table.household >= 0)
        self.late_dropped = 0
        self.max_future_s = 300.0
        self._static = fam.static_bits(self._welfare_dev, self.params)
        # one bit per rule family: set where the device is not known to be quiet in it
        self._bits = self._static.astype(np.uint16)
        self._calm_lo, self._calm_hi = fam.calm_bounds(self.params)
        self.fast = True  # False: every row runs every rule (tests compare the two)

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
        scratch: family bits, repeat marks, welfare and static flags, household index)."""
        n = max(len(self.table), 1)
        state = self.st.nbytes_per_device() + self.params.profile.itemsize
        extra = sum(a.nbytes for a in (self._bits, self._mark, self._static, self._welfare_dev,
                                       self._hh_rows))
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
        self._bits = fam.family_bits(self.st, self._static, np.arange(len(self.table)))
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
        acc = self._accepted(batch, now)
        if acc is not None:
            d, ts, seq, rows = acc
            if self.fast:
                self._apply_fast(c, d, ts, seq, rows, batch.values, now)
            else:
                self._apply_full(c, d, ts, seq, rows, batch.values, now)
            self._group_smoke(c)
        return c.em.out

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
        """Every rule on every row, round after round (the plain form of the engine)."""
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

    def _apply_fast(self, c: Ctx, d: Idx, ts: F64, seq: npt.NDArray[np.int64],
                    rows: Idx | None, values: F64, now: float) -> None:
        """The same as :meth:`_apply_full`, running each rule family only on the rows of
        devices that are not quiet in it or bring a rough value (see
        :mod:`alerts.rules.families`); calm rows of quiet devices only move bookkeeping
        (last seen, last temperature, door state, the stuck rule's value)."""
        v = values if values.flags.f_contiguous else np.asfortranarray(values)
        order, bounds = self._rounds(d, ts, seq)
        if order is not None:
            d, ts, seq = d[order], ts[order], seq[order]
            rows = order if rows is None else rows[order]
        if rows is None:
            rows = np.arange(len(d))
        v, bad = fam.mark_rough(v, rows, d, self._bits, self._calm_lo, self._calm_hi)
        plan = fam.Plan.of(v, rows, d, self._bits.take(d), bounds[1:-1], bad,
                           health.PRIMARY.take(self.table.kind.take(d)))
        st, p = self.st, self.params
        for k, (a, b) in enumerate(itertools.pairwise(bounds)):
            dk, tk = d[a:b], ts[a:b]
            st.last_ts[dk] = tk
            st.last_seq[dk] = seq[a:b]
            st.last_seen[dk] = np.fmax(st.last_seen.take(dk), tk)
            if len(r := plan.seen[k]):
                health.seen(c, d[r], p.profile.take(d[r]), ts[r], now)
            if len(r := plan.implausible[k]):
                health.implausible_apply(c, d[r], ts[r], plan.any_bad[r], plan.first[r],
                                         plan.raw[r])
            if len(r := plan.battery[k]):
                pct, flag = plan.col(r, BATTERY_PCT), plan.col(r, BATTERY_LOW)
                if (i := _where(~np.isnan(pct) | ~np.isnan(flag))) is not None:
                    r = r[i]
                    health.battery_apply(c, d[r], p.profile.take(d[r]), ts[r], pct[i], flag[i])
            if len(r := plan.tamper[k]):
                health.tamper_apply(c, d[r], ts[r], plan.col(r, TAMPER_COL))
            for (_, col, fn), fr in zip(_FAMILY_RULES, plan.values, strict=True):
                if len(r := fr[k]):
                    fn(c, d[r], p.profile.take(d[r]), ts[r], plan.col(r, col))
                if col == TEMP_C and len(r := plan.heat_cold[k]):
                    st.heat_c[d[r]] = plan.temp[r]
                    st.heat_t[d[r]] = ts[r]
                elif col == OPEN and len(r := plan.door_cold[k]):
                    doors.door_quiet(c, d[r], ts[r], plan.opened[r])
            if len(r := plan.smoke[k]):
                hazards.smoke_apply(c, d[r], ts[r], plan.col(r, SMOKE_COL))
            if len(r := plan.stuck[k]):
                health.stuck_apply(c, d[r], p.profile.take(d[r]), ts[r], plan.main[r])
            if len(r := plan.welfare[k]):
                pr = p.profile.take(d[r])
                doors.welfare_step(c, d[r], pr, ts[r])
                c.lower_due(d[r], doors.welfare_dues(c, d[r], pr))
        if len(plan.hot):
            dh = d[plan.hot]
            self._bits[dh] = fam.family_bits(st, self._static, dh)

    def _rounds(self, d: Idx, ts: F64, seq: npt.NDArray[np.int64]) -> tuple[Idx | None, list[int]]:
        """Put the rows in rounds: round k holds the k-th row of each device in ``(ts,
        seq)`` order. Returns (the row order, None when it is the given one; the rounds'
        bounds in that order). A row with the same ``(ts, seq)`` as an earlier one of its
        device is dropped (counted in ``late_dropped``)."""
        n = len(d)
        if n <= 0xFFFF:  # mark each device with its row; a row that reads another repeats
            pos = np.arange(n, dtype=np.uint16)
            self._mark[d] = pos
            repeat = self._mark.take(d) != pos
            if not repeat.any():
                return None, [0, n]
            rd = d[repeat]
            bits = self._bits
            bits[rd] |= np.uint16(fam.MULTI)
            in_multi = (bits.take(d) & np.uint16(fam.MULTI)) != 0
            bits[rd] &= np.uint16(~fam.MULTI & 0xFFFF)
        else:
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
        self._touch(c)
        return c.em.out

    def _touch(self, c: Ctx) -> None:
        """Devices whose condition changed are no longer known to be quiet."""
        if c.em.out:
            self._wake(np.fromiter((tr.device_idx for tr in c.em.out), dtype=np.intp,
                                   count=len(c.em.out)))

    def _wake(self, d: Idx | int) -> None:
        """Devices ``d`` are not known to be quiet in any family until their next
        readings have run every family and recomputed their bits."""
        self._bits[d] = self._static[d] | np.uint16(fam.DYNAMIC)

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
        self._wake(device_idx)
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
        self._touch(c)
        return c.em.out

    def set_maintenance(self, device_idx: int, on: bool, now: float) -> list[Transition]:
        """Maintenance / test mode: readings still move the rules, no condition is raised;
        entering clears what is raised (detail ``maintenance``)."""
        self._start(now)
        self._wake(device_idx)
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
        self._wake(device_idx)
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
        self._wake(device_idx)
        if hazard is Hazard.WATER_LEAK and self.st.cond[WATER][device_idx] > 0:
            self.st.water_ack[device_idx] = True
            self.st.next_due[device_idx] = -np.inf
        return []


__all__ = ["HAZARDS", "RuleEngine", "RuleParams", "build_params"]
