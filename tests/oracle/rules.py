"""The oracle: a plain-Python scalar statement of every rule, one reading at a time.

Test and benchmark support, not shipped. It states the rules the way a person would
read them; ``tests/unit/rules/test_equivalence.py`` and ``test_streams.py`` assert the
production engine (:class:`alerts.rules.engine.RuleEngine`, compiled by Numba) emits
the same transitions and keeps the same state on random streams, and
``bench/rules.py`` measures both on the same data. It shares only the parameters
(:mod:`alerts.rules.params`) and the hazard list with the engine.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from alerts.rules.params import NAMES, RuleParams, build_params
from alerts.rules.state import CODE_SEVERITY, HAZARDS
from alerts.rules.types import Hazard, Transition
from sensors.batch import ReadingBatch
from sensors.fields import FIELD_INDEX, FIELDS, DeviceKind
from sensors.registry import KIND_CODES, DeviceTable

NAN = math.nan
DOSE_FLUSH = 1e-6
DAY_S = 86_400.0
LN2 = math.log(2.0)
HI = {h: i for i, h in enumerate(HAZARDS)}
NAMES_F = tuple(f.name for f in FIELDS)
PRIMARY = {DeviceKind.GAS: "lel_pct", DeviceKind.CO: "co_ppm", DeviceKind.HEAT: "temp_c",
           DeviceKind.SMOKE: "temp_c"}
# the hazard whose short spells the intermittent rule counts, per kind
SPELL = {DeviceKind.GAS: Hazard.GAS, DeviceKind.CO: Hazard.CO,
         DeviceKind.WATER: Hazard.WATER_LEAK}


def _isnan(x: float) -> bool:
    return x != x  # noqa: PLR0124 - NaN test without a call


def _fmax(a: float, b: float) -> float:
    return b if _isnan(a) else a if _isnan(b) else max(a, b)


def _keep_or(since: float, running: bool, t: float) -> float:
    return (t if _isnan(since) else since) if running else NAN


@dataclass(slots=True)
class Dev:
    """One device's rule state."""

    kind: DeviceKind
    household: int
    unit: int
    elderly: bool
    heartbeat_s: float
    p: dict[str, float]
    co_curve: tuple[list[float], list[float]]
    cond: list[int] = field(default_factory=lambda: [0] * len(HAZARDS))
    last_seen: float = NAN
    last_ts: float = -math.inf
    last_seq: int = -(2**63)
    maint: bool = False
    water_ack: bool = False
    welfare_blind: bool = False
    gas_ws: float = NAN
    gas_cs: float = NAN
    gas_clr: float = NAN
    gas_lel: float = NAN
    co_dose: float = 0.0
    co_t: float = NAN
    co_ppm: float = NAN
    co_clr: float = NAN
    heat_c: float = NAN
    heat_t: float = NAN
    wet_since: float = NAN
    open_since: float = NAN
    w_base: float = NAN
    until: float = NAN
    remind_at: float = NAN
    stuck_val: float = NAN
    stuck_since: float = NAN
    sp_last: float = NAN  # when the last spell of the kind's hazard began
    sp_n: float = NAN  # spells in the current run
    water_int: bool = False  # the raised water condition is intermittent

    @property
    def spell(self) -> Hazard | None:
        """The hazard whose spells this device's intermittent rule counts."""
        return SPELL.get(self.kind)

    @property
    def welfare(self) -> bool:
        """Whether this device carries the welfare check."""
        return self.kind is DeviceKind.DOOR and self.elderly and self.household >= 0


