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

What makes it fast (measured in ``alerts/rules/README.md``): the state is laid out by
device, the row loop loads the next rows' state before applying them, and the row
loop runs without reference counting (see the decorators below).

Numba keys its on-disk cache on this file only, so every index into another
module's tables is a literal here and checked against that table at import.
"""

from __future__ import annotations

import math
from typing import Any

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
(S_LAST_SEEN, S_LAST_TS, S_GAS_WS, S_GAS_CS, S_GAS_CLR, S_CO_DOSE, S_CO_T,
 S_CO_PPM, S_CO_CLR, S_HEAT_C, S_HEAT_T, S_WET_SINCE, S_OPEN_SINCE, S_W_BASE, S_UNTIL,
 S_REMIND_AT, S_STUCK_VAL, S_STUCK_SINCE) = range(18)
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
CHUNK = 64  # rows whose state is loaded ahead of applying them
# columns of the output buffer
O_DEV, O_HAZARD, O_CODE, O_TS, O_VALUE, O_DETAIL = range(6)


def _check_tables() -> None:
    problems: list[object] = [h for h, k in (
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
        ("last_seen", S_LAST_SEEN), ("last_ts", S_LAST_TS),
        ("gas_ws", S_GAS_WS), ("gas_cs", S_GAS_CS), ("gas_clr", S_GAS_CLR),
        ("co_dose", S_CO_DOSE), ("co_t", S_CO_T), ("co_ppm", S_CO_PPM), ("co_clr", S_CO_CLR),
        ("heat_c", S_HEAT_C), ("heat_t", S_HEAT_T), ("wet_since", S_WET_SINCE),
        ("open_since", S_OPEN_SINCE), ("w_base", S_W_BASE), ("until", S_UNTIL),
        ("remind_at", S_REMIND_AT), ("stuck_val", S_STUCK_VAL),
        ("stuck_since", S_STUCK_SINCE)) if FLOAT_BLOCK.index(n) != k]
    problems += [n for n, k in (("maint", B_MAINT), ("water_ack", B_WATER_ACK),
                                ("welfare_blind", B_WELFARE_BLIND)) if BOOL_BLOCK.index(n) != k]
    if len(FIELDS) != N_FIELDS or len(FLOAT_BLOCK) != 18 or problems:
        raise ImportError(f"alerts.rules.kernel: tables moved, update its indices: {problems}")


_check_tables()

# Numba's decorators. Inside the row loop nothing allocates, so those functions are
# compiled without reference counting (``_nrt=False``, which Numba's type stubs do not
# list): with it, every call that passes arrays counted references atomically, which
# stalls the loads the rules depend on and cost more than the rules themselves.
_njit: Any = njit
_jit = _njit(cache=True)
_jit_nogil = _njit(cache=True, nogil=True)
_hot = _njit(cache=True, _nrt=False)
_inline = _njit(cache=True, inline="always", _nrt=False)


# --- small scalar helpers ----------------------------------------------------------


@_inline
def _fmin(a: float, b: float) -> float:
    """np.fmin: the smaller, ignoring NaN."""
    if a != a:  # noqa: PLR0124 - NaN test
        return b
    if b != b:  # noqa: PLR0124
        return a
    return a if a <= b else b


@_inline
def _fmax(a: float, b: float) -> float:
    """np.fmax: the larger, ignoring NaN."""
    if a != a:  # noqa: PLR0124
        return b
    if b != b:  # noqa: PLR0124
        return a
    return a if a >= b else b


@_inline
def _keep_or(since: float, running: bool, t: float) -> float:
    """ctx.keep_or for one device."""
    if running:
        return t if since != since else since  # noqa: PLR0124
    return NAN


@_hot
def _emit(cond, bs, out, kk, h, i, new, ts, value, det):
    """Emitter.emit for one device: store ``new`` (0 in maintenance) if it differs;
    returns whether it did."""
    if bs[i, B_MAINT]:
        new = 0
    if new == cond[i, h]:
        return False
    cond[i, h] = new
    k = kk[0]
    out[k, O_DEV] = i
    out[k, O_HAZARD] = h
    out[k, O_CODE] = new
    out[k, O_TS] = ts
    out[k, O_VALUE] = value
    out[k, O_DETAIL] = det
    kk[0] = k + 1
    return True


@_inline
def _lower_due(nd, i, due):
    nd[i] = _fmin(nd[i], due)


# --- device health -----------------------------------------------------------------


@_hot
def _seen(fs, nd, cond, bs, out, kk, pp, hb, i, t, now, ls):
    """An offline or unprotected device read at ``t`` (``ls``: its new last seen)."""
    off = hb * pp[P_OFFLINE_HEARTBEATS] + pp[P_OFFLINE_MARGIN]
    unp = pp[P_UNPROTECTED]
    code = cond[i, H_OFFLINE]
    _emit(cond, bs, out, kk, H_OFFLINE, i, 0 if now < ls + off else code, t, NAN, D_NONE)
    code = cond[i, H_UNPROTECTED]
    _emit(cond, bs, out, kk, H_UNPROTECTED, i, 0 if now < ls + unp else code, t, NAN,
          D_NONE)
    _lower_due(nd, i, ls + _fmin(off, unp))


@_hot
def _battery(fs, nd, cond, bs, out, kk, pp, i, t, pct, flag):
    low_pct = pp[P_BAT_LOW]
    low = flag == 1.0 or pct <= low_pct
    dead = pct <= pp[P_BAT_DEAD]
    ok = (flag != flag or flag == 0.0) and (  # noqa: PLR0124
        pct != pct or pct > low_pct + pp[P_BAT_MARGIN])  # noqa: PLR0124
    code = cond[i, H_BATTERY]
    lvl = 3 if dead else 2 if low else 0
    new = 0 if ok else max(code, lvl)
    det = D_DEAD if new == 3 else D_LOW if new == 2 else D_NONE
    _emit(cond, bs, out, kk, H_BATTERY, i, new, t, pct, det)
    if cond[i, H_BATTERY] >= 2 and code < 2:
        due = t + pp[P_BAT_REMIND]
        fs[i, S_REMIND_AT] = due
        _lower_due(nd, i, due)


# --- gas ---------------------------------------------------------------------------


@_hot
def _gas_step(fs, gas_lel, cond, bs, out, kk, pp, i, t):
    code = cond[i, H_GAS]
    w_due = fs[i, S_GAS_WS] + pp[P_GAS_WARN_HOLD]
    c_due = fs[i, S_GAS_CS] + pp[P_GAS_CRIT_HOLD]
    r_due = fs[i, S_GAS_CLR] + pp[P_GAS_CLEAR_HOLD]
    crit = c_due <= t and code < 3
    warn = w_due <= t and code < 2 and not crit
    clear = r_due <= t and code > 0
    lel = np.float64(gas_lel[i])
    if crit:
        _emit(cond, bs, out, kk, H_GAS, i, 3, c_due, lel, D_NONE)
    elif warn:
        _emit(cond, bs, out, kk, H_GAS, i, 2, w_due, lel, D_NONE)
    elif clear:
        _emit(cond, bs, out, kk, H_GAS, i, 0, r_due, lel, D_NONE)
    if clear:
        fs[i, S_GAS_CLR] = NAN


@_hot
def _gas(fs, nd, gas_lel, cond, bs, out, kk, pp, i, t, lel):
    _gas_step(fs, gas_lel, cond, bs, out, kk, pp, i, t)
    fs[i, S_GAS_WS] = _keep_or(fs[i, S_GAS_WS], lel >= pp[P_GAS_WARN_LEL], t)
    fs[i, S_GAS_CS] = _keep_or(fs[i, S_GAS_CS], lel >= pp[P_GAS_CRIT_LEL], t)
    raised = cond[i, H_GAS] > 0
    fs[i, S_GAS_CLR] = _keep_or(fs[i, S_GAS_CLR], lel < pp[P_GAS_CLEAR_LEL] and raised, t)
    gas_lel[i] = lel
    _gas_step(fs, gas_lel, cond, bs, out, kk, pp, i, t)
    new = 4 if lel >= pp[P_GAS_EVACUATE_LEL] else cond[i, H_GAS]
    _emit(cond, bs, out, kk, H_GAS, i, new, t, lel, D_EVACUATE if new == 4 else D_NONE)
    w_due = fs[i, S_GAS_WS] + pp[P_GAS_WARN_HOLD]
    c_due = fs[i, S_GAS_CS] + pp[P_GAS_CRIT_HOLD]
    r_due = fs[i, S_GAS_CLR] + pp[P_GAS_CLEAR_HOLD]
    _lower_due(nd, i, _fmin(_fmin(w_due, c_due), r_due))


# --- carbon monoxide ---------------------------------------------------------------


@_hot
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


@_hot
def _co_cross(fs, i, eq, tau, alarm):
    d0 = fs[i, S_CO_DOSE]
    t0 = fs[i, S_CO_T]
    if d0 >= alarm:
        return t0
    if eq > alarm:
        return t0 + tau * math.log((eq - d0) / (eq - alarm))
    return NAN


@_hot
def _co_step(fs, cond, bs, out, kk, i, t, eq, tau, alarm, clear_ppm, clear_hold):
    code = cond[i, H_CO]
    ppm = fs[i, S_CO_PPM]
    cross = _co_cross(fs, i, eq, tau, alarm)
    rise = code == 0 and ppm >= clear_ppm and cross <= t
    r_due = fs[i, S_CO_CLR] + clear_hold
    clear = code > 0 and r_due <= t
    if rise or clear:
        if rise:
            new, ts = 3, cross
        else:
            new, ts = 0, r_due
        _emit(cond, bs, out, kk, H_CO, i, new, ts, ppm, D_NONE)
        if clear:
            fs[i, S_CO_CLR] = NAN
    return cross


@_hot
def _co(fs, nd, cond, bs, out, kk, pp, co_x, rates, i, t, ppm):
    tau = pp[P_CO_HALF_LIFE_MIN] * (60.0 / LN2)
    alarm = pp[P_CO_ALARM_DOSE]
    clear_ppm = pp[P_CO_CLEAR_PPM]
    clear_hold = pp[P_CO_CLEAR_HOLD]
    eq = _co_rate(co_x, rates, fs[i, S_CO_PPM]) * tau
    _co_step(fs, cond, bs, out, kk, i, t, eq, tau, alarm, clear_ppm, clear_hold)
    t0 = fs[i, S_CO_T]
    dose = eq + (fs[i, S_CO_DOSE] - eq) * math.exp(-(t - t0) / tau)
    fs[i, S_CO_DOSE] = 0.0 if (t0 != t0 or dose < DOSE_FLUSH) else dose  # noqa: PLR0124
    fs[i, S_CO_T] = t
    fs[i, S_CO_PPM] = ppm
    raised = cond[i, H_CO] > 0
    fs[i, S_CO_CLR] = _keep_or(fs[i, S_CO_CLR], ppm < clear_ppm and raised, t)
    eq = _co_rate(co_x, rates, ppm) * tau
    cross = _co_step(fs, cond, bs, out, kk, i, t, eq, tau, alarm, clear_ppm, clear_hold)
    code = cond[i, H_CO]
    rise = cross if (code == 0 and fs[i, S_CO_PPM] >= clear_ppm) else NAN
    clear = fs[i, S_CO_CLR] + clear_hold if code > 0 else NAN
    _lower_due(nd, i, _fmin(rise, clear))


# --- heat, water, smoke ------------------------------------------------------------


@_hot
def _heat(fs, cond, bs, out, kk, pp, i, t, temp):
    """The heat levels of a reading (the caller then stores it as the last temperature)."""
    dt = t - fs[i, S_HEAT_T]
    ok = dt > 0 and dt <= pp[P_HEAT_ROR_WINDOW]
    rate = (temp - fs[i, S_HEAT_C]) / dt * 60.0 if ok else 0.0
    fast = rate >= pp[P_HEAT_ROR_RATE]
    alarm = pp[P_HEAT_ROR_ALARM] if fast else pp[P_HEAT_ALARM]
    pre = pp[P_HEAT_ROR_PREWARN] if fast else pp[P_HEAT_PREWARN]
    lvl = 3 if temp >= alarm else 2 if temp >= pre else 0
    code = cond[i, H_HEAT]
    new = 0 if temp < pp[P_HEAT_CLEAR] else max(code, lvl)
    det = D_NONE if new == 0 else D_ROR if fast else D_FIXED
    _emit(cond, bs, out, kk, H_HEAT, i, new, t, temp, det)


@_hot
def _water_step(fs, bs, cond, out, kk, pp, i, t):
    code = cond[i, H_WATER]
    ws = fs[i, S_WET_SINCE]
    w_due = ws + pp[P_WATER_DEBOUNCE]
    c_due = ws + pp[P_WATER_CRITICAL]
    crit = c_due <= t and not bs[i, B_WATER_ACK] and code < 3
    if crit:
        _emit(cond, bs, out, kk, H_WATER, i, 3, c_due, 1.0, D_UNACK)
    elif w_due <= t and code < 2:
        _emit(cond, bs, out, kk, H_WATER, i, 2, w_due, 1.0, D_WET)


@_hot
def _water(fs, nd, bs, cond, out, kk, pp, i, t, wet):
    _water_step(fs, bs, cond, out, kk, pp, i, t)
    on = wet == 1.0
    fs[i, S_WET_SINCE] = _keep_or(fs[i, S_WET_SINCE], on, t)
    bs[i, B_WATER_ACK] = bs[i, B_WATER_ACK] and on
    new = cond[i, H_WATER] if on else 0
    _emit(cond, bs, out, kk, H_WATER, i, new, t, wet,
          D_UNACK if new == 3 else D_WET if new == 2 else D_NONE)
    _water_step(fs, bs, cond, out, kk, pp, i, t)
    ws = fs[i, S_WET_SINCE]
    _lower_due(nd, i, _fmin(ws + pp[P_WATER_DEBOUNCE], ws + pp[P_WATER_CRITICAL]))


@_hot
def _smoke_step(fs, cond, bs, out, kk, i, t):
    code = cond[i, H_SMOKE]
    until = fs[i, S_UNTIL]
    if code == 1 and until <= t:
        _emit(cond, bs, out, kk, H_SMOKE, i, 3, until, 1.0, D_REARMED)


@_hot
def _smoke(fs, cond, bs, out, kk, i, t, smoke):
    _smoke_step(fs, cond, bs, out, kk, i, t)
    code = cond[i, H_SMOKE]
    new = (3 if code == 0 else code) if smoke == 1.0 else 0
    _emit(cond, bs, out, kk, H_SMOKE, i, new, t, smoke,
          D_DEVICE_ALARM if new == 3 else D_NONE)


# --- doors and welfare -------------------------------------------------------------


@_hot
def _door_step(fs, cond, bs, out, kk, pp, i, t):
    code = cond[i, H_DOOR_OPEN]
    o_due = fs[i, S_OPEN_SINCE] + pp[P_DOOR_OPEN_MAX]
    if o_due <= t and code < 2:
        _emit(cond, bs, out, kk, H_DOOR_OPEN, i, 2, o_due, 1.0, D_HELD)
    until = fs[i, S_UNTIL]
    if cond[i, H_DOOR_NIGHT] > 0 and until <= t:
        _emit(cond, bs, out, kk, H_DOOR_NIGHT, i, 0, until, NAN, D_NONE)


@_hot
def _door(fs, nd, cond, bs, out, kk, pp, tz, elderly, i, t, opened):
    """A door reading that may change a condition (see _row for the others)."""
    is_open = opened == 1.0
    _door_step(fs, cond, bs, out, kk, pp, i, t)
    was_open = fs[i, S_OPEN_SINCE] == fs[i, S_OPEN_SINCE]
    if is_open != was_open:
        fs[i, S_W_BASE] = t
    fs[i, S_OPEN_SINCE] = (fs[i, S_OPEN_SINCE] if was_open else t) if is_open else NAN
    code = cond[i, H_DOOR_OPEN]
    new = code if is_open else 0
    _emit(cond, bs, out, kk, H_DOOR_OPEN, i, new, t, opened, D_NONE)
    local = (t + tz) % DAY_S
    start = pp[P_NIGHT_START_H] * 3600.0
    end = pp[P_NIGHT_END_H] * 3600.0
    inside = (start <= local < end) if start <= end else (local >= start or local < end)
    ends = t - local + end + (DAY_S if local >= end else 0.0)
    night = is_open and not was_open and inside and elderly
    ncode = cond[i, H_DOOR_NIGHT]
    if night and ncode == 0:
        fs[i, S_UNTIL] = ends
    new = max(ncode, 2) if night else ncode
    _emit(cond, bs, out, kk, H_DOOR_NIGHT, i, new, t, opened,
          D_NIGHT if new == 2 else D_NONE)
    _door_step(fs, cond, bs, out, kk, pp, i, t)
    o_due = fs[i, S_OPEN_SINCE] + pp[P_DOOR_OPEN_MAX] if cond[i, H_DOOR_OPEN] < 2 else NAN
    n_due = fs[i, S_UNTIL] if cond[i, H_DOOR_NIGHT] > 0 else NAN
    _lower_due(nd, i, _fmin(o_due, n_due))


@_hot
def _welfare(fs, nd, bs, cond, out, kk, pp, away, i, t):
    healthy = (cond[i, H_OFFLINE] == 0 and cond[i, H_BATTERY] < 3 and not away
               and not bs[i, B_MAINT])
    wb = fs[i, S_W_BASE]
    if (healthy and bs[i, B_WELFARE_BLIND]) or wb != wb:  # noqa: PLR0124
        wb = _fmax(wb, t)
    fs[i, S_W_BASE] = wb
    bs[i, B_WELFARE_BLIND] = not healthy
    w_due = wb + pp[P_WELFARE_WARN]
    c_due = wb + pp[P_WELFARE_CRIT]
    code = cond[i, H_WELFARE]
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
    _emit(cond, bs, out, kk, H_WELFARE, i, new, ts, NAN, why)
    # doors.welfare_dues
    healthy = (cond[i, H_OFFLINE] == 0 and cond[i, H_BATTERY] < 3 and not away
               and not bs[i, B_MAINT])
    code = cond[i, H_WELFARE]
    wb = fs[i, S_W_BASE]
    due = _fmin(wb + pp[P_WELFARE_WARN] if code < 2 else NAN,
                wb + pp[P_WELFARE_CRIT] if code < 3 else NAN)
    if wb != wb:  # noqa: PLR0124
        due = -np.inf
    if healthy == bs[i, B_WELFARE_BLIND]:
        due = -np.inf
    elif not healthy:
        due = NAN
    _lower_due(nd, i, due)


# --- the batch ---------------------------------------------------------------------


@_inline
def _val(values, clean, first, r, j):
    """Field ``j`` of row ``r``: from ``clean`` when the row has an impossible value."""
    return values[j, r] if first < 0 else clean[j]


@_inline
def _impossible(x, lo, hi, flag):
    """health.plausible for one value: outside [lo, hi], or a flag strictly inside (0, 1)."""
    return x < lo or x > hi or (flag and x * (x - 1.0) < 0.0)


@_jit
def _bad_fields(values, lo, hi, boolean, bad):
    """``bad[r]`` = 1 + the first field of row ``r`` with an impossible value (0: none)."""
    bad[:] = 0
    for j in range(values.shape[0] - 1, -1, -1):  # last field first: the first one wins
        a, b, flag = lo[j], hi[j], boolean[j]
        for r in range(values.shape[1]):
            x = values[j, r]
            if _impossible(x, a, b, flag):
                bad[r] = j + 1


@_inline
def _row(fs, bs, nd, gas_lel, cond, out, kk, pmat, prof, hb, kind, primary, welfare,  # noqa: PLR0915
         elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz, values, bad, clean, r,
         i, t, now):
    """One accepted reading of device ``i`` at event time ``t`` (engine._round, one row).
    ``bad[r]``: 1 + the first field of the row with a physically impossible value, 0
    when none; ``clean`` is scratch for such a row's values (impossible ones NaN)."""
    pr = prof[i]
    pp = pmat[pr]
    ls = _fmax(fs[i, S_LAST_SEEN], t)
    fs[i, S_LAST_SEEN] = ls
    if cond[i, H_OFFLINE] > 0 or cond[i, H_UNPROTECTED] > 0:
        _seen(fs, nd, cond, bs, out, kk, pp, hb[i], i, t, now, ls)
    first = bad[r] - 1
    if first >= 0:  # impossible values count as absent, the first one is reported
        for j in range(N_FIELDS):
            x = values[j, r]
            clean[j] = NAN if _impossible(x, lo[j], hi[j], boolean[j]) else x
        _emit(cond, bs, out, kk, H_IMPLAUSIBLE, i, 2, t, values[first, r], D_FIELD0 + first)
    elif cond[i, H_IMPLAUSIBLE] > 0:
        _emit(cond, bs, out, kk, H_IMPLAUSIBLE, i, 0, t, values[0, r], D_NONE)
    pct, flag = _val(values, clean, first, r, F_BAT_PCT), _val(values, clean, first, r, F_BAT_LOW)
    if (pct == pct or flag == flag) and (  # noqa: PLR0124
            flag == 1.0 or pct <= floors[2] or cond[i, H_BATTERY] > 0):
        _battery(fs, nd, cond, bs, out, kk, pp, i, t, pct, flag)
    x = _val(values, clean, first, r, F_TAMPER)
    if x == x and (x == 1.0 or cond[i, H_TAMPER] > 0):  # noqa: PLR0124
        _emit(cond, bs, out, kk, H_TAMPER, i, 2 if x == 1.0 else 0, t, x,
              D_TAMPER if x == 1.0 else D_NONE)
    x = _val(values, clean, first, r, F_LEL)
    if x == x:  # noqa: PLR0124
        timer = _fmin(_fmin(fs[i, S_GAS_WS], fs[i, S_GAS_CS]), fs[i, S_GAS_CLR])
        if x >= floors[0] or cond[i, H_GAS] > 0 or timer == timer:  # noqa: PLR0124
            _gas(fs, nd, gas_lel, cond, bs, out, kk, pp, i, t, x)
    x = _val(values, clean, first, r, F_CO)
    if x == x and (x > 0 or cond[i, H_CO] > 0 or fs[i, S_CO_PPM] > 0  # noqa: PLR0124
                   or fs[i, S_CO_CLR] == fs[i, S_CO_CLR]):  # 0 ppm of a quiet device: skip
        _co(fs, nd, cond, bs, out, kk, pp, co_x, co_rates[pr], i, t, x)
    x = _val(values, clean, first, r, F_TEMP)
    if x == x:  # noqa: PLR0124
        if x >= floors[1] or cond[i, H_HEAT] > 0:
            _heat(fs, cond, bs, out, kk, pp, i, t, x)
        fs[i, S_HEAT_C] = x
        fs[i, S_HEAT_T] = t
    x = _val(values, clean, first, r, F_WATER)
    if x == x and (x == 1.0 or cond[i, H_WATER] > 0  # noqa: PLR0124
                   or fs[i, S_WET_SINCE] == fs[i, S_WET_SINCE] or bs[i, B_WATER_ACK]):
        _water(fs, nd, bs, cond, out, kk, pp, i, t, x)
    x = _val(values, clean, first, r, F_OPEN)
    if x == x:  # noqa: PLR0124
        os = fs[i, S_OPEN_SINCE]
        was_open = os == os  # noqa: PLR0124
        is_open = x == 1.0
        if (cond[i, H_DOOR_OPEN] > 0 or cond[i, H_DOOR_NIGHT] > 0
                or ((was_open or is_open) and math.isfinite(pp[P_DOOR_OPEN_MAX]))
                or (is_open and not was_open and welfare[i])):
            _door(fs, nd, cond, bs, out, kk, pp, tz, elderly[i] and hh[i] >= 0, i, t, x)
        else:  # no condition can change: only the door's state moves (doors.door_quiet)
            if is_open != was_open:
                fs[i, S_W_BASE] = t
            fs[i, S_OPEN_SINCE] = (os if was_open else t) if is_open else NAN
    x = _val(values, clean, first, r, F_SMOKE)
    if x == x and (x == 1.0 or cond[i, H_SMOKE] > 0):  # noqa: PLR0124
        _smoke(fs, cond, bs, out, kk, i, t, x)
    j = primary[kind[i]]
    if j >= 0:
        x = _val(values, clean, first, r, j)
        if x == x:  # noqa: PLR0124 - the stuck rule
            same = x == fs[i, S_STUCK_VAL] and not (x == 0.0 and pp[P_STUCK_IGNORE_ZERO] > 0)
            since = fs[i, S_STUCK_SINCE] if same else t
            fs[i, S_STUCK_SINCE] = since
            fs[i, S_STUCK_VAL] = x
            new = 2 if t - since >= pp[P_STUCK_S] else 0
            if new > 0 or cond[i, H_STUCK] > 0:
                _emit(cond, bs, out, kk, H_STUCK, i, new, t, x,
                      D_SAME if new == 2 else D_NONE)
    if welfare[i]:
        _welfare(fs, nd, bs, cond, out, kk, pp, away[hh[i]], i, t)


