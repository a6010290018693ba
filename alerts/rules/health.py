"""Device-health rules: offline, home unprotected, tamper, battery, stuck, implausible.

Layer: pure core. Offline and unprotected are absence rules evaluated by the sweep
over ``last_seen``; a reading clears them once it proves the device is back.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alerts.rules.ctx import (
    BATTERY,
    F64,
    IMPLAUSIBLE,
    OFFLINE,
    STUCK,
    TAMPER,
    UNPROTECTED,
    Ctx,
    Idx,
    Prof,
)
from alerts.rules.doors import welfare_devices
from alerts.rules.state import CODE_SEVERITY
from alerts.rules.types import Hazard, Transition
from sensors.fields import (
    CO_PPM,
    FIELDS,
    LEL_PCT,
    TEMP_C,
    DeviceKind,
)
from sensors.registry import KIND_CODES

FIELD_NAMES = tuple(f.name for f in FIELDS)
LO = np.array([0.0 if f.boolean else f.lo for f in FIELDS])
HI = np.array([1.0 if f.boolean else f.hi for f in FIELDS])
BOOLEAN = np.array([f.boolean for f in FIELDS])
_PRIMARY = {DeviceKind.GAS: LEL_PCT, DeviceKind.CO: CO_PPM, DeviceKind.HEAT: TEMP_C,
            DeviceKind.SMOKE: TEMP_C}
# The analog column the stuck rule watches, per kind code (-1: none).
PRIMARY = np.array([_PRIMARY.get(k, -1) for k in KIND_CODES], dtype=np.intp)
BATTERY_DETAIL = ("", "", "low", "dead", "")


def limits(c: Ctx, d: Idx, prof: Prof) -> tuple[F64, F64]:
    """(offline limit, unprotected limit) in seconds after ``last_seen``."""
    off = c.table.heartbeat_s[d] * c.p.of("offline_heartbeats", prof) + c.p.of(
        "offline_margin_s", prof)
    return off, c.p.of("unprotected_s", prof)


def seen(c: Ctx, d: Idx, prof: Prof, t: F64, now: float) -> None:
    """An accepted reading: update ``last_seen``; clear offline and unprotected when the
    device is no longer stale."""
    st = c.st
    ls = np.fmax(st.last_seen[d], t)
    st.last_seen[d] = ls
    raised = (st.cond[OFFLINE][d] > 0) | (st.cond[UNPROTECTED][d] > 0)
    if not raised.any():
        return  # the sweep's next_due is already no later than the new deadlines
    i = raised.nonzero()[0]
    d, prof, t, ls = d[i], prof[i], t[i], ls[i]
    off, unp = limits(c, d, prof)
    code = st.cond[OFFLINE][d]
    c.em.emit(OFFLINE, d, np.where(now < ls + off, 0, code), t)
    code = st.cond[UNPROTECTED][d]
    c.em.emit(UNPROTECTED, d, np.where(now < ls + unp, 0, code), t)
    c.lower_due(d, ls + np.fmin(off, unp))


def plausible(values: npt.NDArray[np.float64]) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """(values with impossible entries as NaN, row has one, first bad field)."""
    bad = (values < LO) | (values > HI)
    bad |= BOOLEAN & (values * (values - 1.0) < 0.0)  # a flag strictly between 0 and 1
    n = len(values)
    if not bad.any():
        return values, np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.intp)
    any_bad: npt.NDArray[np.bool_] = np.asarray(bad.any(axis=1))
    first: npt.NDArray[np.intp] = bad.argmax(axis=1)
    clean: npt.NDArray[np.float64] = np.where(bad, np.nan, values)
    return clean, any_bad, first


def implausible_apply(c: Ctx, d: Idx, t: F64, any_bad: npt.NDArray[np.bool_],
                      first: Idx, raw: F64) -> None:
    """Warning while a reading carries a physically impossible value."""
    busy = any_bad | (c.st.cond[IMPLAUSIBLE][d] > 0)
    if not busy.any():
        return
    i = busy.nonzero()[0]
    why = np.where(any_bad[i], first[i], len(FIELD_NAMES))
    c.em.emit(IMPLAUSIBLE, d[i], np.where(any_bad[i], 2, 0), t[i], raw[i],
              (why, (*FIELD_NAMES, "")))


def tamper_apply(c: Ctx, d: Idx, t: F64, tamper: F64) -> None:
    """Tampered or removed from its base: a fault at once (GB/T 45839 5.5.1)."""
    busy = (tamper == 1.0) | (c.st.cond[TAMPER][d] > 0)
    if busy.any():
        i = busy.nonzero()[0]
        c.em.emit(TAMPER, d[i], np.where(tamper[i] == 1.0, 2, 0), t[i], tamper[i],
                  ("", "", "tamper", "", ""))


def battery_apply(c: Ctx, d: Idx, prof: Prof, t: F64, pct: F64, flag: F64) -> None:
    """Low (warning) or dead (critical); clears only well above the low level."""
    st, p = c.st, c.p
    busy = (flag == 1.0) | (pct <= p.floor["battery"]) | (st.cond[BATTERY][d] > 0)
    if not busy.all():
        i = busy.nonzero()[0]
        if not i.size:
            return
        d, prof, t, pct, flag = d[i], prof[i], t[i], pct[i], flag[i]
    low_pct = p.of("battery_low_pct", prof)
    low = (flag == 1.0) | (pct <= low_pct)
    dead = pct <= p.of("battery_dead_pct", prof)
    ok = (np.isnan(flag) | (flag == 0.0)) & (
        np.isnan(pct) | (pct > low_pct + p.of("battery_clear_margin_pct", prof)))
    code = st.cond[BATTERY][d]
    lvl = np.where(dead, 3, np.where(low, 2, 0))
    new = np.where(ok, 0, np.maximum(code, lvl))
    c.em.emit(BATTERY, d, new, t, pct, BATTERY_DETAIL)
    raised = (st.cond[BATTERY][d] >= 2) & (code < 2)
    if raised.any():
        r = raised.nonzero()[0]
        due = t[r] + p.of("battery_remind_s", prof[r])
        st.remind_at[d[r]] = due
        c.lower_due(d[r], due)


def stuck_apply(c: Ctx, d: Idx, prof: Prof, t: F64, v: F64) -> None:
    """Warning when the device's main analog value has not changed for ``stuck_s``."""
    st, p = c.st, c.p
    same = (v == st.stuck_val[d]) & ~((v == 0.0) & (p.of("stuck_ignore_zero", prof) > 0))
    since = np.where(same, st.stuck_since[d], t)
    st.stuck_since[d] = since
    st.stuck_val[d] = v
    new = np.where(t - since >= p.of("stuck_s", prof), 2, 0)
    busy = (new > 0) | (st.cond[STUCK][d] > 0)
    if busy.any():
        i = busy.nonzero()[0]
        c.em.emit(STUCK, d[i], new[i], t[i], v[i], ("", "", "same_value", "", ""))


