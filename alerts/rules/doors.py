"""Door rules: a unit door held open, a night opening in an elderly-alone household,
and the welfare check (no door activity for 24 h / 48 h).

Layer: pure core. The welfare check only ever blames the resident when the door
sensor is healthy: while the sensor is offline, its battery dead, the household
checked in as away or the device in maintenance, the welfare condition is cleared
and the clock is restarted when the sensor comes back (the device-health rule
raises the alert instead), so a dead sensor never looks like a resident who did
not go out.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alerts.rules.ctx import (
    BATTERY,
    DOOR_NIGHT,
    DOOR_OPEN,
    F64,
    OFFLINE,
    WELFARE,
    Ctx,
    Idx,
    Prof,
)
from sensors.fields import DeviceKind
from sensors.registry import KIND_CODE

DOOR_CODE = KIND_CODE[DeviceKind.DOOR]
DAY_S = 86_400.0
WELFARE_CLEAR = ("", "sensor_fault", "away", "door_activity")


def door_step(c: Ctx, d: Idx, prof: Prof, t: F64) -> None:
    """Held-open warning after ``door_open_max_s``; the night warning ends at the night's end."""
    st = c.st
    code = st.cond[DOOR_OPEN][d]
    o_due = st.open_since[d] + c.p.of("door_open_max_s", prof)
    late = (o_due <= t) & (code < 2)
    c.em.emit(DOOR_OPEN, d, np.where(late, 2, code), np.where(late, o_due, t), 1.0,
              ("", "", "held_open", "", ""))
    ncode = st.cond[DOOR_NIGHT][d]
    end = (ncode > 0) & (st.until[d] <= t)
    c.em.emit(DOOR_NIGHT, d, np.where(end, 0, ncode), np.where(end, st.until[d], t))


def night_window(c: Ctx, prof: Prof, t: F64) -> tuple[npt.NDArray[np.bool_], F64]:
    """Whether ``t`` falls in the night window (site local time), and when that night ends."""
    local = np.mod(t + c.p.tz_offset_s, DAY_S)
    start = c.p.of("door_night_start_h", prof) * 3600.0
    end = c.p.of("door_night_end_h", prof) * 3600.0
    inside = np.where(start <= end, (local >= start) & (local < end),
                      (local >= start) | (local < end))
    ends = t - local + end + np.where(local >= end, DAY_S, 0.0)
    return inside, ends


def door_apply(c: Ctx, d: Idx, prof: Prof, t: F64, opened: F64) -> None:
    """An open / closed reading. Rows that can change no condition (nothing raised, no
    held-open limit, not a night opening of an elderly-alone household) only move the
    door's state."""
    st = c.st
    os = st.open_since[d]
    was_open = ~np.isnan(os)
    is_open = opened == 1.0
    limited = np.isfinite(c.p.of("door_open_max_s", prof))
    elder = c.welfare_dev.take(d)
    busy = ((st.cond[DOOR_OPEN][d] > 0) | (st.cond[DOOR_NIGHT][d] > 0)
            | ((was_open | is_open) & limited) | (is_open & ~was_open & elder))
    if busy.any():
        i = busy.nonzero()[0]
        _door_rules(c, d[i], prof[i], t[i], opened[i])
        if busy.all():
            return
        q = (~busy).nonzero()[0]
        d, t, opened, os = d[q], t[q], opened[q], os[q]
    door_quiet(c, d, t, opened, os)


def door_quiet(c: Ctx, d: Idx, t: F64, opened: F64, os: F64 | None = None) -> None:
    """A door reading that can change no condition: only the door's state moves (when it
    opened, and the welfare clock's last activity). ``os`` is ``open_since[d]`` when the
    caller has it."""
    st = c.st
    if os is None:
        os = st.open_since.take(d)
    was_open = ~np.isnan(os)
    is_open = opened == 1.0
    changed = is_open != was_open
    if changed.any():
        st.w_base[d[changed]] = t[changed]
    st.open_since[d] = np.where(is_open, np.where(was_open, os, t), np.nan)