@_hot
def _apply_rows(start, total, order, t_eff, fs, bs, nd, gas_lel, last_seq, cond, out, kk, mark,
                pmat, prof, hb, kind, primary, welfare, elderly, hh, away, co_x, co_rates, lo, hi,
                boolean, floors, tz, device_idx, seq, values, bad, clean, now):
    """Apply rows ``order[start:total]`` while ``out`` has room for another row's
    transitions; returns (where it stopped, rows dropped as late or duplicate)."""
    dropped = 0
    sink = 0.0
    for k in range(start, total):
        if kk[0] + MAX_PER_ROW > len(out):
            return k, dropped
        if k % CHUNK == 0 or k == start:
            # load the next rows' state first, with many loads in flight at once: a
            # row's rules branch on what they load, which stalls one load at a time
            for r in order[k:min(k + CHUNK, total)]:
                i = device_idx[r]
                # a device's float state spans three cache lines: touch each
                sink += (fs[i, 0] + fs[i, 8] + fs[i, fs.shape[1] - 1] + cond[i, 0]
                         + last_seq[i] + prof[i])
        r = order[k]
        i = device_idx[r]
        mark[i] = 0
        t = t_eff[r]
        q = seq[r]
        lt = fs[i, S_LAST_TS]
        if not (t > lt or (t == lt and q > last_seq[i])):
            dropped += 1
            continue
        fs[i, S_LAST_TS] = t
        last_seq[i] = q
        _row(fs, bs, nd, gas_lel, cond, out, kk, pmat, prof, hb, kind, primary, welfare,
             elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz, values, bad, clean,
             r, i, t, now)
    clean[0] = sink  # scratch: the store keeps the loads above
    return total, dropped


