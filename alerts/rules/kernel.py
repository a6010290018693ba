"""The compiled hot path of the rule core: a batch of readings applied row by row.

Layer: pure core. This is the vectorised engine's per-reading rules (``health``,
``hazards``, ``doors``) written once more as scalar code over the same NumPy state
arrays and compiled by Numba. A batch is a few hundred to a hundred thousand rows,
and most rows change nothing; vectorised, each rule is a dozen NumPy calls whatever
the number of rows that need it, so a 10k batch spent most of its time in call
overhead. Compiled, a row costs tens of nanoseconds.

Both forms must agree exactly: ``tests/unit/rules/test_compiled.py`` runs long random
streams through both and compares every state array and every transition, and
``tests/unit/rules/test_equivalence.py`` compares both with the scalar reference.
The sweep and the commands stay vectorised (they are one call over many devices).

Numba keys its on-disk cache on this file only, so every index into another
module's tables is a literal here and checked against that table at import.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from alerts.rules.params import NAMES
from alerts.rules.state import BOOL_BLOCK, FLOAT_BLOCK, HAZARDS
from alerts.rules.types import Hazard
from sensors.fields import FIELD_INDEX, FIELDS

F64 = npt.NDArray[np.float64]
NAN = math.nan
LN2 = math.log(2.0)
DOSE_FLUSH = 1e-6  # as hazards.DOSE_FLUSH
DAY_S = 86_400.0

# --- indices into other modules' tables (checked below) ----------------------------

# hazards (state.HAZARDS order)
H_GAS, H_CO, H_SMOKE, H_HEAT, H_WATER, H_DOOR_OPEN, H_DOOR_NIGHT, H_WELFARE = range(8)
H_OFFLINE, H_UNPROTECTED, H_TAMPER, H_BATTERY, H_STUCK, H_IMPLAUSIBLE = range(8, 14)
# reading fields (sensors.fields.FIELDS order)
F_LEL, F_CO, F_SMOKE, F_TEMP, F_WATER, F_OPEN, F_BAT_PCT, F_BAT_LOW, F_TAMPER = (
    0, 1, 2, 4, 5, 6, 7, 8, 9)
N_FIELDS = 11
# rule parameters (params.NAMES order): columns of the profile matrix
P_GAS_WARN_LEL, P_GAS_WARN_HOLD, P_GAS_CRIT_LEL, P_GAS_CRIT_HOLD = 0, 1, 2, 3
P_GAS_CLEAR_LEL, P_GAS_CLEAR_HOLD, P_GAS_EVACUATE_LEL = 4, 5, 6
P_CO_ALARM_DOSE, P_CO_HALF_LIFE_MIN, P_CO_CLEAR_PPM, P_CO_CLEAR_HOLD = 7, 8, 9, 10
P_HEAT_ALARM, P_HEAT_PREWARN, P_HEAT_ROR_ALARM, P_HEAT_ROR_PREWARN = 13, 14, 15, 16
P_HEAT_ROR_RATE, P_HEAT_ROR_WINDOW, P_HEAT_CLEAR = 17, 18, 19
P_WATER_DEBOUNCE, P_WATER_CRITICAL = 20, 21
P_DOOR_OPEN_MAX, P_NIGHT_START_H, P_NIGHT_END_H = 22, 23, 24
P_WELFARE_WARN, P_WELFARE_CRIT = 25, 26
P_OFFLINE_HEARTBEATS, P_OFFLINE_MARGIN, P_UNPROTECTED = 27, 28, 29
P_BAT_LOW, P_BAT_DEAD, P_BAT_MARGIN, P_BAT_REMIND = 30, 31, 32, 33
P_STUCK_S, P_STUCK_IGNORE_ZERO = 34, 35

_PARAM_INDEX = {
    "gas_warn_lel": P_GAS_WARN_LEL, "gas_warn_hold_s": P_GAS_WARN_HOLD,
    "gas_crit_lel": P_GAS_CRIT_LEL, "gas_crit_hold_s": P_GAS_CRIT_HOLD,
    "gas_clear_lel": P_GAS_CLEAR_LEL, "gas_clear_hold_s": P_GAS_CLEAR_HOLD,
    "gas_evacuate_lel": P_GAS_EVACUATE_LEL, "co_alarm_dose": P_CO_ALARM_DOSE,
    "co_half_life_min": P_CO_HALF_LIFE_MIN, "co_clear_ppm": P_CO_CLEAR_PPM,
    "co_clear_hold_s": P_CO_CLEAR_HOLD, "heat_alarm_c": P_HEAT_ALARM,
    "heat_prewarn_c": P_HEAT_PREWARN, "heat_ror_alarm_c": P_HEAT_ROR_ALARM,
    "heat_ror_prewarn_c": P_HEAT_ROR_PREWARN, "heat_ror_c_per_min": P_HEAT_ROR_RATE,
    "heat_ror_window_s": P_HEAT_ROR_WINDOW, "heat_clear_c": P_HEAT_CLEAR,
    "water_debounce_s": P_WATER_DEBOUNCE, "water_critical_s": P_WATER_CRITICAL,
    "door_open_max_s": P_DOOR_OPEN_MAX, "door_night_start_h": P_NIGHT_START_H,
    "door_night_end_h": P_NIGHT_END_H, "welfare_warn_s": P_WELFARE_WARN,
    "welfare_crit_s": P_WELFARE_CRIT, "offline_heartbeats": P_OFFLINE_HEARTBEATS,
    "offline_margin_s": P_OFFLINE_MARGIN, "unprotected_s": P_UNPROTECTED,
    "battery_low_pct": P_BAT_LOW, "battery_dead_pct": P_BAT_DEAD,
    "battery_clear_margin_pct": P_BAT_MARGIN, "battery_remind_s": P_BAT_REMIND,
    "stuck_s": P_STUCK_S, "stuck_ignore_zero": P_STUCK_IGNORE_ZERO,
}
# rows of the state's float and bool blocks (state.FLOAT_BLOCK, state.BOOL_BLOCK)
(S_LAST_SEEN, S_LAST_TS, S_NEXT_DUE, S_GAS_WS, S_GAS_CS, S_GAS_CLR, S_CO_DOSE, S_CO_T,
 S_CO_PPM, S_CO_CLR, S_HEAT_C, S_HEAT_T, S_WET_SINCE, S_OPEN_SINCE, S_W_BASE, S_UNTIL,
 S_REMIND_AT, S_STUCK_VAL, S_STUCK_SINCE) = range(19)
B_MAINT, B_WATER_ACK, B_WELFARE_BLIND = range(3)

# the detail strings a reading can carry; implausible readings name their field
DETAILS: tuple[str, ...] = (
    "", "evacuate", "wet", "unacknowledged", "rearmed", "device_alarm", "fixed",
    "rate_of_rise", "tamper", "low", "dead", "same_value", "held_open", "night_opening",
    "sensor_fault", "away", "door_activity", *(f.name for f in FIELDS),
)
(D_NONE, D_EVACUATE, D_WET, D_UNACK, D_REARMED, D_DEVICE_ALARM, D_FIXED, D_ROR, D_TAMPER,
 D_LOW, D_DEAD, D_SAME, D_HELD, D_NIGHT, D_SENSOR_FAULT, D_AWAY, D_DOOR_ACTIVITY) = range(17)
D_FIELD0 = 17
# Transitions one row can cause at most (two steps and an apply per timed rule, six
# door emissions, one each for the rest), rounded up: the output buffer's size per row.
MAX_PER_ROW = 32
# columns of the output buffer
O_DEV, O_HAZARD, O_CODE, O_TS, O_VALUE, O_DETAIL = range(6)


def _check_tables() -> None:
    problems = [h for h, k in (
        (Hazard.GAS, H_GAS), (Hazard.CO, H_CO), (Hazard.SMOKE, H_SMOKE), (Hazard.HEAT, H_HEAT),
        (Hazard.WATER_LEAK, H_WATER), (Hazard.DOOR_OPEN, H_DOOR_OPEN),
        (Hazard.DOOR_NIGHT, H_DOOR_NIGHT), (Hazard.WELFARE, H_WELFARE),
        (Hazard.OFFLINE, H_OFFLINE), (Hazard.UNPROTECTED, H_UNPROTECTED),
        (Hazard.TAMPER, H_TAMPER), (Hazard.BATTERY_LOW, H_BATTERY), (Hazard.STUCK, H_STUCK),
        (Hazard.IMPLAUSIBLE, H_IMPLAUSIBLE)) if HAZARDS.index(h) != k]
    problems += [f for f, k in (
        ("lel_pct", F_LEL), ("co_ppm", F_CO), ("smoke", F_SMOKE), ("temp_c", F_TEMP),
        ("water_leak", F_WATER), ("open", F_OPEN), ("battery_pct", F_BAT_PCT),
        ("battery_low", F_BAT_LOW), ("tamper", F_TAMPER)) if FIELD_INDEX[f] != k]
    problems += [n for n, k in _PARAM_INDEX.items() if NAMES.index(n) != k]
    problems += [n for n, k in (
        ("last_seen", S_LAST_SEEN), ("last_ts", S_LAST_TS), ("next_due", S_NEXT_DUE),
        ("gas_ws", S_GAS_WS), ("gas_cs", S_GAS_CS), ("gas_clr", S_GAS_CLR),
        ("co_dose", S_CO_DOSE), ("co_t", S_CO_T), ("co_ppm", S_CO_PPM), ("co_clr", S_CO_CLR),
        ("heat_c", S_HEAT_C), ("heat_t", S_HEAT_T), ("wet_since", S_WET_SINCE),
        ("open_since", S_OPEN_SINCE), ("w_base", S_W_BASE), ("until", S_UNTIL),
        ("remind_at", S_REMIND_AT), ("stuck_val", S_STUCK_VAL),
        ("stuck_since", S_STUCK_SINCE)) if FLOAT_BLOCK.index(n) != k]
    problems += [n for n, k in (("maint", B_MAINT), ("water_ack", B_WATER_ACK),
                                ("welfare_blind", B_WELFARE_BLIND)) if BOOL_BLOCK.index(n) != k]
    if len(FIELDS) != N_FIELDS or len(FLOAT_BLOCK) != 19 or problems:
        raise ImportError(f"alerts.rules.kernel: tables moved, update its indices: {problems}")


_check_tables()


# --- small scalar helpers ----------------------------------------------------------


@njit(cache=True, inline="always", _nrt=False)
def _fmin(a: float, b: float) -> float:
    """np.fmin: the smaller, ignoring NaN."""
    if a != a:  # noqa: PLR0124 - NaN test
        return b
    if b != b:  # noqa: PLR0124
        return a
    return a if a <= b else b


@njit(cache=True, inline="always", _nrt=False)
def _fmax(a: float, b: float) -> float:
    """np.fmax: the larger, ignoring NaN."""
    if a != a:  # noqa: PLR0124
        return b
    if b != b:  # noqa: PLR0124
        return a
    return a if a >= b else b


@njit(cache=True, inline="always", _nrt=False)
def _keep_or(since: float, running: bool, t: float) -> float:
    """ctx.keep_or for one device."""
    if running:
        return t if since != since else since  # noqa: PLR0124
    return NAN


@njit(cache=True, _nrt=False)
def _emit(cond, maint, out, kk, h, i, new, ts, value, det):
    """Emitter.emit for one device: store ``new`` (0 in maintenance) if it differs;
    returns whether it did."""
    if maint[i]:
        new = 0
    if new == cond[h, i]:
        return False
    cond[h, i] = new
    k = kk[0]
    out[k, O_DEV] = i
    out[k, O_HAZARD] = h
    out[k, O_CODE] = new
    out[k, O_TS] = ts
    out[k, O_VALUE] = value
    out[k, O_DETAIL] = det
    kk[0] = k + 1
    return True


@njit(cache=True, inline="always", _nrt=False)
def _lower_due(fs, i, due):
    fs[S_NEXT_DUE, i] = _fmin(fs[S_NEXT_DUE, i], due)


# --- device health -----------------------------------------------------------------


@njit(cache=True, _nrt=False)
def _seen(fs, cond, maint, out, kk, pp, hb, i, t, now, ls):
    """An offline or unprotected device read at ``t`` (``ls``: its new last seen)."""
    off = hb * pp[P_OFFLINE_HEARTBEATS] + pp[P_OFFLINE_MARGIN]
    unp = pp[P_UNPROTECTED]
    code = cond[H_OFFLINE, i]
    _emit(cond, maint, out, kk, H_OFFLINE, i, 0 if now < ls + off else code, t, NAN, D_NONE)
    code = cond[H_UNPROTECTED, i]
    _emit(cond, maint, out, kk, H_UNPROTECTED, i, 0 if now < ls + unp else code, t, NAN,
          D_NONE)
    _lower_due(fs, i, ls + _fmin(off, unp))


@njit(cache=True, _nrt=False)
def _battery(fs, cond, maint, out, kk, pp, i, t, pct, flag):
    low_pct = pp[P_BAT_LOW]
    low = flag == 1.0 or pct <= low_pct
    dead = pct <= pp[P_BAT_DEAD]
    ok = (flag != flag or flag == 0.0) and (  # noqa: PLR0124
        pct != pct or pct > low_pct + pp[P_BAT_MARGIN])  # noqa: PLR0124
    code = cond[H_BATTERY, i]
    lvl = 3 if dead else 2 if low else 0
    new = 0 if ok else max(code, lvl)
    det = D_DEAD if new == 3 else D_LOW if new == 2 else D_NONE
    _emit(cond, maint, out, kk, H_BATTERY, i, new, t, pct, det)
    if cond[H_BATTERY, i] >= 2 and code < 2:
        due = t + pp[P_BAT_REMIND]
        fs[S_REMIND_AT, i] = due
        _lower_due(fs, i, due)


# --- gas ---------------------------------------------------------------------------


@njit(cache=True, _nrt=False)
def _gas_step(fs, gas_lel, cond, maint, out, kk, pp, i, t):
    code = cond[H_GAS, i]
    w_due = fs[S_GAS_WS, i] + pp[P_GAS_WARN_HOLD]
    c_due = fs[S_GAS_CS, i] + pp[P_GAS_CRIT_HOLD]
    r_due = fs[S_GAS_CLR, i] + pp[P_GAS_CLEAR_HOLD]
    crit = c_due <= t and code < 3
    warn = w_due <= t and code < 2 and not crit
    clear = r_due <= t and code > 0
    if crit:
        new, ts = 3, c_due
    elif warn:
        new, ts = 2, w_due
    elif clear:
        new, ts = 0, r_due
    else:
        new, ts = code, t
    _emit(cond, maint, out, kk, H_GAS, i, new, ts, np.float64(gas_lel[i]),
          D_EVACUATE if new == 4 else D_NONE)
    if clear:
        fs[S_GAS_CLR, i] = NAN


@njit(cache=True, _nrt=False)
def _gas(fs, gas_lel, cond, maint, out, kk, pp, i, t, lel):
    _gas_step(fs, gas_lel, cond, maint, out, kk, pp, i, t)
    fs[S_GAS_WS, i] = _keep_or(fs[S_GAS_WS, i], lel >= pp[P_GAS_WARN_LEL], t)
    fs[S_GAS_CS, i] = _keep_or(fs[S_GAS_CS, i], lel >= pp[P_GAS_CRIT_LEL], t)
    raised = cond[H_GAS, i] > 0
    fs[S_GAS_CLR, i] = _keep_or(fs[S_GAS_CLR, i], lel < pp[P_GAS_CLEAR_LEL] and raised, t)
    gas_lel[i] = lel
    _gas_step(fs, gas_lel, cond, maint, out, kk, pp, i, t)
    new = 4 if lel >= pp[P_GAS_EVACUATE_LEL] else cond[H_GAS, i]
    _emit(cond, maint, out, kk, H_GAS, i, new, t, lel, D_EVACUATE if new == 4 else D_NONE)
    w_due = fs[S_GAS_WS, i] + pp[P_GAS_WARN_HOLD]
    c_due = fs[S_GAS_CS, i] + pp[P_GAS_CRIT_HOLD]
    r_due = fs[S_GAS_CLR, i] + pp[P_GAS_CLEAR_HOLD]
    _lower_due(fs, i, _fmin(_fmin(w_due, c_due), r_due))


# --- carbon monoxide ---------------------------------------------------------------


@njit(cache=True, _nrt=False)
def _co_rate(co_x, rates, ppm):
    """hazards.co_rate for one device (``rates``: its profile's row)."""
    if ppm != ppm:  # noqa: PLR0124
        return NAN
    n = len(co_x)
    k = np.searchsorted(co_x, ppm, side="right") - 1
    k = min(max(k, 0), n - 2)
    x0 = co_x[k]
    frac = min(max((ppm - x0) / (co_x[k + 1] - x0), 0.0), 1.0)
    r0 = rates[k]
    return r0 + frac * (rates[k + 1] - r0)


@njit(cache=True, _nrt=False)
def _co_cross(fs, i, eq, tau, alarm):
    d0 = fs[S_CO_DOSE, i]
    t0 = fs[S_CO_T, i]
    if d0 >= alarm:
        return t0
    if eq > alarm:
        return t0 + tau * math.log((eq - d0) / (eq - alarm))
    return NAN


@njit(cache=True, _nrt=False)
def _co_step(fs, cond, maint, out, kk, i, t, eq, tau, alarm, clear_ppm, clear_hold):
    code = cond[H_CO, i]
    ppm = fs[S_CO_PPM, i]
    cross = _co_cross(fs, i, eq, tau, alarm)
    rise = code == 0 and ppm >= clear_ppm and cross <= t
    r_due = fs[S_CO_CLR, i] + clear_hold
    clear = code > 0 and r_due <= t
    if rise or clear:
        if rise:
            new, ts = 3, cross
        else:
            new, ts = 0, r_due
        _emit(cond, maint, out, kk, H_CO, i, new, ts, ppm, D_NONE)
        if clear:
            fs[S_CO_CLR, i] = NAN
    return cross


@njit(cache=True, _nrt=False)
def _co(fs, cond, maint, out, kk, pp, co_x, rates, i, t, ppm):
    tau = pp[P_CO_HALF_LIFE_MIN] * (60.0 / LN2)
    alarm = pp[P_CO_ALARM_DOSE]
    clear_ppm = pp[P_CO_CLEAR_PPM]
    clear_hold = pp[P_CO_CLEAR_HOLD]
    eq = _co_rate(co_x, rates, fs[S_CO_PPM, i]) * tau
    _co_step(fs, cond, maint, out, kk, i, t, eq, tau, alarm, clear_ppm, clear_hold)
    t0 = fs[S_CO_T, i]
    dose = eq + (fs[S_CO_DOSE, i] - eq) * math.exp(-(t - t0) / tau)
    fs[S_CO_DOSE, i] = 0.0 if (t0 != t0 or dose < DOSE_FLUSH) else dose  # noqa: PLR0124
    fs[S_CO_T, i] = t
    fs[S_CO_PPM, i] = ppm
    raised = cond[H_CO, i] > 0
    fs[S_CO_CLR, i] = _keep_or(fs[S_CO_CLR, i], ppm < clear_ppm and raised, t)
    eq = _co_rate(co_x, rates, ppm) * tau
    cross = _co_step(fs, cond, maint, out, kk, i, t, eq, tau, alarm, clear_ppm, clear_hold)
    code = cond[H_CO, i]
    rise = cross if (code == 0 and fs[S_CO_PPM, i] >= clear_ppm) else NAN
    clear = fs[S_CO_CLR, i] + clear_hold if code > 0 else NAN
    _lower_due(fs, i, _fmin(rise, clear))


# --- heat, water, smoke ------------------------------------------------------------


@njit(cache=True, _nrt=False)
def _heat(fs, cond, maint, out, kk, pp, i, t, temp):
    """The heat levels of a reading (the caller then stores it as the last temperature)."""
    dt = t - fs[S_HEAT_T, i]
    ok = dt > 0 and dt <= pp[P_HEAT_ROR_WINDOW]
    rate = (temp - fs[S_HEAT_C, i]) / dt * 60.0 if ok else 0.0
    fast = rate >= pp[P_HEAT_ROR_RATE]
    alarm = pp[P_HEAT_ROR_ALARM] if fast else pp[P_HEAT_ALARM]
    pre = pp[P_HEAT_ROR_PREWARN] if fast else pp[P_HEAT_PREWARN]
    lvl = 3 if temp >= alarm else 2 if temp >= pre else 0
    code = cond[H_HEAT, i]
    new = 0 if temp < pp[P_HEAT_CLEAR] else max(code, lvl)
    det = D_NONE if new == 0 else D_ROR if fast else D_FIXED
    _emit(cond, maint, out, kk, H_HEAT, i, new, t, temp, det)


@njit(cache=True, _nrt=False)
def _water_step(fs, bs, cond, maint, out, kk, pp, i, t):
    code = cond[H_WATER, i]
    ws = fs[S_WET_SINCE, i]
    w_due = ws + pp[P_WATER_DEBOUNCE]
    c_due = ws + pp[P_WATER_CRITICAL]
    crit = c_due <= t and not bs[B_WATER_ACK, i] and code < 3
    warn = w_due <= t and code < 2 and not crit
    if crit:
        new, ts = 3, c_due
    elif warn:
        new, ts = 2, w_due
    else:
        new, ts = code, t
    _emit(cond, maint, out, kk, H_WATER, i, new, ts, 1.0,
          D_UNACK if new == 3 else D_WET if new == 2 else D_NONE)


@njit(cache=True, _nrt=False)
def _water(fs, bs, cond, maint, out, kk, pp, i, t, wet):
    _water_step(fs, bs, cond, maint, out, kk, pp, i, t)
    on = wet == 1.0
    fs[S_WET_SINCE, i] = _keep_or(fs[S_WET_SINCE, i], on, t)
    bs[B_WATER_ACK, i] = bs[B_WATER_ACK, i] and on
    new = cond[H_WATER, i] if on else 0
    _emit(cond, maint, out, kk, H_WATER, i, new, t, wet,
          D_UNACK if new == 3 else D_WET if new == 2 else D_NONE)
    _water_step(fs, bs, cond, maint, out, kk, pp, i, t)
    ws = fs[S_WET_SINCE, i]
    _lower_due(fs, i, _fmin(ws + pp[P_WATER_DEBOUNCE], ws + pp[P_WATER_CRITICAL]))


@njit(cache=True, _nrt=False)
def _smoke_step(fs, cond, maint, out, kk, i, t):
    code = cond[H_SMOKE, i]
    until = fs[S_UNTIL, i]
    if code == 1 and until <= t:
        _emit(cond, maint, out, kk, H_SMOKE, i, 3, until, 1.0, D_REARMED)


@njit(cache=True, _nrt=False)
def _smoke(fs, cond, maint, out, kk, i, t, smoke):
    _smoke_step(fs, cond, maint, out, kk, i, t)
    code = cond[H_SMOKE, i]
    if smoke == 1.0:
        new = 3 if code == 0 else code
    else:
        new = 0
    _emit(cond, maint, out, kk, H_SMOKE, i, new, t, smoke,
          D_DEVICE_ALARM if new == 3 else D_NONE)


# --- doors and welfare -------------------------------------------------------------


@njit(cache=True, _nrt=False)
def _door_step(fs, cond, maint, out, kk, pp, i, t):
    code = cond[H_DOOR_OPEN, i]
    o_due = fs[S_OPEN_SINCE, i] + pp[P_DOOR_OPEN_MAX]
    if o_due <= t and code < 2:
        _emit(cond, maint, out, kk, H_DOOR_OPEN, i, 2, o_due, 1.0, D_HELD)
    else:
        _emit(cond, maint, out, kk, H_DOOR_OPEN, i, code, t, 1.0,
              D_HELD if code == 2 else D_NONE)
    ncode = cond[H_DOOR_NIGHT, i]
    until = fs[S_UNTIL, i]
    if ncode > 0 and until <= t:
        _emit(cond, maint, out, kk, H_DOOR_NIGHT, i, 0, until, NAN, D_NONE)
    else:
        _emit(cond, maint, out, kk, H_DOOR_NIGHT, i, ncode, t, NAN, D_NONE)


@njit(cache=True, _nrt=False)
def _door(fs, cond, maint, out, kk, pp, tz, elderly, i, t, opened):
    """A door reading that may change a condition (see _row for the others)."""
    is_open = opened == 1.0
    _door_step(fs, cond, maint, out, kk, pp, i, t)
    was_open = fs[S_OPEN_SINCE, i] == fs[S_OPEN_SINCE, i]
    if is_open != was_open:
        fs[S_W_BASE, i] = t
    fs[S_OPEN_SINCE, i] = (fs[S_OPEN_SINCE, i] if was_open else t) if is_open else NAN
    code = cond[H_DOOR_OPEN, i]
    new = code if is_open else 0
    _emit(cond, maint, out, kk, H_DOOR_OPEN, i, new, t, opened, D_NONE)
    local = (t + tz) % DAY_S
    start = pp[P_NIGHT_START_H] * 3600.0
    end = pp[P_NIGHT_END_H] * 3600.0
    inside = (start <= local < end) if start <= end else (local >= start or local < end)
    ends = t - local + end + (DAY_S if local >= end else 0.0)
    night = is_open and not was_open and inside and elderly
    ncode = cond[H_DOOR_NIGHT, i]
    if night and ncode == 0:
        fs[S_UNTIL, i] = ends
    new = max(ncode, 2) if night else ncode
    _emit(cond, maint, out, kk, H_DOOR_NIGHT, i, new, t, opened,
          D_NIGHT if new == 2 else D_NONE)
    _door_step(fs, cond, maint, out, kk, pp, i, t)
    o_due = fs[S_OPEN_SINCE, i] + pp[P_DOOR_OPEN_MAX] if cond[H_DOOR_OPEN, i] < 2 else NAN
    n_due = fs[S_UNTIL, i] if cond[H_DOOR_NIGHT, i] > 0 else NAN
    _lower_due(fs, i, _fmin(o_due, n_due))


@njit(cache=True, _nrt=False)
def _welfare(fs, bs, cond, maint, out, kk, pp, away, i, t):
    healthy = (cond[H_OFFLINE, i] == 0 and cond[H_BATTERY, i] < 3 and not away
               and not maint[i])
    wb = fs[S_W_BASE, i]
    if (healthy and bs[B_WELFARE_BLIND, i]) or wb != wb:  # noqa: PLR0124
        wb = _fmax(wb, t)
    fs[S_W_BASE, i] = wb
    bs[B_WELFARE_BLIND, i] = not healthy
    w_due = wb + pp[P_WELFARE_WARN]
    c_due = wb + pp[P_WELFARE_CRIT]
    code = cond[H_WELFARE, i]
    lvl = 3 if c_due <= t else 2 if w_due <= t else 0
    new = lvl if healthy else 0
    ts = c_due if new == 3 else w_due if new == 2 else t
    if new == code:
        ts = t
    if new > 0:
        why = D_NONE
    elif away:
        why = D_AWAY
    elif not healthy:
        why = D_SENSOR_FAULT
    else:
        why = D_DOOR_ACTIVITY
    _emit(cond, maint, out, kk, H_WELFARE, i, new, ts, NAN, why)
    # doors.welfare_dues
    healthy = (cond[H_OFFLINE, i] == 0 and cond[H_BATTERY, i] < 3 and not away
               and not maint[i])
    code = cond[H_WELFARE, i]
    wb = fs[S_W_BASE, i]
    due = _fmin(wb + pp[P_WELFARE_WARN] if code < 2 else NAN,
                wb + pp[P_WELFARE_CRIT] if code < 3 else NAN)
    if wb != wb:  # noqa: PLR0124
        due = -np.inf
    if healthy == bs[B_WELFARE_BLIND, i]:
        due = -np.inf
    elif not healthy:
        due = NAN
    _lower_due(fs, i, due)


# --- the batch ---------------------------------------------------------------------


@njit(cache=True, inline="always", _nrt=False)
def _val(values, clean, first, r, j):
    """Field ``j`` of row ``r``: from ``clean`` when the row has an impossible value."""
    return values[r, j] if first < 0 else clean[j]


@njit(cache=True)
def _bad_fields(values, lo, hi, boolean, bad):
    """``bad[r]`` = 1 + the first field of row ``r`` with an impossible value (0: none)."""
    bad[:] = 0
    for j in range(values.shape[1] - 1, -1, -1):  # last field first: the first one wins
        a, b, flag = lo[j], hi[j], boolean[j]
        for r in range(values.shape[0]):
            x = values[r, j]
            if x < a or x > b or (flag and x * (x - 1.0) < 0.0):
                bad[r] = j + 1


@njit(cache=True, _nrt=False)
def _row(fs, bs, maint, gas_lel, cond, out, kk, pmat, prof, hb, kind, primary, welfare,
         elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz, values, bad, clean, r,
         i, t, now):
    """One accepted reading of device ``i`` at event time ``t`` (engine._round, one row).
    ``bad[r]``: 1 + the first field of the row with a physically impossible value, 0
    when none; ``clean`` is scratch for such a row's values (impossible ones NaN)."""
    pr = prof[i]
    pp = pmat[pr]
    ls = _fmax(fs[S_LAST_SEEN, i], t)
    fs[S_LAST_SEEN, i] = ls
    if cond[H_OFFLINE, i] > 0 or cond[H_UNPROTECTED, i] > 0:
        _seen(fs, cond, maint, out, kk, pp, hb[i], i, t, now, ls)
    first = bad[r] - 1
    if first >= 0:  # impossible values count as absent, the first one is reported
        for j in range(N_FIELDS):
            x = values[r, j]
            clean[j] = NAN if (x < lo[j] or x > hi[j] or (boolean[j] and x * (x - 1.0) < 0.0)) \
                else x
        _emit(cond, maint, out, kk, H_IMPLAUSIBLE, i, 2, t, values[r, first], D_FIELD0 + first)
    elif cond[H_IMPLAUSIBLE, i] > 0:
        _emit(cond, maint, out, kk, H_IMPLAUSIBLE, i, 0, t, values[r, 0], D_NONE)
    pct, flag = _val(values, clean, first, r, F_BAT_PCT), _val(values, clean, first, r, F_BAT_LOW)
    if (pct == pct or flag == flag) and (  # noqa: PLR0124
            flag == 1.0 or pct <= floors[2] or cond[H_BATTERY, i] > 0):
        _battery(fs, cond, maint, out, kk, pp, i, t, pct, flag)
    x = _val(values, clean, first, r, F_TAMPER)
    if x == x and (x == 1.0 or cond[H_TAMPER, i] > 0):  # noqa: PLR0124
        _emit(cond, maint, out, kk, H_TAMPER, i, 2 if x == 1.0 else 0, t, x,
              D_TAMPER if x == 1.0 else D_NONE)
    x = _val(values, clean, first, r, F_LEL)
    if x == x:  # noqa: PLR0124
        timer = _fmin(_fmin(fs[S_GAS_WS, i], fs[S_GAS_CS, i]), fs[S_GAS_CLR, i])
        if x >= floors[0] or cond[H_GAS, i] > 0 or timer == timer:  # noqa: PLR0124
            _gas(fs, gas_lel, cond, maint, out, kk, pp, i, t, x)
    x = _val(values, clean, first, r, F_CO)
    if x == x and (x > 0 or cond[H_CO, i] > 0 or fs[S_CO_PPM, i] > 0  # noqa: PLR0124
                   or fs[S_CO_CLR, i] == fs[S_CO_CLR, i]):  # 0 ppm of a quiet device: skip
        _co(fs, cond, maint, out, kk, pp, co_x, co_rates[pr], i, t, x)
    x = _val(values, clean, first, r, F_TEMP)
    if x == x:  # noqa: PLR0124
        if x >= floors[1] or cond[H_HEAT, i] > 0:
            _heat(fs, cond, maint, out, kk, pp, i, t, x)
        fs[S_HEAT_C, i] = x
        fs[S_HEAT_T, i] = t
    x = _val(values, clean, first, r, F_WATER)
    if x == x and (x == 1.0 or cond[H_WATER, i] > 0  # noqa: PLR0124
                   or fs[S_WET_SINCE, i] == fs[S_WET_SINCE, i] or bs[B_WATER_ACK, i]):
        _water(fs, bs, cond, maint, out, kk, pp, i, t, x)
    x = _val(values, clean, first, r, F_OPEN)
    if x == x:  # noqa: PLR0124
        os = fs[S_OPEN_SINCE, i]
        was_open = os == os  # noqa: PLR0124
        is_open = x == 1.0
        if (cond[H_DOOR_OPEN, i] > 0 or cond[H_DOOR_NIGHT, i] > 0
                or ((was_open or is_open) and math.isfinite(pp[P_DOOR_OPEN_MAX]))
                or (is_open and not was_open and welfare[i])):
            _door(fs, cond, maint, out, kk, pp, tz, elderly[i] and hh[i] >= 0, i, t, x)
        else:  # no condition can change: only the door's state moves (doors.door_quiet)
            if is_open != was_open:
                fs[S_W_BASE, i] = t
            fs[S_OPEN_SINCE, i] = (os if was_open else t) if is_open else NAN
    x = _val(values, clean, first, r, F_SMOKE)
    if x == x and (x == 1.0 or cond[H_SMOKE, i] > 0):  # noqa: PLR0124
        _smoke(fs, cond, maint, out, kk, i, t, x)
    j = primary[kind[i]]
    if j >= 0:
        x = _val(values, clean, first, r, j)
        if x == x:  # noqa: PLR0124 - the stuck rule
            same = x == fs[S_STUCK_VAL, i] and not (x == 0.0 and pp[P_STUCK_IGNORE_ZERO] > 0)
            since = fs[S_STUCK_SINCE, i] if same else t
            fs[S_STUCK_SINCE, i] = since
            fs[S_STUCK_VAL, i] = x
            new = 2 if t - since >= pp[P_STUCK_S] else 0
            if new > 0 or cond[H_STUCK, i] > 0:
                _emit(cond, maint, out, kk, H_STUCK, i, new, t, x,
                      D_SAME if new == 2 else D_NONE)
    if welfare[i]:
        _welfare(fs, bs, cond, maint, out, kk, pp, away[hh[i]], i, t)


@njit(cache=True)
def _grow(out, k):
    new = np.empty((2 * len(out) + MAX_PER_ROW, out.shape[1]))
    new[:k] = out[:k]
    return new


@njit(cache=True, nogil=True)
def apply_batch(fs, bs, gas_lel, last_seq, cond, out, mark, pmat, prof, hb, kind, primary,
                welfare, elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz,
                device_idx, ts, recv_ts, seq, values, now, max_future_s):
    """Apply a batch; returns (the output buffer, ``out`` or a larger copy; how many
    transitions it holds; rows dropped as late, duplicate or invalid).

    Arguments are the engine's: ``fs`` / ``bs`` the state's float and bool blocks, ``pmat`` the parameters (profile, name),
    ``floors`` the gas, heat and battery floors of :class:`RuleParams`, ``primary``
    per kind code the field the stuck rule watches (-1: none), ``welfare`` the
    welfare doors, ``mark`` zeroed scratch (one byte per device, zero again on return).
    Rows of one device are applied in ``(ts, seq)`` order; a row not newer than the
    last one applied to its device is dropped.
    """
    n = len(device_idx)
    n_dev = len(prof)
    kk = np.zeros(1, dtype=np.int64)
    dropped = 0
    t_eff = np.empty(n)
    for r in range(n):
        i = device_idx[r]
        t = ts[r]
        if not t <= now + max_future_s:
            t = recv_ts[r]
        t_eff[r] = t
        if i < 0 or i >= n_dev or t != t:  # noqa: PLR0124
            dropped += 1
        elif mark[i] < 2:
            mark[i] += 1
    # the order of application: rows of devices seen once as they come, then the rows
    # of devices seen more than once by device, event time and seq
    order = np.empty(n, dtype=np.int64)
    rows = np.empty(n, dtype=np.int64)
    n1 = nm = 0
    for r in range(n):
        i = device_idx[r]
        if i < 0 or i >= n_dev or t_eff[r] != t_eff[r]:  # noqa: PLR0124
            continue
        if mark[i] == 2:
            rows[nm] = r
            nm += 1
        else:
            order[n1] = r
            n1 += 1
    if nm:
        rows = rows[:nm]
        rows = rows[np.argsort(seq[rows], kind="mergesort")]  # stable: last key first
        rows = rows[np.argsort(t_eff[rows], kind="mergesort")]
        rows = rows[np.argsort(device_idx[rows], kind="mergesort")]
        order[n1:n1 + nm] = rows
    maint = bs[B_MAINT]
    bad = np.empty(n, dtype=np.int8)
    _bad_fields(values, lo, hi, boolean, bad)
    clean = np.empty(N_FIELDS)  # the plausible values of a row with impossible ones
    for r in order[:n1 + nm]:
        i = device_idx[r]
        mark[i] = 0
        t = t_eff[r]
        q = seq[r]
        lt = fs[S_LAST_TS, i]
        if not (t > lt or (t == lt and q > last_seq[i])):
            dropped += 1
            continue
        fs[S_LAST_TS, i] = t
        last_seq[i] = q
        if kk[0] + MAX_PER_ROW > len(out):
            out = _grow(out, kk[0])
        _row(fs, bs, maint, gas_lel, cond, out, kk, pmat, prof, hb, kind, primary, welfare,
             elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz, values, bad, clean,
             r, i, t, now)
    return out, kk[0], dropped