def offline_step(c: Ctx, d: Idx, prof: Prof, now: float) -> None:
    """Offline after a margin over the heartbeat; a fire or gas device unprotected after 24 h."""
    st = c.st
    base = np.fmax(st.last_seen[d], st.epoch[0])  # absence counts from the engine's start
    off, unp = limits(c, d, prof)
    o_due = base + off
    code = st.cond[OFFLINE][d]
    late = (code == 0) & (o_due <= now)
    why = welfare_devices(c, d).astype(np.intp)
    c.em.emit(OFFLINE, d, np.where(late, 2, code), np.where(late, o_due, now), np.nan,
              (why, ("heartbeat", "welfare_blind")))
    u_due = base + unp
    code = st.cond[UNPROTECTED][d]
    late = (code == 0) & (u_due <= now)
    c.em.emit(UNPROTECTED, d, np.where(late, 3, code), np.where(late, u_due, now), np.nan,
              ("", "", "", "unprotected", ""))


def offline_dues(c: Ctx, d: Idx, prof: Prof) -> F64:
    """The next offline / unprotected deadline given the current codes."""
    st = c.st
    base = np.fmax(st.last_seen[d], st.epoch[0])  # absence counts from the engine's start
    off, unp = limits(c, d, prof)
    o_due = np.where(st.cond[OFFLINE][d] == 0, base + off, np.nan)
    u_due = np.where(st.cond[UNPROTECTED][d] == 0, base + unp, np.nan)
    return np.fmin(o_due, u_due)


def battery_remind(c: Ctx, d: Idx, prof: Prof, now: float) -> None:
    """The daily reminder of a low battery: the same severity again, detail ``reminder``."""
    st = c.st
    code = st.cond[BATTERY][d]
    due = (code >= 2) & (st.remind_at[d] <= now)
    if not due.any():
        return
    r = due.nonzero()[0]
    dev = d[r]
    at = st.remind_at[dev]
    every = c.p.of("battery_remind_s", prof[r])
    st.remind_at[dev] = at + (np.floor((now - at) / every) + 1.0) * every
    for dv, cd, ts in zip(dev.tolist(), code[r].tolist(), at.tolist(), strict=True):
        c.em.out.append(Transition(dv, Hazard.BATTERY_LOW, CODE_SEVERITY[cd], ts, np.nan,
                                   "reminder"))


def battery_dues(c: Ctx, d: Idx) -> F64:
    """The next reminder of a raised battery condition."""
    return np.where(c.st.cond[BATTERY][d] >= 2, c.st.remind_at[d], np.nan)

