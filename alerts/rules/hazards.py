"""Life-safety and property rules: gas (%LEL), CO dose, smoke, heat, water leak.

Layer: pure core. Rules with timers come in two parts: ``*_step(t)`` promotes or
clears what is due by event time ``t`` assuming the last reading still holds (the
sweep calls it with ``now``; a reading calls it first with its own time), and
``*_apply(t, value)`` takes a new reading. A timer's transition carries the time
the condition became true (``since + hold``), so results do not depend on how
often the sweep runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alerts.rules.ctx import CO, F64, GAS, HEAT, NO_DETAIL, SMOKE, WATER, Ctx, Idx, Prof, keep_or

LN2 = math.log(2.0)
DOSE_FLUSH = 1e-6  # a CO dose below this is zero (about 70 h after an alarm)
GAS_DETAIL = ("", "", "", "", "evacuate")
WATER_DETAIL = ("", "", "wet", "unacknowledged", "")
HEAT_DETAIL = ("", "fixed", "rate_of_rise")


# --- gas -------------------------------------------------------------------------


def gas_dues(c: Ctx, d: Idx, prof: Prof) -> tuple[F64, F64, F64]:
    """(warning due, critical due, clear due) of the running gas timers."""
    st, p = c.st, c.p
    return (
        st.gas_ws[d] + p.of("gas_warn_hold_s", prof),
        st.gas_cs[d] + p.of("gas_crit_hold_s", prof),
        st.gas_clr[d] + p.of("gas_clear_hold_s", prof),
    )


def gas_step(c: Ctx, d: Idx, prof: Prof, t: F64) -> None:
    """Warning / critical after their hold, clear after the clear hold."""
    code = c.st.cond[GAS][d]
    w_due, c_due, r_due = gas_dues(c, d, prof)
    crit = (c_due <= t) & (code < 3)
    warn = (w_due <= t) & (code < 2) & ~crit
    clear = (r_due <= t) & (code > 0)
    new = np.where(crit, 3, np.where(warn, 2, np.where(clear, 0, code)))
    ts = np.where(crit, c_due, np.where(warn, w_due, np.where(clear, r_due, t)))
    c.em.emit(GAS, d, new, ts, c.st.gas_lel[d], GAS_DETAIL)
    if clear.any():
        c.st.gas_clr[d[clear]] = np.nan


def gas_apply(c: Ctx, d: Idx, prof: Prof, t: F64, lel: F64) -> None:
    """A %LEL reading: timers, then holds, then the evacuate level at once. The clear
    timer runs only while the condition is raised; a quiet device (nothing raised, no
    timer) reading below every level is skipped, as the rule would change nothing."""
    st, p = c.st, c.p
    busy = (lel >= p.floor["gas"]) | (st.cond[GAS][d] > 0) | ~np.isnan(
        np.fmin(np.fmin(st.gas_ws[d], st.gas_cs[d]), st.gas_clr[d]))
    if not busy.all():
        i = busy.nonzero()[0]
        if not i.size:
            return
        d, prof, t, lel = d[i], prof[i], t[i], lel[i]
    gas_step(c, d, prof, t)
    st.gas_ws[d] = keep_or(st.gas_ws[d], lel >= p.of("gas_warn_lel", prof), t)
    st.gas_cs[d] = keep_or(st.gas_cs[d], lel >= p.of("gas_crit_lel", prof), t)
    raised = st.cond[GAS][d] > 0
    st.gas_clr[d] = keep_or(st.gas_clr[d], (lel < p.of("gas_clear_lel", prof)) & raised, t)
    st.gas_lel[d] = lel
    gas_step(c, d, prof, t)
    code = st.cond[GAS][d]
    c.em.emit(GAS, d, np.where(lel >= p.of("gas_evacuate_lel", prof), 4, code), t, lel,
              GAS_DETAIL)
    w_due, c_due, r_due = gas_dues(c, d, prof)
    c.lower_due(d, np.fmin(np.fmin(w_due, c_due), r_due))


# --- carbon monoxide: dose with recovery ------------------------------------------


def co_rate(c: Ctx, prof: Prof, ppm: F64) -> F64:
    """Dose per second at ``ppm``: the profile's curve, linear between its points."""
    xp = c.p.co_ppm
    k = np.clip(np.searchsorted(xp, ppm, side="right") - 1, 0, len(xp) - 2)
    x0 = xp[k]
    frac = np.clip((ppm - x0) / (xp[k + 1] - x0), 0.0, 1.0)
    r0 = c.p.co_rate[prof, k]
    return r0 + frac * (c.p.co_rate[prof, k + 1] - r0)


def co_tau(c: Ctx, prof: Prof) -> F64:
    """Recovery time constant, seconds (from the COHb half-life)."""
    return c.p.of("co_half_life_min", prof) * (60.0 / LN2)