def _door_rules(c: Ctx, d: Idx, prof: Prof, t: F64, opened: F64) -> None:
    st, table = c.st, c.table
    door_step(c, d, prof, t)
    is_open = opened == 1.0
    was_open = ~np.isnan(st.open_since[d])
    st.w_base[d] = np.where(is_open != was_open, t, st.w_base[d])
    st.open_since[d] = np.where(is_open, np.where(was_open, st.open_since[d], t), np.nan)
    code = st.cond[DOOR_OPEN][d]
    c.em.emit(DOOR_OPEN, d, np.where(is_open, code, 0), t, opened)
    inside, ends = night_window(c, prof, t)
    night = is_open & ~was_open & inside & table.elderly_alone[d] & (table.household[d] >= 0)
    ncode = st.cond[DOOR_NIGHT][d]
    st.until[d] = np.where(night & (ncode == 0), ends, st.until[d])
    c.em.emit(DOOR_NIGHT, d, np.where(night, np.maximum(ncode, 2), ncode), t, opened,
              ("", "", "night_opening", "", ""))
    door_step(c, d, prof, t)
    c.lower_due(d, door_dues(c, d, prof))


def door_dues(c: Ctx, d: Idx, prof: Prof) -> F64:
    """The next door deadline given the current codes."""
    st = c.st
    o_due = np.where(st.cond[DOOR_OPEN][d] < 2,
                     st.open_since[d] + c.p.of("door_open_max_s", prof), np.nan)
    n_due = np.where(st.cond[DOOR_NIGHT][d] > 0, st.until[d], np.nan)
    return np.fmin(o_due, n_due)


def welfare_devices(c: Ctx, d: Idx) -> npt.NDArray[np.bool_]:
    """Which of ``d`` carry the welfare check: doors of elderly-alone households."""
    return c.welfare_dev.take(d)


def welfare_health(c: Ctx, d: Idx) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(healthy, away) of welfare devices ``d``."""
    st = c.st
    away = st.away[c.table.household[d]]
    healthy = (st.cond[OFFLINE][d] == 0) & (st.cond[BATTERY][d] < 3) & ~away & ~st.maint[d]
    return healthy, away


def welfare_step(c: Ctx, d: Idx, prof: Prof, t: F64) -> None:
    """Warning 24 h, critical 48 h after the last door activity, while the sensor is healthy."""
    st = c.st
    healthy, away = welfare_health(c, d)
    wb = st.w_base[d]
    wb = np.where((healthy & st.welfare_blind[d]) | np.isnan(wb), np.fmax(wb, t), wb)
    st.w_base[d] = wb
    st.welfare_blind[d] = ~healthy
    w_due = wb + c.p.of("welfare_warn_s", prof)
    c_due = wb + c.p.of("welfare_crit_s", prof)
    code = st.cond[WELFARE][d]
    lvl = np.where(c_due <= t, 3, np.where(w_due <= t, 2, 0))
    new = np.where(healthy, lvl, 0)
    ts = np.where(new == 3, c_due, np.where(new == 2, w_due, t))
    ts = np.where(new == code, t, ts)
    why = np.where(new > 0, 0, np.where(away, 2, np.where(~healthy, 1, 3))).astype(np.intp)
    c.em.emit(WELFARE, d, new, ts, np.nan, (why, WELFARE_CLEAR))


def welfare_dues(c: Ctx, d: Idx, prof: Prof) -> F64:
    """The next welfare deadline of welfare devices ``d`` (NaN when none)."""
    st = c.st
    healthy, _ = welfare_health(c, d)
    code = st.cond[WELFARE][d]
    wb = st.w_base[d]
    w_due = np.where(code < 2, wb + c.p.of("welfare_warn_s", prof), np.nan)
    c_due = np.where(code < 3, wb + c.p.of("welfare_crit_s", prof), np.nan)
    due = np.fmin(w_due, c_due)
    due = np.where(np.isnan(wb), -np.inf, due)
    # health changed since the last step: the clock must restart or stop now
    stale = healthy == st.welfare_blind[d]
    return np.where(stale, -np.inf, np.where(healthy, due, np.nan))