class ReferenceEngine:
    """The scalar oracle of :class:`alerts.rules.engine.RuleEngine` (same public calls)."""

    def __init__(self, table: DeviceTable, params: RuleParams | None = None) -> None:
        params = params if params is not None else build_params(table)
        self.tz_offset_s = params.tz_offset_s
        profiles = [
            {n: float(params.values[n][j]) for n in NAMES} for j in range(len(params.co_rate))
        ]
        curves = [(params.co_ppm.tolist(), params.co_rate[j].tolist())
                  for j in range(len(params.co_rate))]
        self.devs = []
        for i in range(len(table)):
            j = int(params.profile[i])
            self.devs.append(Dev(
                KIND_CODES[int(table.kind[i])], int(table.household[i]), int(table.unit[i]),
                bool(table.elderly_alone[i]), float(table.heartbeat_s[i]), profiles[j], curves[j],
            ))
            self.devs[-1].maint = profiles[j]["maintenance"] > 0
        n_hh = max((d.household for d in self.devs), default=-1) + 1
        self.away = [False] * n_hh
        self.hh_grp: dict[int, tuple[float, int]] = {}
        self.unit_grp: dict[int, tuple[float, int]] = {}
        self.epoch = NAN
        self.late_dropped = 0
        self.max_future_s = 300.0
        self.out: list[Transition] = []
        self.smoke_raised: list[tuple[float, int]] = []

    @property
    def last_seen(self) -> list[float]:
        """Event time of the newest message per device (NaN: never seen)."""
        return [d.last_seen for d in self.devs]

    # --- plumbing -------------------------------------------------------------------

    def _start(self, now: float) -> None:
        if _isnan(self.epoch):
            self.epoch = now
        self.out = []
        self.smoke_raised = []

    def _emit(self, i: int, h: Hazard, new: int, ts: float, value: float = NAN,
              detail: str = "") -> bool:
        dev = self.devs[i]
        if dev.maint:
            new = 0
        k = HI[h]
        if new == dev.cond[k]:
            return False
        dev.cond[k] = new
        self.out.append(Transition(i, h, CODE_SEVERITY[new], ts, value, detail))
        return True

    def _one(self, i: int, h: Hazard, new: int, ts: float, value: float, detail: str) -> None:
        self.devs[i].cond[HI[h]] = new
        self.out.append(Transition(i, h, CODE_SEVERITY[new], ts, value, detail))

    # --- readings -------------------------------------------------------------------

    def evaluate(self, batch: ReadingBatch, now: float) -> list[Transition]:
        """Apply the readings one by one, per device in (ts, seq) order."""
        self._start(now)
        rows = []
        for r in range(len(batch)):
            i = int(batch.device_idx[r])
            ts = float(batch.ts[r])
            if not ts <= now + self.max_future_s:
                ts = float(batch.recv_ts[r])
            if 0 <= i < len(self.devs) and not _isnan(ts):
                rows.append((i, ts, int(batch.seq[r]), batch.values[r].tolist()))
            else:  # no such device, or no time at all: dropped, counted
                self.late_dropped += 1
        rows.sort(key=lambda x: (x[0], x[1], x[2]))
        for i, ts, seq, vals in rows:
            self._reading(i, ts, seq, vals, now)
        self._group_smoke()
        return self.out

    def _reading(self, i: int, t: float, seq: int, raw: list[float], now: float) -> None:
        dev = self.devs[i]
        if not (t > dev.last_ts or (t == dev.last_ts and seq > dev.last_seq)):
            self.late_dropped += 1
            return
        dev.last_ts, dev.last_seq = t, seq
        self._seen(i, t, now)
        v = self._plausible(i, t, raw)
        pct, flag = v["battery_pct"], v["battery_low"]
        if not _isnan(pct) or not _isnan(flag):
            self._battery(i, t, pct, flag)
        if not _isnan(v["tamper"]):
            self._emit(i, Hazard.TAMPER, 2 if v["tamper"] == 1.0 else 0, t, v["tamper"],
                       "tamper" if v["tamper"] == 1.0 else "")
        for name, fn in (("lel_pct", self._gas), ("co_ppm", self._co), ("temp_c", self._heat),
                         ("water_leak", self._water), ("open", self._door),
                         ("smoke", self._smoke)):
            if not _isnan(v[name]):
                fn(i, t, v[name])
        prim = PRIMARY.get(dev.kind)
        if prim is not None and not _isnan(v[prim]):
            self._stuck(i, t, v[prim])
        if dev.welfare:
            self._welfare(i, t)

    def _limits(self, dev: Dev) -> tuple[float, float]:
        off = dev.heartbeat_s * dev.p["offline_heartbeats"] + dev.p["offline_margin_s"]
        return off, dev.p["unprotected_s"]

    def _seen(self, i: int, t: float, now: float) -> None:
        dev = self.devs[i]
        dev.last_seen = _fmax(dev.last_seen, t)
        off, unp = self._limits(dev)
        if now < dev.last_seen + off:
            self._emit(i, Hazard.OFFLINE, 0, t)
        if now < dev.last_seen + unp:
            self._emit(i, Hazard.UNPROTECTED, 0, t)

    def _plausible(self, i: int, t: float, raw: list[float]) -> dict[str, float]:
        clean: dict[str, float] = {}
        first = -1
        for j, (spec, x) in enumerate(zip(FIELDS, raw, strict=True)):
            lo, hi = (0.0, 1.0) if spec.boolean else (spec.lo, spec.hi)
            bad = x < lo or x > hi or (spec.boolean and not _isnan(x) and x not in (0.0, 1.0))
            if bad and first < 0:
                first = j
            clean[spec.name] = NAN if bad else x
        value = raw[max(first, 0)]
        self._emit(i, Hazard.IMPLAUSIBLE, 2 if first >= 0 else 0, t, value,
                   NAMES_F[first] if first >= 0 else "")
        return clean

    def _battery(self, i: int, t: float, pct: float, flag: float) -> None:
        dev = self.devs[i]
        p = dev.p
        low = flag == 1.0 or pct <= p["battery_low_pct"]
        dead = pct <= p["battery_dead_pct"]
        ok = (_isnan(flag) or flag == 0.0) and (
            _isnan(pct) or pct > p["battery_low_pct"] + p["battery_clear_margin_pct"])
        code = dev.cond[HI[Hazard.BATTERY_LOW]]
        lvl = 3 if dead else 2 if low else 0
        new = 0 if ok else max(code, lvl)
        self._emit(i, Hazard.BATTERY_LOW, new, t, pct, ("", "", "low", "dead", "")[new])
        if dev.cond[HI[Hazard.BATTERY_LOW]] >= 2 and code < 2:
            dev.remind_at = t + p["battery_remind_s"]

    def _stuck(self, i: int, t: float, v: float) -> None:
        dev = self.devs[i]
        same = v == dev.stuck_val and not (v == 0.0 and dev.p["stuck_ignore_zero"] > 0)
        if not same:
            dev.stuck_since = t
        dev.stuck_val = v
        hit = t - dev.stuck_since >= dev.p["stuck_s"]
        self._emit(i, Hazard.STUCK, 2 if hit else 0, t, v, "same_value" if hit else "")

    # --- gas ------------------------------------------------------------------------

    def _gas_step(self, i: int, t: float) -> None:
        dev = self.devs[i]
        p = dev.p
        code = dev.cond[HI[Hazard.GAS]]
        w_due = dev.gas_ws + p["gas_warn_hold_s"]
        c_due = dev.gas_cs + p["gas_crit_hold_s"]
        r_due = dev.gas_clr + p["gas_clear_hold_s"]
        if c_due <= t and code < 3:
            self._emit(i, Hazard.GAS, 3, c_due, dev.gas_lel)
        elif w_due <= t and code < 2:
            self._emit(i, Hazard.GAS, 2, w_due, dev.gas_lel)
        elif r_due <= t and code > 0:
            self._emit(i, Hazard.GAS, 0, r_due, dev.gas_lel)
            dev.gas_clr = NAN

    def _gas(self, i: int, t: float, lel: float) -> None:
        dev = self.devs[i]
        p = dev.p
        self._gas_step(i, t)
        warn = lel >= p["gas_warn_lel"]
        onset = warn and _isnan(dev.gas_ws)
        dev.gas_ws = _keep_or(dev.gas_ws, warn, t)
        dev.gas_cs = _keep_or(dev.gas_cs, lel >= p["gas_crit_lel"], t)
        raised = dev.cond[HI[Hazard.GAS]] > 0
        dev.gas_clr = _keep_or(dev.gas_clr, lel < p["gas_clear_lel"] and raised, t)
        dev.gas_lel = float(np.float32(lel))
        self._gas_step(i, t)
        if lel >= p["gas_evacuate_lel"]:
            self._emit(i, Hazard.GAS, 4, t, lel, "evacuate")
        if dev.spell is Hazard.GAS and warn:
            if onset:
                self._spell(dev, t)
            lvl = 3 if lel >= p["gas_crit_lel"] else 2
            if lvl > dev.cond[HI[Hazard.GAS]] and self._in_run(dev, t):
                self._emit(i, Hazard.GAS, lvl, t, lel, "intermittent")

    # --- intermittent hazards -------------------------------------------------------

    def _spell(self, dev: Dev, t: float) -> None:
        """A spell of the kind's hazard began at ``t``: it extends the run when it began
        within ``intermittent_s`` of the previous one, else starts a new run."""
        dev.sp_n = dev.sp_n + 1.0 if t - dev.sp_last <= dev.p["intermittent_s"] else 1.0
        dev.sp_last = t

    def _in_run(self, dev: Dev, t: float) -> bool:
        return (dev.sp_n >= dev.p["intermittent_spells"]
                and t - dev.sp_last <= dev.p["intermittent_s"])

    # --- CO -------------------------------------------------------------------------

    def _co_rate(self, dev: Dev, ppm: float) -> float:
        if _isnan(ppm):
            return NAN
        xp, rp = dev.co_curve
        k = min(max(bisect.bisect_right(xp, ppm) - 1, 0), len(xp) - 2)
        frac = min(max((ppm - xp[k]) / (xp[k + 1] - xp[k]), 0.0), 1.0)
        return rp[k] + frac * (rp[k + 1] - rp[k])

    def _co_cross(self, dev: Dev) -> float:
        tau = dev.p["co_half_life_min"] * (60.0 / LN2)
        alarm = dev.p["co_alarm_dose"]
        eq = self._co_rate(dev, dev.co_ppm) * tau
        if dev.co_dose >= alarm:
            return dev.co_t
        if eq > alarm:
            return dev.co_t + tau * math.log((eq - dev.co_dose) / (eq - alarm))
        return NAN

    def _co_step(self, i: int, t: float) -> None:
        dev = self.devs[i]
        code = dev.cond[HI[Hazard.CO]]
        cross = self._co_cross(dev)
        r_due = dev.co_clr + dev.p["co_clear_hold_s"]
        if code == 0 and dev.co_ppm >= dev.p["co_clear_ppm"] and cross <= t:
            self._emit(i, Hazard.CO, 3, cross, dev.co_ppm)
        elif code > 0 and r_due <= t:
            self._emit(i, Hazard.CO, 0, r_due, dev.co_ppm)
            dev.co_clr = NAN

    def _co(self, i: int, t: float, ppm: float) -> None:
        dev = self.devs[i]
        prev = dev.co_ppm
        self._co_step(i, t)
        if _isnan(dev.co_t):
            dev.co_dose = 0.0
        else:
            tau = dev.p["co_half_life_min"] * (60.0 / LN2)
            eq = self._co_rate(dev, dev.co_ppm) * tau
            dose = eq + (dev.co_dose - eq) * math.exp(-(t - dev.co_t) / tau)
            dev.co_dose = 0.0 if dose < DOSE_FLUSH else dose
        dev.co_t = t
        dev.co_ppm = ppm
        raised = dev.cond[HI[Hazard.CO]] > 0
        dev.co_clr = _keep_or(dev.co_clr, ppm < dev.p["co_clear_ppm"] and raised, t)
        self._co_step(i, t)
        level = dev.p["co_intermittent_ppm"]
        if dev.spell is Hazard.CO and ppm >= level:
            if not prev >= level:
                self._spell(dev, t)
            if dev.cond[HI[Hazard.CO]] == 0 and self._in_run(dev, t):
                self._emit(i, Hazard.CO, 3, t, ppm, "intermittent")

    # --- smoke, heat, water ---------------------------------------------------------

    def _smoke_step(self, i: int, t: float) -> None:
        dev = self.devs[i]
        if dev.cond[HI[Hazard.SMOKE]] == 1 and dev.until <= t:
            self._emit(i, Hazard.SMOKE, 3, dev.until, 1.0, "rearmed")

    def _smoke(self, i: int, t: float, smoke: float) -> None:
        self._smoke_step(i, t)
        code = self.devs[i].cond[HI[Hazard.SMOKE]]
        if smoke == 1.0:
            if code == 0 and self._emit(i, Hazard.SMOKE, 3, t, smoke, "device_alarm"):
                self.smoke_raised.append((t, i))
        else:
            self._emit(i, Hazard.SMOKE, 0, t, smoke)

    def _heat(self, i: int, t: float, temp: float) -> None:
        dev = self.devs[i]
        p = dev.p
        dt = t - dev.heat_t
        rate = (temp - dev.heat_c) / dt * 60.0 if 0 < dt <= p["heat_ror_window_s"] else 0.0
        fast = rate >= p["heat_ror_c_per_min"]
        alarm = p["heat_ror_alarm_c"] if fast else p["heat_alarm_c"]
        pre = p["heat_ror_prewarn_c"] if fast else p["heat_prewarn_c"]
        lvl = 3 if temp >= alarm else 2 if temp >= pre else 0
        code = dev.cond[HI[Hazard.HEAT]]
        new = 0 if temp < p["heat_clear_c"] else max(code, lvl)
        detail = "" if new == 0 else "rate_of_rise" if fast else "fixed"
        self._emit(i, Hazard.HEAT, new, t, temp, detail)
        dev.heat_c, dev.heat_t = temp, t

    def _water_step(self, i: int, t: float) -> None:
        dev = self.devs[i]
        code = dev.cond[HI[Hazard.WATER_LEAK]]
        w_due = dev.wet_since + dev.p["water_debounce_s"]
        c_due = dev.wet_since + dev.p["water_critical_s"]
        raised = False
        if c_due <= t and not dev.water_ack and code < 3:
            raised = self._emit(i, Hazard.WATER_LEAK, 3, c_due, 1.0, "unacknowledged")
        elif w_due <= t and code < 2:
            raised = self._emit(i, Hazard.WATER_LEAK, 2, w_due, 1.0, "wet")
        if raised and code == 0:
            dev.water_int = False  # raised as a steady leak
        # an intermittent leak ends once no spell began for intermittent_s and it is dry
        quiet = dev.sp_last + dev.p["intermittent_s"]
        if code > 0 and dev.water_int and _isnan(dev.wet_since) and quiet <= t:
            self._emit(i, Hazard.WATER_LEAK, 0, quiet, 0.0)

    def _water(self, i: int, t: float, wet: float) -> None:
        dev = self.devs[i]
        self._water_step(i, t)
        on = wet == 1.0
        onset = on and _isnan(dev.wet_since)
        dev.wet_since = _keep_or(dev.wet_since, on, t)
        code = dev.cond[HI[Hazard.WATER_LEAK]]
        holds = code > 0 and dev.water_int and t < dev.sp_last + dev.p["intermittent_s"]
        dev.water_ack = dev.water_ack and (on or holds)
        if not (on or holds):
            self._emit(i, Hazard.WATER_LEAK, 0, t, wet)
        if dev.spell is Hazard.WATER_LEAK and onset:
            self._spell(dev, t)
            if (dev.cond[HI[Hazard.WATER_LEAK]] == 0 and self._in_run(dev, t)
                    and self._emit(i, Hazard.WATER_LEAK, 2, t, wet, "intermittent")):
                dev.water_int = True
        self._water_step(i, t)

    # --- doors and welfare ----------------------------------------------------------

    def _door_step(self, i: int, t: float) -> None:
        dev = self.devs[i]
        o_due = dev.open_since + dev.p["door_open_max_s"]
        if o_due <= t and dev.cond[HI[Hazard.DOOR_OPEN]] < 2:
            self._emit(i, Hazard.DOOR_OPEN, 2, o_due, 1.0, "held_open")
        if dev.cond[HI[Hazard.DOOR_NIGHT]] > 0 and dev.until <= t:
            self._emit(i, Hazard.DOOR_NIGHT, 0, dev.until)

    def _door(self, i: int, t: float, opened: float) -> None:
        dev = self.devs[i]
        p = dev.p
        self._door_step(i, t)
        is_open = opened == 1.0
        was_open = not _isnan(dev.open_since)
        if is_open != was_open:
            dev.w_base = t
        dev.open_since = (dev.open_since if was_open else t) if is_open else NAN
        if not is_open:
            self._emit(i, Hazard.DOOR_OPEN, 0, t, opened)
        local = (t + self.tz_offset_s) % DAY_S
        start, end = p["door_night_start_h"] * 3600.0, p["door_night_end_h"] * 3600.0
        inside = start <= local < end if start <= end else (local >= start or local < end)
        ends = t - local + end + (DAY_S if local >= end else 0.0)
        if is_open and not was_open and inside and dev.elderly and dev.household >= 0:
            if dev.cond[HI[Hazard.DOOR_NIGHT]] == 0:
                dev.until = ends
            self._emit(i, Hazard.DOOR_NIGHT, max(dev.cond[HI[Hazard.DOOR_NIGHT]], 2), t,
                       opened, "night_opening")
        self._door_step(i, t)

    def _welfare(self, i: int, t: float) -> None:
        dev = self.devs[i]
        away = self.away[dev.household]
        healthy = (dev.cond[HI[Hazard.OFFLINE]] == 0 and dev.cond[HI[Hazard.BATTERY_LOW]] < 3
                   and not away and not dev.maint)
        if (healthy and dev.welfare_blind) or _isnan(dev.w_base):
            dev.w_base = _fmax(dev.w_base, t)
        dev.welfare_blind = not healthy
        w_due = dev.w_base + dev.p["welfare_warn_s"]
        c_due = dev.w_base + dev.p["welfare_crit_s"]
        lvl = 3 if c_due <= t else 2 if w_due <= t else 0
        new = lvl if healthy else 0
        ts = c_due if new == 3 else w_due if new == 2 else t
        why = "" if new > 0 else "away" if away else "sensor_fault" if not healthy else "door_activity"
        self._emit(i, Hazard.WELFARE, new, ts, NAN, why)

    def _group_smoke(self) -> None:
        for ts, i in sorted(self.smoke_raised):
            dev = self.devs[i]
            if dev.cond[HI[Hazard.SMOKE]] != 3:
                continue
            window = dev.p["smoke_group_s"]
            groups = ((self.hh_grp, dev.household), (self.unit_grp, dev.unit))
            for grp, g in groups:
                if g < 0 or g not in grp:
                    continue
                g_ts, anchor = grp[g]
                if (anchor != i and ts - g_ts <= window
                        and self.devs[anchor].cond[HI[Hazard.SMOKE]] >= 3):
                    if self.devs[anchor].cond[HI[Hazard.SMOKE]] == 3:
                        self._one(anchor, Hazard.SMOKE, 4, ts, 1.0, "escalated")
                    self._one(i, Hazard.SMOKE, 4, ts, 1.0, f"incident:{anchor}")
                    break
            else:
                for grp, g in groups:
                    if g >= 0:
                        grp[g] = (ts, i)

    # --- absence and commands -------------------------------------------------------

    def sweep(self, now: float) -> list[Transition]:
        """Every absence rule for every device not in maintenance."""
        self._start(now)
        for i, dev in enumerate(self.devs):
            if not dev.maint:
                self._sweep_one(i, dev, now)
        return self.out

    def _sweep_one(self, i: int, dev: Dev, now: float) -> None:
        base = _fmax(dev.last_seen, self.epoch)
        off, unp = self._limits(dev)
        if dev.cond[HI[Hazard.OFFLINE]] == 0 and base + off <= now:
            self._emit(i, Hazard.OFFLINE, 2, base + off, NAN,
                       "welfare_blind" if dev.welfare else "heartbeat")
        if dev.cond[HI[Hazard.UNPROTECTED]] == 0 and base + unp <= now:
            self._emit(i, Hazard.UNPROTECTED, 3, base + unp, NAN, "unprotected")
        code = dev.cond[HI[Hazard.BATTERY_LOW]]
        if code >= 2 and dev.remind_at <= now:
            at, every = dev.remind_at, dev.p["battery_remind_s"]
            dev.remind_at = at + (math.floor((now - at) / every) + 1.0) * every
            self.out.append(Transition(i, Hazard.BATTERY_LOW, CODE_SEVERITY[code], at, NAN,
                                       "reminder"))
        self._gas_step(i, now)
        self._co_step(i, now)
        self._smoke_step(i, now)
        self._water_step(i, now)
        self._door_step(i, now)
        if dev.welfare:
            self._welfare(i, now)

    def availability(self, device_idx: int, online: bool, ts: float, now: float) -> list[Transition]:
        """MQTT availability."""
        self._start(now)
        if online:
            self._seen(device_idx, ts, now)
        elif self.devs[device_idx].cond[HI[Hazard.OFFLINE]] == 0:
            self._emit(device_idx, Hazard.OFFLINE, 2, ts, NAN, "availability")
        return self.out

    def _household(self, h: int) -> Iterator[int]:
        return (i for i, d in enumerate(self.devs) if d.household == h and d.welfare)

    def set_away(self, household_row: int, away: bool, now: float) -> list[Transition]:
        """Away suppresses welfare; back restarts the welfare clock."""
        self._start(now)
        self.away[household_row] = away
        for i in self._household(household_row):
            if away:
                self._emit(i, Hazard.WELFARE, 0, now, NAN, "away")
            else:
                self.devs[i].w_base = _fmax(self.devs[i].w_base, now)
        return self.out

    def set_maintenance(self, device_idx: int, on: bool, now: float) -> list[Transition]:
        """Maintenance mode: clears what is raised, raises nothing."""
        self._start(now)
        dev = self.devs[device_idx]
        if on and not dev.maint:
            for k, h in enumerate(HAZARDS):
                if dev.cond[k] > 0:
                    self._one(device_idx, h, 0, now, NAN, "maintenance")
        dev.maint = on
        return self.out

    def hush(self, device_idx: int, now: float) -> list[Transition]:
        """Silence a smoke alarm for ``smoke_hush_s``."""
        self._start(now)
        dev = self.devs[device_idx]
        if dev.cond[HI[Hazard.SMOKE]] >= 3:
            dev.until = now + dev.p["smoke_hush_s"]
            self._one(device_idx, Hazard.SMOKE, 1, now, 1.0, "hushed")
        return self.out

    def acknowledge(self, device_idx: int, hazard: Hazard, now: float) -> list[Transition]:
        """An acknowledged wet sensor stays a warning."""
        self._start(now)
        dev = self.devs[device_idx]
        if hazard is Hazard.WATER_LEAK and dev.cond[HI[Hazard.WATER_LEAK]] > 0:
            dev.water_ack = True
        return self.out

    def conditions(self) -> np.ndarray:
        """(devices, hazards) condition codes, to compare with the engine's state."""
        return np.array([d.cond for d in self.devs], dtype=np.int8)


assert set(FIELD_INDEX) == set(NAMES_F)