@dataclass(slots=True)
class CoParams:
    """The CO parameters of some devices, looked up once per call."""

    tau: F64
    alarm: F64
    clear_ppm: F64
    clear_hold: F64

    @classmethod
    def of(cls, c: Ctx, prof: Prof) -> CoParams:
        """The parameters of profiles ``prof``."""
        p = c.p
        return cls(co_tau(c, prof), p.of("co_alarm_dose", prof), p.of("co_clear_ppm", prof),
                   p.of("co_clear_hold_s", prof))


def co_cross(c: Ctx, d: Idx, prof: Prof, eq: F64 | None = None,
             cp: CoParams | None = None) -> F64:
    """Event time at which the dose reaches the alarm dose if the last ppm holds (NaN: never).

    ``eq`` is the equilibrium dose of the held ppm when the caller has it.
    """
    st = c.st
    cp = cp if cp is not None else CoParams.of(c, prof)
    d0, t0 = st.co_dose[d], st.co_t[d]
    if eq is None:
        eq = co_rate(c, prof, st.co_ppm[d]) * cp.tau
    with np.errstate(invalid="ignore", divide="ignore"):
        grow = t0 + cp.tau * np.log((eq - d0) / (eq - cp.alarm))
    return np.where(d0 >= cp.alarm, t0, np.where(eq > cp.alarm, grow, np.nan))


def co_step(c: Ctx, d: Idx, prof: Prof, t: F64, eq: F64 | None = None,
            cp: CoParams | None = None) -> F64:
    """Alarm when the dose crosses the alarm dose (ppm at or above the clear level);
    clear after the ppm stayed below the clear level for the clear hold. Returns when
    the dose crosses (see :func:`co_cross`); a step changes nothing it depends on."""
    st = c.st
    cp = cp if cp is not None else CoParams.of(c, prof)
    code = st.cond[CO][d]
    ppm = st.co_ppm[d]
    cross = co_cross(c, d, prof, eq, cp)
    rise = (code == 0) & (ppm >= cp.clear_ppm) & (cross <= t)
    r_due = st.co_clr[d] + cp.clear_hold
    clear = (code > 0) & (r_due <= t)
    if rise.any() or clear.any():
        new = np.where(rise, 3, np.where(clear, 0, code))
        ts = np.where(rise, cross, np.where(clear, r_due, t))
        c.em.emit(CO, d, new, ts, ppm, NO_DETAIL)
        if clear.any():
            st.co_clr[d[clear]] = np.nan
    return cross


def co_dues(c: Ctx, d: Idx, prof: Prof, eq: F64 | None = None, cp: CoParams | None = None,
            cross: F64 | None = None) -> F64:
    """The next CO deadline given the current code (``cross`` from :func:`co_step`)."""
    st = c.st
    cp = cp if cp is not None else CoParams.of(c, prof)
    code = st.cond[CO][d]
    if cross is None:
        cross = co_cross(c, d, prof, eq, cp)
    rise = np.where((code == 0) & (st.co_ppm[d] >= cp.clear_ppm), cross, np.nan)
    clear = np.where(code > 0, st.co_clr[d] + cp.clear_hold, np.nan)
    return np.fmin(rise, clear)


def co_apply(c: Ctx, d: Idx, prof: Prof, t: F64, ppm: F64) -> None:
    """A ppm reading: integrate the dose with the previous ppm up to ``t``, then hold ``ppm``.

    A device holding 0 ppm with nothing raised skips further 0 ppm rows: its dose only
    decays, ``co_dose * exp(-(t - co_t) / tau)``, and the next non-zero reading computes
    that decay from the stored point (the same value as stepping through every row, to
    rounding). A dose below :data:`DOSE_FLUSH` counts as zero.
    """
    st = c.st
    busy = (ppm > 0) | (st.cond[CO][d] > 0) | (st.co_ppm[d] > 0) | ~np.isnan(st.co_clr[d])
    if not busy.all():
        i = busy.nonzero()[0]
        if not i.size:
            return
        d, prof, t, ppm = d[i], prof[i], t[i], ppm[i]
    cp = CoParams.of(c, prof)
    eq = co_rate(c, prof, st.co_ppm[d]) * cp.tau
    co_step(c, d, prof, t, eq, cp)
    t0 = st.co_t[d]
    dose = eq + (st.co_dose[d] - eq) * np.exp(-(t - t0) / cp.tau)
    st.co_dose[d] = np.where(np.isnan(t0) | (dose < DOSE_FLUSH), 0.0, dose)
    st.co_t[d] = t
    st.co_ppm[d] = ppm
    raised = st.cond[CO][d] > 0
    st.co_clr[d] = keep_or(st.co_clr[d], (ppm < cp.clear_ppm) & raised, t)
    eq = co_rate(c, prof, ppm) * cp.tau
    cross = co_step(c, d, prof, t, eq, cp)
    c.lower_due(d, co_dues(c, d, prof, eq, cp, cross))


# --- smoke -------------------------------------------------------------------------


