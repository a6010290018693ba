"""The rule core's one production form: every per-device rule as scalar code compiled by
Numba, run over the engine's NumPy state arrays.

Layer: pure core. Three entry points share the rules below: :func:`apply_batch` (a
batch of readings, row by row per device in ``(ts, seq)`` order), :func:`sweep` (the
absence rules of the devices whose ``next_due`` has passed) and :func:`command`
(availability, away, maintenance, hush, acknowledge). The plain-Python oracle in
``tests/oracle/rules.py`` states every rule a second time, for the tests only.

This module owns the layout of the state and the parameters: ``state.py`` and
``params.py`` import the column tables below. Numba keys its on-disk cache on this
file alone, so a layout that lived in another module could change under a stale cache;
here, changing it changes this file. The reading fields belong to ``sensors.fields``
(a lower layer), so their columns are literals here, checked at import.

What makes it fast (figures in ``alerts/rules/README.md``): the state is laid out by
device, the row loop loads the next rows' state before applying them, and the rules
run without Numba's reference counting (``_nrt=False``, see the decorators).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
from numba import njit

from alerts.rules.types import Hazard
from sensors.fields import FIELD_INDEX, FIELDS

log = logging.getLogger(__name__)
NAN = math.nan
LN2 = math.log(2.0)
DOSE_FLUSH = 1e-6  # a CO dose below this is zero (about 70 h after an alarm)
DAY_S = 86_400.0

# --- the layout (owned here) ---------------------------------------------------------

# condition codes: one int8 per (device, hazard), a (device, hazard) block
HAZARD_NAMES: tuple[str, ...] = (
    "gas", "co", "smoke", "heat", "water_leak", "door_open", "door_night", "welfare",
    "offline", "unprotected", "tamper", "battery_low", "stuck", "implausible")
H_GAS, H_CO, H_SMOKE, H_HEAT, H_WATER, H_DOOR_OPEN, H_DOOR_NIGHT, H_WELFARE = range(8)
H_OFFLINE, H_UNPROTECTED, H_TAMPER, H_BATTERY, H_STUCK, H_IMPLAUSIBLE = range(8, 14)
N_HAZARDS = 14

# float64 per-device state: columns of one (device, column) block
FLOAT_BLOCK: tuple[str, ...] = (
    "last_seen", "last_ts", "gas_ws", "gas_cs", "gas_clr", "co_dose", "co_t",
    "co_ppm", "co_clr", "heat_c", "heat_t", "wet_since", "open_since", "w_base", "until",
    "remind_at", "stuck_val", "stuck_since", "sp_last", "sp_n",
)
(S_LAST_SEEN, S_LAST_TS, S_GAS_WS, S_GAS_CS, S_GAS_CLR, S_CO_DOSE, S_CO_T,
 S_CO_PPM, S_CO_CLR, S_HEAT_C, S_HEAT_T, S_WET_SINCE, S_OPEN_SINCE, S_W_BASE, S_UNTIL,
 S_REMIND_AT, S_STUCK_VAL, S_STUCK_SINCE, S_SP_LAST, S_SP_N) = range(20)
# bool per-device state: columns of one block
BOOL_BLOCK: tuple[str, ...] = ("maint", "water_ack", "welfare_blind", "water_int")
B_MAINT, B_WATER_ACK, B_WELFARE_BLIND, B_WATER_INT = range(4)

# rule parameters: columns of the (profile, parameter) matrix
PARAM_NAMES: tuple[str, ...] = (
    "gas_warn_lel", "gas_warn_hold_s", "gas_crit_lel", "gas_crit_hold_s", "gas_clear_lel",
    "gas_clear_hold_s", "gas_evacuate_lel", "co_alarm_dose", "co_half_life_min",
    "co_clear_ppm", "co_clear_hold_s", "smoke_hush_s", "smoke_group_s", "heat_alarm_c",
    "heat_prewarn_c", "heat_ror_alarm_c", "heat_ror_prewarn_c", "heat_ror_c_per_min",
    "heat_ror_window_s", "heat_clear_c", "water_debounce_s", "water_critical_s",
    "door_open_max_s", "door_night_start_h", "door_night_end_h", "welfare_warn_s",
    "welfare_crit_s", "offline_heartbeats", "offline_margin_s", "unprotected_s",
    "battery_low_pct", "battery_dead_pct", "battery_clear_margin_pct", "battery_remind_s",
    "stuck_s", "stuck_ignore_zero", "maintenance", "intermittent_spells", "intermittent_s",
    "co_intermittent_ppm",
)
(P_GAS_WARN_LEL, P_GAS_WARN_HOLD, P_GAS_CRIT_LEL, P_GAS_CRIT_HOLD, P_GAS_CLEAR_LEL,
 P_GAS_CLEAR_HOLD, P_GAS_EVACUATE_LEL, P_CO_ALARM_DOSE, P_CO_HALF_LIFE_MIN,
 P_CO_CLEAR_PPM, P_CO_CLEAR_HOLD, P_SMOKE_HUSH, P_SMOKE_GROUP, P_HEAT_ALARM,
 P_HEAT_PREWARN, P_HEAT_ROR_ALARM, P_HEAT_ROR_PREWARN, P_HEAT_ROR_RATE,
 P_HEAT_ROR_WINDOW, P_HEAT_CLEAR, P_WATER_DEBOUNCE, P_WATER_CRITICAL,
 P_DOOR_OPEN_MAX, P_NIGHT_START_H, P_NIGHT_END_H, P_WELFARE_WARN,
 P_WELFARE_CRIT, P_OFFLINE_HEARTBEATS, P_OFFLINE_MARGIN, P_UNPROTECTED,
 P_BAT_LOW, P_BAT_DEAD, P_BAT_MARGIN, P_BAT_REMIND,
 P_STUCK_S, P_STUCK_IGNORE_ZERO, P_MAINTENANCE, P_INT_SPELLS, P_INT_S,
 P_CO_INT_PPM) = range(40)

# reading fields (sensors.fields.FIELDS order; checked below)
F_LEL, F_CO, F_SMOKE, F_TEMP, F_WATER, F_OPEN, F_BAT_PCT, F_BAT_LOW, F_TAMPER = (
    0, 1, 2, 4, 5, 6, 7, 8, 9)
N_FIELDS = 11

# the detail strings a transition can carry; implausible readings name their field
DETAILS: tuple[str, ...] = (
    "", "evacuate", "wet", "unacknowledged", "rearmed", "device_alarm", "fixed",
    "rate_of_rise", "tamper", "low", "dead", "same_value", "held_open", "night_opening",
    "sensor_fault", "away", "door_activity", "intermittent", "reminder", "heartbeat",
    "welfare_blind", "availability", "unprotected", "maintenance", "hushed",
    *(f.name for f in FIELDS),
)
(D_NONE, D_EVACUATE, D_WET, D_UNACK, D_REARMED, D_DEVICE_ALARM, D_FIXED, D_ROR, D_TAMPER,
 D_LOW, D_DEAD, D_SAME, D_HELD, D_NIGHT, D_SENSOR_FAULT, D_AWAY, D_DOOR_ACTIVITY,
 D_INTERMITTENT, D_REMINDER, D_HEARTBEAT, D_WELFARE_BLIND, D_AVAILABILITY, D_UNPROTECTED,
 D_MAINTENANCE, D_HUSHED) = range(25)
D_FIELD0 = 25

# commands (see :func:`command`)
OP_ONLINE, OP_OFFLINE, OP_AWAY, OP_BACK, OP_MAINT_ON, OP_MAINT_OFF, OP_HUSH, OP_ACK = range(8)

# Transitions one row can cause at most (two steps and an apply per timed rule, six
# door emissions, one each for the rest), rounded up: the output buffer's room per row
# or per swept device.
MAX_PER_ROW = 32
CHUNK = 64  # rows whose state is loaded ahead of applying them
# columns of the output buffer
O_DEV, O_HAZARD, O_CODE, O_TS, O_VALUE, O_DETAIL = range(6)


def _check_tables() -> None:
    problems: list[str] = []
    if tuple(h.value for h in Hazard) != HAZARD_NAMES:
        problems.append("alerts.rules.types.Hazard order")
    problems += [f for f, k in (
        ("lel_pct", F_LEL), ("co_ppm", F_CO), ("smoke", F_SMOKE), ("temp_c", F_TEMP),
        ("water_leak", F_WATER), ("open", F_OPEN), ("battery_pct", F_BAT_PCT),
        ("battery_low", F_BAT_LOW), ("tamper", F_TAMPER)) if FIELD_INDEX[f] != k]
    if len(FIELDS) != N_FIELDS or problems:
        raise ImportError(f"alerts.rules.kernel: tables moved, update its indices: {problems}")


_check_tables()

# Numba's decorators. Inside the row loop nothing allocates, so those functions are
# compiled without reference counting (``_nrt=False``, which Numba's type stubs do not
# list; pyproject pins the Numba range it was tested with and
# tests/unit/rules/test_kernel_build.py fails when it stops working): with it, every
# call that passes arrays counted references atomically, which stalls the loads the
# rules depend on and cost more than the rules themselves.
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
    """A timer: kept where already running, started at ``t`` where it starts, NaN when off."""
    if running:
        return t if since != since else since  # noqa: PLR0124
    return NAN


@_inline
def _put(out, kk, i, h, code, ts, value, det):
    """Append one transition to the output buffer."""
    k = kk[0]
    out[k, O_DEV] = i
    out[k, O_HAZARD] = h
    out[k, O_CODE] = code
    out[k, O_TS] = ts
    out[k, O_VALUE] = value
    out[k, O_DETAIL] = det
    kk[0] = k + 1


@_hot
def _emit(cond, bs, out, kk, h, i, new, ts, value, det):
    """Store code ``new`` (0 in maintenance, GB/T 45839 5.8.4) when it differs from the
    stored one and record the transition; returns whether it did."""
    if bs[i, B_MAINT]:
        new = 0
    if new == cond[i, h]:
        return False
    cond[i, h] = new
    _put(out, kk, i, h, new, ts, value, det)
    return True


@_inline
def _lower_due(nd, i, due):
    """Make the sweep look at device ``i`` no later than ``due`` (NaN: no deadline)."""
    nd[i] = _fmin(nd[i], due)


@_inline
def _spell(fs, pp, i, t):
    """A hazard spell of device ``i`` began at ``t``: the length of its run (spells each
    beginning within ``intermittent_s`` of the previous one)."""
    last = fs[i, S_SP_LAST]
    n = fs[i, S_SP_N] + 1.0 if t - last <= pp[P_INT_S] else 1.0
    fs[i, S_SP_LAST] = t
    fs[i, S_SP_N] = n
    return n


@_inline
def _in_run(fs, pp, i, t):
    """Whether device ``i`` is in an intermittent run at ``t``: at least
    ``intermittent_spells`` spells, the last begun within ``intermittent_s``."""
    return fs[i, S_SP_N] >= pp[P_INT_SPELLS] and t - fs[i, S_SP_LAST] <= pp[P_INT_S]


# --- device health -----------------------------------------------------------------


@_inline
def _limits(pp, hb):
    """(offline limit, unprotected limit), seconds after the last message."""
    return hb * pp[P_OFFLINE_HEARTBEATS] + pp[P_OFFLINE_MARGIN], pp[P_UNPROTECTED]


@_hot
def _seen(fs, nd, cond, bs, out, kk, pp, hb, i, t, now):
    """A message at ``t`` (a reading or ``online``): last seen moves; offline and
    unprotected clear when the device is no longer stale."""
    ls = _fmax(fs[i, S_LAST_SEEN], t)
    fs[i, S_LAST_SEEN] = ls
    if cond[i, H_OFFLINE] == 0 and cond[i, H_UNPROTECTED] == 0:
        return  # the sweep's next_due is already no later than the new deadlines
    off, unp = _limits(pp, hb)
    code = cond[i, H_OFFLINE]
    _emit(cond, bs, out, kk, H_OFFLINE, i, 0 if now < ls + off else code, t, NAN, D_NONE)
    code = cond[i, H_UNPROTECTED]
    _emit(cond, bs, out, kk, H_UNPROTECTED, i, 0 if now < ls + unp else code, t, NAN,
          D_NONE)
    _lower_due(nd, i, ls + _fmin(off, unp))


@_hot
def _offline_step(fs, cond, bs, out, kk, pp, hb, welfare, epoch, i, now):
    """Offline after a margin over the heartbeat; a fire or gas device unprotected after
    24 h (absence counts from the engine's first ``now`` for a device never heard)."""
    base = _fmax(fs[i, S_LAST_SEEN], epoch)
    off, unp = _limits(pp, hb)
    if cond[i, H_OFFLINE] == 0 and base + off <= now:
        _emit(cond, bs, out, kk, H_OFFLINE, i, 2, base + off, NAN,
              D_WELFARE_BLIND if welfare else D_HEARTBEAT)
    if cond[i, H_UNPROTECTED] == 0 and base + unp <= now:
        _emit(cond, bs, out, kk, H_UNPROTECTED, i, 3, base + unp, NAN, D_UNPROTECTED)


@_inline
def _offline_due(fs, cond, pp, hb, epoch, i):
    base = _fmax(fs[i, S_LAST_SEEN], epoch)
    off, unp = _limits(pp, hb)
    return _fmin(base + off if cond[i, H_OFFLINE] == 0 else NAN,
                 base + unp if cond[i, H_UNPROTECTED] == 0 else NAN)


@_hot
def _battery(fs, nd, cond, bs, out, kk, pp, i, t, pct, flag):
    """Low (warning) or dead (critical); clears only well above the low level."""
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


@_hot
def _battery_remind(fs, cond, out, kk, pp, i, now):
    """The daily reminder of a low battery: the same code again, detail ``reminder``
    (the one transition that is not a change)."""
    code = cond[i, H_BATTERY]
    at = fs[i, S_REMIND_AT]
    if code >= 2 and at <= now:
        every = pp[P_BAT_REMIND]
        fs[i, S_REMIND_AT] = at + (math.floor((now - at) / every) + 1.0) * every
        _put(out, kk, i, H_BATTERY, code, at, NAN, D_REMINDER)


# --- gas ---------------------------------------------------------------------------


@_hot
def _gas_step(fs, gas_lel, cond, bs, out, kk, pp, i, t):
    """Warning / critical after their hold, clear after the clear hold, by time ``t``."""
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


@_inline
def _gas_due(fs, cond, pp, i):
    code = cond[i, H_GAS]
    return _fmin(_fmin(fs[i, S_GAS_WS] + pp[P_GAS_WARN_HOLD] if code < 2 else NAN,
                       fs[i, S_GAS_CS] + pp[P_GAS_CRIT_HOLD] if code < 3 else NAN),
                 fs[i, S_GAS_CLR] + pp[P_GAS_CLEAR_HOLD] if code > 0 else NAN)


@_hot
def _gas(fs, nd, gas_lel, cond, bs, out, kk, pp, spell, i, t, lel):
    """A %LEL reading: timers, then holds, then the evacuate level at once, then the
    intermittent rule (spells over the warning level, see the README)."""
    _gas_step(fs, gas_lel, cond, bs, out, kk, pp, i, t)
    warn = lel >= pp[P_GAS_WARN_LEL]
    onset = warn and fs[i, S_GAS_WS] != fs[i, S_GAS_WS]  # noqa: PLR0124
    fs[i, S_GAS_WS] = _keep_or(fs[i, S_GAS_WS], warn, t)
    fs[i, S_GAS_CS] = _keep_or(fs[i, S_GAS_CS], lel >= pp[P_GAS_CRIT_LEL], t)
    raised = cond[i, H_GAS] > 0
    fs[i, S_GAS_CLR] = _keep_or(fs[i, S_GAS_CLR], lel < pp[P_GAS_CLEAR_LEL] and raised, t)
    gas_lel[i] = lel
    _gas_step(fs, gas_lel, cond, bs, out, kk, pp, i, t)
    new = 4 if lel >= pp[P_GAS_EVACUATE_LEL] else cond[i, H_GAS]
    _emit(cond, bs, out, kk, H_GAS, i, new, t, lel, D_EVACUATE if new == 4 else D_NONE)
    if spell == H_GAS and warn:
        if onset:
            _spell(fs, pp, i, t)
        lvl = 3 if lel >= pp[P_GAS_CRIT_LEL] else 2
        if lvl > cond[i, H_GAS] and _in_run(fs, pp, i, t):
            _emit(cond, bs, out, kk, H_GAS, i, lvl, t, lel, D_INTERMITTENT)
    _lower_due(nd, i, _gas_due(fs, cond, pp, i))


# --- carbon monoxide ---------------------------------------------------------------


@_hot
def _co_rate(co_x, rates, ppm):
    """Dose per second at ``ppm``: the profile's curve (``rates``), linear between points."""
    if ppm != ppm:  # noqa: PLR0124
        return NAN
    n = len(co_x)
    k = np.searchsorted(co_x, ppm, side="right") - 1
    k = min(max(k, 0), n - 2)
    x0 = co_x[k]
    frac = min(max((ppm - x0) / (co_x[k + 1] - x0), 0.0), 1.0)
    r0 = rates[k]
    return r0 + frac * (rates[k + 1] - r0)


@_inline
def _co_tau(pp):
    """Recovery time constant, seconds (from the COHb half-life)."""
    return pp[P_CO_HALF_LIFE_MIN] * (60.0 / LN2)


@_hot
def _co_cross(fs, i, eq, tau, alarm):
    """Event time the dose reaches ``alarm`` if the held ppm (equilibrium ``eq``) stays."""
    d0 = fs[i, S_CO_DOSE]
    t0 = fs[i, S_CO_T]
    if d0 >= alarm:
        return t0
    if eq > alarm:
        return t0 + tau * math.log((eq - d0) / (eq - alarm))
    return NAN


@_hot
def _co_step(fs, cond, bs, out, kk, pp, i, t, eq):
    """Alarm when the dose crosses the alarm dose (ppm at or above the clear level);
    clear after the ppm stayed below the clear level for the clear hold. Returns when
    the dose crosses."""
    tau = _co_tau(pp)
    code = cond[i, H_CO]
    ppm = fs[i, S_CO_PPM]
    cross = _co_cross(fs, i, eq, tau, pp[P_CO_ALARM_DOSE])
    rise = code == 0 and ppm >= pp[P_CO_CLEAR_PPM] and cross <= t
    r_due = fs[i, S_CO_CLR] + pp[P_CO_CLEAR_HOLD]
    clear = code > 0 and r_due <= t
    if rise:
        _emit(cond, bs, out, kk, H_CO, i, 3, cross, ppm, D_NONE)
    elif clear:
        _emit(cond, bs, out, kk, H_CO, i, 0, r_due, ppm, D_NONE)
    if clear:
        fs[i, S_CO_CLR] = NAN
    return cross


@_inline
def _co_due(fs, cond, pp, i, cross):
    code = cond[i, H_CO]
    rise = cross if (code == 0 and fs[i, S_CO_PPM] >= pp[P_CO_CLEAR_PPM]) else NAN
    return _fmin(rise, fs[i, S_CO_CLR] + pp[P_CO_CLEAR_HOLD] if code > 0 else NAN)


@_hot
def _co(fs, nd, cond, bs, out, kk, pp, co_x, rates, spell, i, t, ppm):
    """A ppm reading: integrate the dose with the previous ppm up to ``t``, then hold
    ``ppm``; then the intermittent rule (spells at or over ``co_intermittent_ppm``)."""
    tau = _co_tau(pp)
    prev = fs[i, S_CO_PPM]
    eq = _co_rate(co_x, rates, prev) * tau
    _co_step(fs, cond, bs, out, kk, pp, i, t, eq)
    t0 = fs[i, S_CO_T]
    dose = eq + (fs[i, S_CO_DOSE] - eq) * math.exp(-(t - t0) / tau)
    fs[i, S_CO_DOSE] = 0.0 if (t0 != t0 or dose < DOSE_FLUSH) else dose  # noqa: PLR0124
    fs[i, S_CO_T] = t
    fs[i, S_CO_PPM] = ppm
    raised = cond[i, H_CO] > 0
    fs[i, S_CO_CLR] = _keep_or(fs[i, S_CO_CLR], ppm < pp[P_CO_CLEAR_PPM] and raised, t)
    eq = _co_rate(co_x, rates, ppm) * tau
    cross = _co_step(fs, cond, bs, out, kk, pp, i, t, eq)
    level = pp[P_CO_INT_PPM]
    if spell == H_CO and ppm >= level:
        if not prev >= level:  # a spell begins (NaN: the first reading)
            _spell(fs, pp, i, t)
        if cond[i, H_CO] == 0 and _in_run(fs, pp, i, t):
            _emit(cond, bs, out, kk, H_CO, i, 3, t, ppm, D_INTERMITTENT)
    _lower_due(nd, i, _co_due(fs, cond, pp, i, cross))


# --- heat, water, smoke ------------------------------------------------------------


@_hot
def _heat(fs, cond, bs, out, kk, pp, i, t, temp):
    """Fixed temperature, with lower thresholds while the rise is fast (EN 54-5 A1);
    the caller then stores the reading as the last temperature."""
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
    """Warning after the debounce, critical when still wet and unacknowledged; an
    intermittent leak clears ``intermittent_s`` after its last spell began, if dry."""
    code = cond[i, H_WATER]
    ws = fs[i, S_WET_SINCE]
    w_due = ws + pp[P_WATER_DEBOUNCE]
    c_due = ws + pp[P_WATER_CRITICAL]
    new, ts, det = 0, t, D_NONE
    if c_due <= t and not bs[i, B_WATER_ACK] and code < 3:
        new, ts, det = 3, c_due, D_UNACK
    elif w_due <= t and code < 2:
        new, ts, det = 2, w_due, D_WET
    if new > 0 and _emit(cond, bs, out, kk, H_WATER, i, new, ts, 1.0, det) and code == 0:
        bs[i, B_WATER_INT] = False  # raised as a steady leak
    quiet = fs[i, S_SP_LAST] + pp[P_INT_S]
    if code > 0 and bs[i, B_WATER_INT] and ws != ws and quiet <= t:  # noqa: PLR0124
        _emit(cond, bs, out, kk, H_WATER, i, 0, quiet, 0.0, D_NONE)


@_inline
def _water_due(fs, bs, cond, pp, i):
    code = cond[i, H_WATER]
    ws = fs[i, S_WET_SINCE]
    due = _fmin(ws + pp[P_WATER_DEBOUNCE] if code < 2 else NAN,
                ws + pp[P_WATER_CRITICAL] if code < 3 and not bs[i, B_WATER_ACK] else NAN)
    if code > 0 and bs[i, B_WATER_INT] and ws != ws:  # noqa: PLR0124
        due = _fmin(due, fs[i, S_SP_LAST] + pp[P_INT_S])
    return due


@_hot
def _water(fs, nd, bs, cond, out, kk, pp, spell, i, t, wet):
    """Wet starts the timers; dry clears at once (an intermittent leak: once quiet for
    ``intermittent_s``) and forgets the acknowledgement; a third wet spell within
    ``intermittent_s`` of the one before is an intermittent leak."""
    _water_step(fs, bs, cond, out, kk, pp, i, t)
    on = wet == 1.0
    ws = fs[i, S_WET_SINCE]
    onset = on and ws != ws  # noqa: PLR0124
    fs[i, S_WET_SINCE] = _keep_or(ws, on, t)
    code = cond[i, H_WATER]
    holds = code > 0 and bs[i, B_WATER_INT] and t < fs[i, S_SP_LAST] + pp[P_INT_S]
    bs[i, B_WATER_ACK] = bs[i, B_WATER_ACK] and (on or holds)
    new = code if (on or holds) else 0
    _emit(cond, bs, out, kk, H_WATER, i, new, t, wet, D_NONE)
    if spell == H_WATER and onset:
        _spell(fs, pp, i, t)
        if cond[i, H_WATER] == 0 and _in_run(fs, pp, i, t) and _emit(
                cond, bs, out, kk, H_WATER, i, 2, t, wet, D_INTERMITTENT):
            bs[i, B_WATER_INT] = True
    _water_step(fs, bs, cond, out, kk, pp, i, t)
    _lower_due(nd, i, _water_due(fs, bs, cond, pp, i))


@_hot
def _smoke_step(fs, cond, bs, out, kk, i, t):
    """A hushed alarm re-arms when the hush ends and the alarm is still on."""
    until = fs[i, S_UNTIL]
    if cond[i, H_SMOKE] == 1 and until <= t:
        _emit(cond, bs, out, kk, H_SMOKE, i, 3, until, 1.0, D_REARMED)


@_hot
def _smoke(fs, cond, bs, out, kk, i, t, smoke):
    """The device's own alarm is critical at once; its end clears."""
    _smoke_step(fs, cond, bs, out, kk, i, t)
    code = cond[i, H_SMOKE]
    new = (3 if code == 0 else code) if smoke == 1.0 else 0
    _emit(cond, bs, out, kk, H_SMOKE, i, new, t, smoke,
          D_DEVICE_ALARM if new == 3 else D_NONE)


# --- doors and welfare -------------------------------------------------------------


@_hot
def _door_step(fs, cond, bs, out, kk, pp, i, t):
    """Held-open warning after ``door_open_max_s``; the night warning ends at the night's end."""
    o_due = fs[i, S_OPEN_SINCE] + pp[P_DOOR_OPEN_MAX]
    if o_due <= t and cond[i, H_DOOR_OPEN] < 2:
        _emit(cond, bs, out, kk, H_DOOR_OPEN, i, 2, o_due, 1.0, D_HELD)
    until = fs[i, S_UNTIL]
    if cond[i, H_DOOR_NIGHT] > 0 and until <= t:
        _emit(cond, bs, out, kk, H_DOOR_NIGHT, i, 0, until, NAN, D_NONE)


@_inline
def _door_due(fs, cond, pp, i):
    return _fmin(fs[i, S_OPEN_SINCE] + pp[P_DOOR_OPEN_MAX] if cond[i, H_DOOR_OPEN] < 2 else NAN,
                 fs[i, S_UNTIL] if cond[i, H_DOOR_NIGHT] > 0 else NAN)


@_hot
def _door(fs, nd, cond, bs, out, kk, pp, tz, elderly, i, t, opened):
    """A door reading that may change a condition (see _row for the others)."""
    is_open = opened == 1.0
    _door_step(fs, cond, bs, out, kk, pp, i, t)
    was_open = fs[i, S_OPEN_SINCE] == fs[i, S_OPEN_SINCE]  # noqa: PLR0124
    if is_open != was_open:
        fs[i, S_W_BASE] = t
    fs[i, S_OPEN_SINCE] = (fs[i, S_OPEN_SINCE] if was_open else t) if is_open else NAN
    code = cond[i, H_DOOR_OPEN]
    _emit(cond, bs, out, kk, H_DOOR_OPEN, i, code if is_open else 0, t, opened, D_NONE)
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
    _lower_due(nd, i, _door_due(fs, cond, pp, i))


@_inline
def _healthy(cond, bs, away, i):
    """Whether a welfare door sensor can be trusted: online, battery not dead, the
    household not away, not in maintenance."""
    return (cond[i, H_OFFLINE] == 0 and cond[i, H_BATTERY] < 3 and not away
            and not bs[i, B_MAINT])


@_hot
def _welfare(fs, nd, bs, cond, out, kk, pp, away, i, t):
    """Warning 24 h, critical 48 h after the last door activity, while the sensor is
    healthy; while it is not, cleared (``sensor_fault`` / ``away``), and the clock
    restarts when it is healthy again."""
    healthy = _healthy(cond, bs, away, i)
    wb = fs[i, S_W_BASE]
    if (healthy and bs[i, B_WELFARE_BLIND]) or wb != wb:  # noqa: PLR0124
        wb = _fmax(wb, t)
    fs[i, S_W_BASE] = wb
    bs[i, B_WELFARE_BLIND] = not healthy
    w_due = wb + pp[P_WELFARE_WARN]
    c_due = wb + pp[P_WELFARE_CRIT]
    lvl = 3 if c_due <= t else 2 if w_due <= t else 0
    new = lvl if healthy else 0
    ts = c_due if new == 3 else w_due if new == 2 else t
    if new > 0:
        why = D_NONE
    elif away:
        why = D_AWAY
    elif not healthy:
        why = D_SENSOR_FAULT
    else:
        why = D_DOOR_ACTIVITY
    _emit(cond, bs, out, kk, H_WELFARE, i, new, ts, NAN, why)
    _lower_due(nd, i, _welfare_due(fs, bs, cond, pp, away, i))


@_inline
def _welfare_due(fs, bs, cond, pp, away, i):
    """The next welfare deadline (-inf: health changed since the last step, the clock
    must restart or stop now; NaN: none)."""
    healthy = _healthy(cond, bs, away, i)
    if healthy == bs[i, B_WELFARE_BLIND]:
        return -np.inf
    if not healthy:
        return NAN
    wb = fs[i, S_W_BASE]
    if wb != wb:  # noqa: PLR0124
        return -np.inf
    code = cond[i, H_WELFARE]
    return _fmin(wb + pp[P_WELFARE_WARN] if code < 2 else NAN,
                 wb + pp[P_WELFARE_CRIT] if code < 3 else NAN)


# --- the batch ---------------------------------------------------------------------


@_inline
def _val(values, clean, first, r, j):
    """Field ``j`` of row ``r``: from ``clean`` when the row has an impossible value."""
    return values[j, r] if first < 0 else clean[j]


@_inline
def _impossible(x, lo, hi, flag):
    """Outside [lo, hi], or a flag strictly inside (0, 1)."""
    return x < lo or x > hi or (flag and x * (x - 1.0) < 0.0)


@_jit
def _bad_fields(values, lo, hi, boolean, bad):
    """``bad[r]`` = 1 + the first field of row ``r`` with an impossible value (0: none)."""
    bad[:] = 0
    for j in range(values.shape[0] - 1, -1, -1):  # last field first: the first one wins
        a, b, flag = lo[j], hi[j], boolean[j]
        for r in range(values.shape[1]):
            if _impossible(values[j, r], a, b, flag):
                bad[r] = j + 1


@_inline
def _row(fs, bs, nd, gas_lel, cond, out, kk, pmat, prof, hb, kind, ktab,  # noqa: PLR0915
         welfare, elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz, values, bad,
         clean, r, i, t, now):
    """One accepted reading of device ``i`` at event time ``t``. ``bad[r]``: 1 + the
    first field of the row with a physically impossible value, 0 when none; ``clean``
    is scratch for such a row's values (impossible ones NaN). A rule whose device is
    quiet (nothing raised, no timer running) and whose value is below every level of
    every profile (``floors``) would change nothing, and is not called."""
    pr = prof[i]
    pp = pmat[pr]
    if cond[i, H_OFFLINE] > 0 or cond[i, H_UNPROTECTED] > 0:
        _seen(fs, nd, cond, bs, out, kk, pp, hb[i], i, t, now)
    else:
        fs[i, S_LAST_SEEN] = _fmax(fs[i, S_LAST_SEEN], t)
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
    spell = ktab[kind[i], 1]
    x = _val(values, clean, first, r, F_LEL)
    if x == x:  # noqa: PLR0124
        timer = _fmin(_fmin(fs[i, S_GAS_WS], fs[i, S_GAS_CS]), fs[i, S_GAS_CLR])
        if x >= floors[0] or cond[i, H_GAS] > 0 or timer == timer:  # noqa: PLR0124
            _gas(fs, nd, gas_lel, cond, bs, out, kk, pp, spell, i, t, x)
    x = _val(values, clean, first, r, F_CO)
    if x == x and (x > 0 or cond[i, H_CO] > 0 or fs[i, S_CO_PPM] > 0  # noqa: PLR0124
                   or fs[i, S_CO_CLR] == fs[i, S_CO_CLR]):  # 0 ppm of a quiet device: skip
        _co(fs, nd, cond, bs, out, kk, pp, co_x, co_rates[pr], spell, i, t, x)
    x = _val(values, clean, first, r, F_TEMP)
    if x == x:  # noqa: PLR0124
        if x >= floors[1] or cond[i, H_HEAT] > 0:
            _heat(fs, cond, bs, out, kk, pp, i, t, x)
        fs[i, S_HEAT_C] = x
        fs[i, S_HEAT_T] = t
    x = _val(values, clean, first, r, F_WATER)
    if x == x and (x == 1.0 or cond[i, H_WATER] > 0  # noqa: PLR0124
                   or fs[i, S_WET_SINCE] == fs[i, S_WET_SINCE] or bs[i, B_WATER_ACK]):
        _water(fs, nd, bs, cond, out, kk, pp, spell, i, t, x)
    x = _val(values, clean, first, r, F_OPEN)
    if x == x:  # noqa: PLR0124
        os = fs[i, S_OPEN_SINCE]
        was_open = os == os  # noqa: PLR0124
        is_open = x == 1.0
        if (cond[i, H_DOOR_OPEN] > 0 or cond[i, H_DOOR_NIGHT] > 0
                or ((was_open or is_open) and math.isfinite(pp[P_DOOR_OPEN_MAX]))
                or (is_open and not was_open and welfare[i])):
            _door(fs, nd, cond, bs, out, kk, pp, tz, elderly[i] and hh[i] >= 0, i, t, x)
        else:  # no condition can change: only the door's state moves
            if is_open != was_open:
                fs[i, S_W_BASE] = t
            fs[i, S_OPEN_SINCE] = (os if was_open else t) if is_open else NAN
    x = _val(values, clean, first, r, F_SMOKE)
    if x == x and (x == 1.0 or cond[i, H_SMOKE] > 0):  # noqa: PLR0124
        _smoke(fs, cond, bs, out, kk, i, t, x)
    j = ktab[kind[i], 0]
    if j >= 0:
        x = _val(values, clean, first, r, j)
        if x == x:  # noqa: PLR0124 - the stuck rule: the main analog value unchanged for days
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
                pmat, prof, hb, kind, ktab, welfare, elderly, hh, away, co_x,
                co_rates, lo, hi, boolean, floors, tz, device_idx, seq, values, bad, clean, now):
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
        _row(fs, bs, nd, gas_lel, cond, out, kk, pmat, prof, hb, kind, ktab,
             welfare, elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz, values,
             bad, clean, r, i, t, now)
    clean[0] = sink  # scratch: the store keeps the loads above
    return total, dropped