@_hot
def _sort_groups(rows, device_idx, t_eff, seq):
    """Sort each run of one device's rows by (event time, seq), in place (insertion sort:
    a device has a few rows in a batch, mostly in order already)."""
    a = 0
    m = len(rows)
    while a < m:
        dev = device_idx[rows[a]]
        b = a + 1
        while b < m and device_idx[rows[b]] == dev:
            b += 1
        for k in range(a + 1, b):
            r = rows[k]
            t, q = t_eff[r], seq[r]
            j = k - 1
            while j >= a and (t_eff[rows[j]] > t or (t_eff[rows[j]] == t and seq[rows[j]] > q)):
                rows[j + 1] = rows[j]
                j -= 1
            rows[j + 1] = r
        a = b


@_jit
def _grow(out, k):
    new = np.empty((2 * len(out) + MAX_PER_ROW, out.shape[1]))
    new[:k] = out[:k]
    return new


@_jit_nogil
def apply_batch(fs, bs, nd, gas_lel, last_seq, cond, out, mark, pmat, prof, hb, kind, primary,
                welfare, elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz,
                device_idx, ts, recv_ts, seq, values, now, max_future_s):
    """Apply a batch; returns (the output buffer, ``out`` or a larger copy; how many
    transitions it holds; rows dropped as late, duplicate or invalid).

    Arguments are the engine's: ``fs`` / ``bs`` the state's float and bool blocks
    (device, column), ``nd`` its ``next_due``, ``cond`` the (device, hazard) codes,
    ``pmat`` the parameters (profile, name), ``floors`` the gas, heat and battery floors
    of :class:`RuleParams`, ``primary`` per kind code the field the stuck rule watches
    (-1: none), ``welfare`` the welfare doors, ``mark`` zeroed scratch (one byte per
    device, zero again on return), ``values`` the batch's (field, row) values. Rows of
    one device are applied in ``(ts, seq)`` order; a row not newer than the last one
    applied to its device is dropped.
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
        rows = rows[np.argsort(device_idx[rows], kind="mergesort")]
        _sort_groups(rows, device_idx, t_eff, seq)
        order[n1:n1 + nm] = rows
    bad = np.empty(n, dtype=np.int8)
    _bad_fields(values, lo, hi, boolean, bad)
    clean = np.empty(N_FIELDS)  # the plausible values of a row with impossible ones
    total = n1 + nm
    k = 0
    while True:
        k, d = _apply_rows(k, total, order, t_eff, fs, bs, nd, gas_lel, last_seq, cond, out, kk,
                           mark, pmat, prof, hb, kind, primary, welfare, elderly, hh, away, co_x,
                           co_rates, lo, hi, boolean, floors, tz, device_idx, seq, values, bad,
                           clean, now)
        dropped += d
        if k >= total:
            return out, kk[0], dropped
        out = _grow(out, kk[0])


def warm_up() -> None:
    """Compile the kernel (or load it from Numba's cache) now rather than on the first
    batch: a cold compile takes tens of seconds. ``scripts/setup`` runs this."""
    from alerts.rules.engine import RuleEngine  # the engine imports this module
    from sensors.batch import ReadingBatch, Row
    from sensors.fields import DeviceKind
    from sensors.registry import KIND_CODE, DeviceTable

    table = DeviceTable(
        community="warm-up", ids=["d0"], index={"d0": 0},
        kind=np.array([KIND_CODE[DeviceKind.GAS]], dtype=np.int8),
        heartbeat_s=np.array([60.0]), household=np.array([-1], dtype=np.int32),
        unit=np.array([-1], dtype=np.int32), elderly_alone=np.array([False]))
    values = [NAN] * N_FIELDS
    values[F_LEL] = 1.0
    RuleEngine(table).evaluate(ReadingBatch.from_rows([Row("d0", 0, 1.0, 1.0, 1, values)]), 1.0)