def smoke_step(c: Ctx, d: Idx, t: F64) -> None:
    """A hushed alarm re-arms when the hush ends and the alarm is still on."""
    code = c.st.cond[SMOKE][d]
    until = c.st.until[d]
    rearm = (code == 1) & (until <= t)
    c.em.emit(SMOKE, d, np.where(rearm, 3, code), np.where(rearm, until, t), 1.0,
              ("", "", "", "rearmed", ""))


def smoke_apply(c: Ctx, d: Idx, t: F64, smoke: F64) -> None:
    """The device's own alarm is critical at once; its end clears."""
    busy = (smoke == 1.0) | (c.st.cond[SMOKE][d] > 0)
    if not busy.all():
        i = busy.nonzero()[0]
        if not i.size:
            return
        d, t, smoke = d[i], t[i], smoke[i]
    smoke_step(c, d, t)
    code = c.st.cond[SMOKE][d]
    on = smoke == 1.0
    new = np.where(on, np.where(code == 0, 3, code), 0)
    ch = c.em.emit(SMOKE, d, new, t, smoke, ("", "", "", "device_alarm", ""))
    if ch.size:
        raised = ch[new[ch] == 3]
        c.em.smoke_raised.extend(zip(t[raised].tolist(), d[raised].tolist(), strict=True))


# --- heat (EN 54-5 A1 logic) --------------------------------------------------------


def heat_apply(c: Ctx, d: Idx, prof: Prof, t: F64, temp: F64) -> None:
    """Fixed temperature, with lower thresholds while the rise is fast."""
    st = c.st
    busy = (temp >= c.p.floor["heat"]) | (st.cond[HEAT][d] > 0)
    if busy.any():
        i = busy.nonzero()[0]
        _heat_levels(c, d[i], prof[i], t[i], temp[i])
    st.heat_c[d] = temp
    st.heat_t[d] = t


def _heat_levels(c: Ctx, d: Idx, prof: Prof, t: F64, temp: F64) -> None:
    st, p = c.st, c.p
    dt = t - st.heat_t[d]
    ok = (dt > 0) & (dt <= p.of("heat_ror_window_s", prof))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(ok, (temp - st.heat_c[d]) / dt * 60.0, 0.0)
    fast = rate >= p.of("heat_ror_c_per_min", prof)
    alarm = np.where(fast, p.of("heat_ror_alarm_c", prof), p.of("heat_alarm_c", prof))
    pre = np.where(fast, p.of("heat_ror_prewarn_c", prof), p.of("heat_prewarn_c", prof))
    lvl = np.where(temp >= alarm, 3, np.where(temp >= pre, 2, 0))
    code = st.cond[HEAT][d]
    new = np.where(temp < p.of("heat_clear_c", prof), 0, np.maximum(code, lvl))
    detail = np.where(new == 0, 0, 1 + fast).astype(np.intp)
    c.em.emit(HEAT, d, new, t, temp, (detail, HEAT_DETAIL))


# --- water leak --------------------------------------------------------------------


def water_dues(c: Ctx, d: Idx, prof: Prof) -> tuple[F64, F64]:
    """(warning due, critical due) of a wet sensor."""
    ws = c.st.wet_since[d]
    return ws + c.p.of("water_debounce_s", prof), ws + c.p.of("water_critical_s", prof)


def water_step(c: Ctx, d: Idx, prof: Prof, t: F64) -> None:
    """Warning after the debounce, critical when still wet and unacknowledged."""
    code = c.st.cond[WATER][d]
    w_due, c_due = water_dues(c, d, prof)
    crit = (c_due <= t) & ~c.st.water_ack[d] & (code < 3)
    warn = (w_due <= t) & (code < 2) & ~crit
    new = np.where(crit, 3, np.where(warn, 2, code))
    ts = np.where(crit, c_due, np.where(warn, w_due, t))
    c.em.emit(WATER, d, new, ts, 1.0, WATER_DETAIL)


def water_apply(c: Ctx, d: Idx, prof: Prof, t: F64, wet: F64) -> None:
    """Wet starts the timers; dry clears at once and forgets the acknowledgement."""
    st = c.st
    busy = (wet == 1.0) | (st.cond[WATER][d] > 0) | ~np.isnan(st.wet_since[d]) | st.water_ack[d]
    if not busy.all():
        i = busy.nonzero()[0]
        if not i.size:
            return
        d, prof, t, wet = d[i], prof[i], t[i], wet[i]
    water_step(c, d, prof, t)
    on = wet == 1.0
    st.wet_since[d] = keep_or(st.wet_since[d], on, t)
    st.water_ack[d] &= on
    c.em.emit(WATER, d, np.where(on, st.cond[WATER][d], 0), t, wet, WATER_DETAIL)
    water_step(c, d, prof, t)
    w_due, c_due = water_dues(c, d, prof)
    c.lower_due(d, np.fmin(w_due, c_due))