@_hot
def _sort_groups(rows, device_idx, t_eff, seq):
    """Sort each run of one device's rows by (event time, seq), in place (insertion sort:
    a device has a few rows in a batch, mostly in order already; stable, so of two rows
    with the same (ts, seq) the first to arrive is applied and the second dropped)."""
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
def apply_batch(fs, bs, nd, gas_lel, last_seq, cond, out, mark, pmat, prof, hb, kind, ktab,
                welfare, elderly, hh, away, co_x, co_rates, lo, hi, boolean, floors, tz,
                device_idx, ts, recv_ts, seq, values, now, max_future_s):
    """Apply a batch; returns (the output buffer, ``out`` or a larger copy; how many
    transitions it holds; rows dropped as late, duplicate or invalid).

    Arguments are the engine's: ``fs`` / ``bs`` the state's float and bool blocks
    (device, column), ``nd`` its ``next_due``, ``cond`` the (device, hazard) codes,
    ``pmat`` the parameters (profile, name), ``floors`` the gas, heat and battery floors
    of :class:`RuleParams`, ``ktab`` per kind code the field the stuck rule watches and
    the hazard whose spells the intermittent rule counts (-1: none),
    ``welfare`` the welfare doors, ``mark`` zeroed scratch (one byte per device, zero
    again on return), ``values`` the batch's (field, row) values. Rows of one device are
    applied in ``(ts, seq)`` order; a row not newer than the last one applied to its
    device is dropped.
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
                           mark, pmat, prof, hb, kind, ktab, welfare, elderly, hh,
                           away, co_x, co_rates, lo, hi, boolean, floors, tz, device_idx, seq,
                           values, bad, clean, now)
        dropped += d
        if k >= total:
            return out, kk[0], dropped
        out = _grow(out, kk[0])


# --- the sweep ---------------------------------------------------------------------


@_inline
def _due(fs, bs, cond, pmat, prof, hb, co_x, co_rates, welfare, hh, away, epoch, i):
    """The exact next deadline of device ``i`` (inf: none)."""
    pr = prof[i]
    pp = pmat[pr]
    due = _fmin(_offline_due(fs, cond, pp, hb[i], epoch, i),
                fs[i, S_REMIND_AT] if cond[i, H_BATTERY] >= 2 else NAN)
    due = _fmin(due, _gas_due(fs, cond, pp, i))
    tau = _co_tau(pp)
    eq = _co_rate(co_x, co_rates[pr], fs[i, S_CO_PPM]) * tau
    due = _fmin(due, _co_due(fs, cond, pp, i,
                             _co_cross(fs, i, eq, tau, pp[P_CO_ALARM_DOSE])))
    due = _fmin(due, fs[i, S_UNTIL] if cond[i, H_SMOKE] == 1 else NAN)
    due = _fmin(due, _water_due(fs, bs, cond, pp, i))
    due = _fmin(due, _door_due(fs, cond, pp, i))
    if welfare[i]:
        due = _fmin(due, _welfare_due(fs, bs, cond, pp, away[hh[i]], i))
    return np.inf if due != due else due  # noqa: PLR0124


@_hot
def _sweep_from(start, fs, bs, nd, gas_lel, cond, out, kk, pmat, prof, hb, co_x, co_rates,
                welfare, hh, away, epoch, now):
    """The absence rules of the devices from ``start`` on whose deadline has passed,
    while ``out`` has room; returns where it stopped."""
    for i in range(start, len(nd)):
        if nd[i] > now:
            continue
        if kk[0] + MAX_PER_ROW > len(out):
            return i
        nd[i] = np.inf  # devices in maintenance wait for set_maintenance(off)
        if bs[i, B_MAINT]:
            continue
        pr = prof[i]
        pp = pmat[pr]
        _offline_step(fs, cond, bs, out, kk, pp, hb[i], welfare[i], epoch, i, now)
        _battery_remind(fs, cond, out, kk, pp, i, now)
        _gas_step(fs, gas_lel, cond, bs, out, kk, pp, i, now)
        tau = _co_tau(pp)
        _co_step(fs, cond, bs, out, kk, pp, i, now,
                 _co_rate(co_x, co_rates[pr], fs[i, S_CO_PPM]) * tau)
        _smoke_step(fs, cond, bs, out, kk, i, now)
        _water_step(fs, bs, cond, out, kk, pp, i, now)
        _door_step(fs, cond, bs, out, kk, pp, i, now)
        if welfare[i]:
            _welfare(fs, nd, bs, cond, out, kk, pp, away[hh[i]], i, now)
        nd[i] = _due(fs, bs, cond, pmat, prof, hb, co_x, co_rates, welfare, hh, away, epoch, i)
    return len(nd)


@_jit_nogil
def sweep(fs, bs, nd, gas_lel, cond, out, pmat, prof, hb, co_x, co_rates, welfare, hh, away,
          epoch, now):
    """Absence rules for every device whose ``next_due`` has passed (offline,
    unprotected, battery reminders, hold timers, hush re-arm, door and welfare
    clocks); returns (the output buffer, ``out`` or a larger copy; how many transitions
    it holds). ``epoch``: the first ``now`` the engine saw."""
    kk = np.zeros(1, dtype=np.int64)
    i = 0
    while True:
        i = _sweep_from(i, fs, bs, nd, gas_lel, cond, out, kk, pmat, prof, hb, co_x, co_rates,
                        welfare, hh, away, epoch, now)
        if i >= len(nd):
            return out, kk[0]
        out = _grow(out, kk[0])


# --- commands ----------------------------------------------------------------------


@_jit
def command(op, i, ts, now, fs, bs, nd, cond, out, pmat, prof, hb):
    """One command for device ``i`` at ``now``; returns how many transitions it wrote
    to ``out`` (which has room for :data:`MAX_PER_ROW`). ``ts`` is the time of an
    availability message; the engine sets a household's away flag before OP_AWAY and
    OP_BACK reach its welfare doors.

    OP_ONLINE / OP_OFFLINE: an availability message (offline raises OFFLINE at once,
    detail ``availability``; online clears it when the device is not stale).
    OP_AWAY / OP_BACK (welfare doors): away clears welfare (``away``); back restarts
    the welfare clock. OP_MAINT_ON / OP_MAINT_OFF: maintenance mode; entering clears
    everything raised (``maintenance``). OP_HUSH: a sounding smoke alarm drops to
    info (``hushed``) until ``smoke_hush_s`` passes. OP_ACK: a wet leak sensor that
    someone acknowledged stays a warning.
    """
    kk = np.zeros(1, dtype=np.int64)
    pp = pmat[prof[i]]
    if op == OP_ONLINE:
        _seen(fs, nd, cond, bs, out, kk, pp, hb[i], i, ts, now)
    elif op == OP_OFFLINE:
        code = cond[i, H_OFFLINE]
        _emit(cond, bs, out, kk, H_OFFLINE, i, 2 if code == 0 else code, ts, NAN,
              D_AVAILABILITY)
    elif op == OP_AWAY:
        _emit(cond, bs, out, kk, H_WELFARE, i, 0, now, NAN, D_AWAY)
    elif op == OP_BACK:
        fs[i, S_W_BASE] = _fmax(fs[i, S_W_BASE], now)
    elif OP_MAINT_ON <= op <= OP_MAINT_OFF:
        on = op == OP_MAINT_ON
        if on and not bs[i, B_MAINT]:
            for h in range(N_HAZARDS):
                if cond[i, h] > 0:
                    cond[i, h] = 0
                    _put(out, kk, i, h, 0, now, NAN, D_MAINTENANCE)
        bs[i, B_MAINT] = on
    elif op == OP_HUSH:
        if cond[i, H_SMOKE] < 3:
            return 0
        fs[i, S_UNTIL] = now + pp[P_SMOKE_HUSH]
        cond[i, H_SMOKE] = 1
        _put(out, kk, i, H_SMOKE, 1, now, 1.0, D_HUSHED)
    elif op == OP_ACK:
        if cond[i, H_WATER] == 0:
            return 0
        bs[i, B_WATER_ACK] = True
    nd[i] = -np.inf  # the next sweep looks at this device
    return kk[0]


# --- start-up ----------------------------------------------------------------------


def _cached() -> bool:
    """Whether Numba's cache holds valid machine code for every entry point (reads
    Numba's cache index, an internal API: when it moves, this answers False and the
    start-up only says a little more than it needs to)."""
    try:
        return all(bool(f._cache._cache_file._load_index())  # noqa: SLF001
                   for f in (apply_batch, sweep, command))
    except Exception:  # noqa: BLE001 - any change in Numba's internals: assume a compile
        return False


def cache_dir() -> str:
    """Where Numba keeps (or would keep) the compiled kernel."""
    try:
        return str(apply_batch._cache._cache_path)  # noqa: SLF001
    except Exception:  # noqa: BLE001 - Numba internals moved
        return "Numba's cache directory"


def warm_up() -> float:
    """Compile the kernel, or load it from Numba's cache, now rather than on the first
    batch; returns the seconds it took. A cold compile takes about a minute on a
    loaded 2-core machine, so it says so, once, before it starts, and when it is done.

    The compiled code goes where Numba puts its cache: ``NUMBA_CACHE_DIR`` when set
    (a read-only install sets it to a writable directory, or ships the directory
    compiled at build time), else beside this file, else Numba's per-user cache.
    """
    from alerts.rules.engine import RuleEngine  # the engine imports this module
    from sensors.batch import ReadingBatch, Row
    from sensors.fields import DeviceKind
    from sensors.registry import KIND_CODE, DeviceTable

    cold = not _cached()
    if cold:
        log.warning("compiling the rule kernel (first start, about a minute; kept in %s)...",
                    cache_dir())
    start = time.perf_counter()
    table = DeviceTable(
        community="warm-up", ids=["d0"], index={"d0": 0},
        kind=np.array([KIND_CODE[DeviceKind.GAS]], dtype=np.int8),
        heartbeat_s=np.array([60.0]), household=np.array([-1], dtype=np.int32),
        unit=np.array([-1], dtype=np.int32), elderly_alone=np.array([False]))
    values = [NAN] * N_FIELDS
    values[F_LEL] = 1.0
    eng = RuleEngine(table)
    eng.evaluate(ReadingBatch.from_rows([Row("d0", 0, 1.0, 1.0, 1, values)]), 1.0)
    eng.sweep(2.0)
    eng.acknowledge(0, Hazard.WATER_LEAK, 3.0)
    took = time.perf_counter() - start
    if cold:
        log.warning("... rule kernel compiled in %.1f s", took)
    return took
