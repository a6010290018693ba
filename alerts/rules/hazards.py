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

import numpy as np

from alerts.rules.ctx import CO, F64, GAS, HEAT, NO_DETAIL, SMOKE, WATER, Ctx, Idx, Prof, keep_or

LN2 = math.log(2.0)
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
    code = c.st.cond[d, GAS]
    w_due, c_due, r_due = gas_dues(c, d, prof)
    crit = (c_due <= t) & (code < 3)
    warn = (w_due <= t) & (code < 2) & ~crit
    clear = (r_due <= t) & (code > 0)
    new = np.where(crit, 3, np.where(warn, 2, np.where(clear, 0, code)))
    ts = np.where(crit, c_due, np.where(warn, w_due, np.where(clear, r_due, t)))
    c.em.emit(GAS, d, new, ts, c.st.gas_lel[d], GAS_DETAIL)


def gas_apply(c: Ctx, d: Idx, prof: Prof, t: F64, lel: F64) -> None:
    """A %LEL reading: timers, then holds, then the evacuate level at once."""
    st, p = c.st, c.p
    gas_step(c, d, prof, t)
    st.gas_ws[d] = keep_or(st.gas_ws[d], lel >= p.of("gas_warn_lel", prof), t)
    st.gas_cs[d] = keep_or(st.gas_cs[d], lel >= p.of("gas_crit_lel", prof), t)
    st.gas_clr[d] = keep_or(st.gas_clr[d], lel < p.of("gas_clear_lel", prof), t)
    st.gas_lel[d] = lel
    gas_step(c, d, prof, t)
    code = st.cond[d, GAS]
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


def co_cross(c: Ctx, d: Idx, prof: Prof) -> F64:
    """Event time at which the dose reaches the alarm dose if the last ppm holds (NaN: never)."""
    st = c.st
    tau = co_tau(c, prof)
    alarm = c.p.of("co_alarm_dose", prof)
    d0, t0 = st.co_dose[d], st.co_t[d]
    eq = co_rate(c, prof, st.co_ppm[d]) * tau
    with np.errstate(invalid="ignore", divide="ignore"):
        grow = t0 + tau * np.log((eq - d0) / (eq - alarm))
    return np.where(d0 >= alarm, t0, np.where(eq > alarm, grow, np.nan))


def co_step(c: Ctx, d: Idx, prof: Prof, t: F64) -> None:
    """Alarm when the dose crosses the alarm dose (ppm at or above the clear level);
    clear after the ppm stayed below the clear level for the clear hold."""
    st, p = c.st, c.p
    code = st.cond[d, CO]
    ppm = st.co_ppm[d]
    cross = co_cross(c, d, prof)
    rise = (code == 0) & (ppm >= p.of("co_clear_ppm", prof)) & (cross <= t)
    r_due = st.co_clr[d] + p.of("co_clear_hold_s", prof)
    clear = (code > 0) & (r_due <= t)
    new = np.where(rise, 3, np.where(clear, 0, code))
    ts = np.where(rise, cross, np.where(clear, r_due, t))
    c.em.emit(CO, d, new, ts, ppm, NO_DETAIL)


def co_dues(c: Ctx, d: Idx, prof: Prof) -> F64:
    """The next CO deadline given the current code."""
    st, p = c.st, c.p
    code = st.cond[d, CO]
    rise = np.where((code == 0) & (st.co_ppm[d] >= p.of("co_clear_ppm", prof)),
                    co_cross(c, d, prof), np.nan)
    clear = np.where(code > 0, st.co_clr[d] + p.of("co_clear_hold_s", prof), np.nan)
    return np.fmin(rise, clear)


def co_apply(c: Ctx, d: Idx, prof: Prof, t: F64, ppm: F64) -> None:
    """A ppm reading: integrate the dose with the previous ppm up to ``t``, then hold ``ppm``."""
    st, p = c.st, c.p
    co_step(c, d, prof, t)
    tau = co_tau(c, prof)
    t0 = st.co_t[d]
    eq = co_rate(c, prof, st.co_ppm[d]) * tau
    dose = eq + (st.co_dose[d] - eq) * np.exp(-(t - t0) / tau)
    st.co_dose[d] = np.where(np.isnan(t0), 0.0, dose)
    st.co_t[d] = t
    st.co_ppm[d] = ppm
    st.co_clr[d] = keep_or(st.co_clr[d], ppm < p.of("co_clear_ppm", prof), t)
    co_step(c, d, prof, t)
    c.lower_due(d, co_dues(c, d, prof))


# --- smoke -------------------------------------------------------------------------


def smoke_step(c: Ctx, d: Idx, t: F64) -> None:
    """A hushed alarm re-arms when the hush ends and the alarm is still on."""
    code = c.st.cond[d, SMOKE]
    until = c.st.until[d]
    rearm = (code == 1) & (until <= t)
    c.em.emit(SMOKE, d, np.where(rearm, 3, code), np.where(rearm, until, t), 1.0,
              ("", "", "", "rearmed", ""))


def smoke_apply(c: Ctx, d: Idx, t: F64, smoke: F64) -> None:
    """The device's own alarm is critical at once; its end clears."""
    smoke_step(c, d, t)
    code = c.st.cond[d, SMOKE]
    on = smoke == 1.0
    new = np.where(on, np.where(code == 0, 3, code), 0)
    ch = c.em.emit(SMOKE, d, new, t, smoke, ("", "", "", "device_alarm", ""))
    if ch.size:
        raised = ch[new[ch] == 3]
        c.em.smoke_raised.extend(zip(t[raised].tolist(), d[raised].tolist(), strict=True))


# --- heat (EN 54-5 A1 logic) --------------------------------------------------------


def heat_apply(c: Ctx, d: Idx, prof: Prof, t: F64, temp: F64) -> None:
    """Fixed temperature, with lower thresholds while the rise is fast."""
    st, p = c.st, c.p
    dt = t - st.heat_t[d]
    ok = (dt > 0) & (dt <= p.of("heat_ror_window_s", prof))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(ok, (temp - st.heat_c[d]) / dt * 60.0, 0.0)
    fast = rate >= p.of("heat_ror_c_per_min", prof)
    alarm = np.where(fast, p.of("heat_ror_alarm_c", prof), p.of("heat_alarm_c", prof))
    pre = np.where(fast, p.of("heat_ror_prewarn_c", prof), p.of("heat_prewarn_c", prof))
    lvl = np.where(temp >= alarm, 3, np.where(temp >= pre, 2, 0))
    code = st.cond[d, HEAT]
    new = np.where(temp < p.of("heat_clear_c", prof), 0, np.maximum(code, lvl))
    detail = np.where(new == 0, 0, 1 + fast).astype(np.intp)
    c.em.emit(HEAT, d, new, t, temp, (detail, HEAT_DETAIL))
    st.heat_c[d] = temp
    st.heat_t[d] = t


# --- water leak --------------------------------------------------------------------


def water_dues(c: Ctx, d: Idx, prof: Prof) -> tuple[F64, F64]:
    """(warning due, critical due) of a wet sensor."""
    ws = c.st.wet_since[d]
    return ws + c.p.of("water_debounce_s", prof), ws + c.p.of("water_critical_s", prof)


def water_step(c: Ctx, d: Idx, prof: Prof, t: F64) -> None:
    """Warning after the debounce, critical when still wet and unacknowledged."""
    code = c.st.cond[d, WATER]
    w_due, c_due = water_dues(c, d, prof)
    crit = (c_due <= t) & ~c.st.water_ack[d] & (code < 3)
    warn = (w_due <= t) & (code < 2) & ~crit
    new = np.where(crit, 3, np.where(warn, 2, code))
    ts = np.where(crit, c_due, np.where(warn, w_due, t))
    c.em.emit(WATER, d, new, ts, 1.0, WATER_DETAIL)


def water_apply(c: Ctx, d: Idx, prof: Prof, t: F64, wet: F64) -> None:
    """Wet starts the timers; dry clears at once and forgets the acknowledgement."""
    st = c.st
    water_step(c, d, prof, t)
    on = wet == 1.0
    st.wet_since[d] = keep_or(st.wet_since[d], on, t)
    st.water_ack[d] &= on
    c.em.emit(WATER, d, np.where(on, st.cond[d, WATER], 0), t, wet, WATER_DETAIL)
    water_step(c, d, prof, t)
    w_due, c_due = water_dues(c, d, prof)
    c.lower_due(d, np.fmin(w_due, c_due))
