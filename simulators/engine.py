"""The simulated community as a schedule: which device reports what, and when.

Layer: simulator, pure part. :class:`CommunityModel` holds every device's
state and a heap of due events; :meth:`CommunityModel.due` returns the reports
due by ``now``. It never reads a clock or sleeps, so a unit test can advance
``now`` by hours in a loop. :mod:`simulators.community` drives it from a
thread and publishes the reports over MQTT.

Two timelines:

- **wall time** (``now``): what the reports' ``ts`` carry and what hazards
  grow in (a gas leak rises 2 %LEL per real second);
- **simulated time**, ``start + (now - start) * rate_multiplier``: heartbeats,
  battery drain and daily routines run in it, so ``rate_multiplier=60`` makes
  an hour of community life pass in a minute while timestamps stay real.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson

from sensors.wire import state_topic
from sensors.zigbee2mqtt import MODELS as Z2M_MODELS
from sensors.zigbee2mqtt import encode_z2m, z2m_state_topic
from simulators.behaviour import (
    HAZARDS,
    Hazard,
    SimDevice,
    check_hazard,
    initial_state,
    readings,
)
from simulators.routines import Event, RoutineIndex, plan_hour

CHINA_TZ_OFFSET_S = 8 * 3600
HEARTBEAT_JITTER = (0.85, 1.0)  # never later than promised: the service watches for silence

# Heap entry actions.
_BEAT, _HAZARD, _EVENT, _PLAN, _NOW, _DROP = range(6)


@dataclass(frozen=True, slots=True)
class Report:
    """One state message a device sends.

    Attributes:
        device_idx: position in the model's device list.
        device_id: the device id.
        ts: the device's clock when it sent it (wall time plus its skew), epoch s.
        seq: the device's message counter.
        fields: wire field → value (booleans as bool).
        duplicate: True for a repeat of the previous report (same seq), as a
            device or gateway retrying sends.
    """

    device_idx: int
    device_id: str
    ts: float
    seq: int
    fields: dict[str, float | bool]
    duplicate: bool = False


class CommunityModel:
    """Every device of a site, its state, and what it sends when.

    Args:
        devices: the devices to simulate.
        start_ts: wall-clock start (epoch s); simulated time starts here too.
        rng: all randomness.
        rate_multiplier: how much faster than real time heartbeats, battery
            drain and routines run.
        warmup_s: first reports are spread over this many wall seconds, so a
            dashboard fills quickly.
        tz_offset_s: the community's UTC offset, for daily routines.
        duplicate_prob: chance that a report is sent twice.
        loss_prob: chance that a report is lost (its seq is skipped).
        fault_rate: link dropouts per device per simulated day: the device's radio
            link is lost for half an hour to six hours (its reports in between are
            lost, as a real device's are), so the service sees it go offline and
            come back.
        routines: False to turn daily life off (heartbeats and hazards only).
    """

    def __init__(
        self,
        devices: Sequence[SimDevice],
        *,
        start_ts: float,
        rng: np.random.Generator,
        rate_multiplier: float = 1.0,
        warmup_s: float = 5.0,
        tz_offset_s: float = CHINA_TZ_OFFSET_S,
        duplicate_prob: float = 0.002,
        loss_prob: float = 0.0,
        routines: bool = True,
        fault_rate: float = 0.0,
    ) -> None:
        if rate_multiplier <= 0:
            raise ValueError("rate_multiplier must be positive")
        self.devices = list(devices)
        self.index = {d.id: i for i, d in enumerate(self.devices)}
        self.start_ts = start_ts
        self.rng = rng
        self.rate = rate_multiplier
        self.tz_offset_s = tz_offset_s
        self.duplicate_prob = duplicate_prob
        self.loss_prob = loss_prob
        if fault_rate < 0:
            raise ValueError("fault_rate must not be negative")
        self.fault_rate = fault_rate
        self.dropouts = 0
        # A restarted simulator keeps counting upwards (below 10 reports/s per device).
        seq0 = int(start_ts * 10)
        self.states = [initial_state(d, rng, seq0) for d in self.devices]
        self._heap: list[tuple[float, int, int, int, Event | float | None]] = []
        self._tie = itertools.count()
        firsts = rng.uniform(0.0, max(warmup_s, 1e-3), len(self.devices)).tolist()
        for i, t in enumerate(firsts):
            self._push(start_ts + t, _BEAT, i)
        self._routines = RoutineIndex(self.devices) if routines else None
        if self._routines is not None:
            self._plan_from(self._sim(start_ts))

    # --- time ---

    def _sim(self, wall: float) -> float:
        return self.start_ts + (wall - self.start_ts) * self.rate

    def _wall(self, sim: float) -> float:
        return self.start_ts + (sim - self.start_ts) / self.rate

    def sim_time(self, now: float) -> float:
        """Simulated epoch seconds at wall time ``now``."""
        return self._sim(now)

    # --- the heap ---

    def _push(
        self, wall: float, action: int, idx: int, event: Event | float | None = None
    ) -> None:
        heapq.heappush(self._heap, (wall, next(self._tie), action, idx, event))

    def next_due(self) -> float:
        """Wall time of the next thing that happens (inf when nothing will)."""
        return self._heap[0][0] if self._heap else math.inf

    def _plan_from(self, sim_ts: float, hour_start: float | None = None) -> None:
        """Plan the local hour containing ``sim_ts`` (or starting at ``hour_start``) and
        schedule planning the next one.

        The next hour's start is carried in the heap entry itself: converting its wall
        time back to simulated time lands a hair before the hour for about half of all
        start times, which would plan the same hour again, for ever.
        """
        assert self._routines is not None
        if hour_start is None:
            local = sim_ts + self.tz_offset_s
            hour_start = sim_ts - (local % 3600.0)
        for ev in plan_hour(self._routines, hour_start, tz_offset_s=self.tz_offset_s, rng=self.rng):
            if ev.sim_ts >= sim_ts:  # the part of the first hour already gone is skipped
                self._push(self._wall(ev.sim_ts), _EVENT, ev.device_idx, ev)
        if self.fault_rate:
            self._plan_dropouts(max(sim_ts, hour_start))
        self._push(self._wall(hour_start + 3600.0), _PLAN, -1, hour_start + 3600.0)

    def _plan_dropouts(self, sim_ts: float) -> None:
        """Link dropouts starting in this hour: each device loses its link with chance
        ``fault_rate / 24``, from a random minute, for 0.5-6 simulated hours."""
        n = len(self.devices)
        hit = (self.rng.random(n) < self.fault_rate / 24.0).nonzero()[0]
        for idx in hit.tolist():
            start = sim_ts + float(self.rng.uniform(0.0, 3600.0))
            end = start + float(self.rng.uniform(0.5, 6.0)) * 3600.0
            self._push(self._wall(start), _DROP, idx, self._wall(end))

    def due(self, now: float, limit: int = 10_000) -> list[Report]:
        """Reports due by ``now`` (at most about ``limit``; call again for the rest)."""
        out: list[Report] = []
        while self._heap and self._heap[0][0] <= now and len(out) < limit:
            wall, _, action, idx, event = heapq.heappop(self._heap)
            if action == _PLAN:
                assert isinstance(event, float)
                self._plan_from(event, hour_start=event)
            elif action == _BEAT:
                self._beat(idx, wall, out)
            elif action == _HAZARD:
                self._hazard_tick(idx, wall, out)
            elif action == _EVENT and isinstance(event, Event):
                self._event(idx, event, wall, out)
            elif action == _NOW:
                self._report(idx, wall, out)
            elif action == _DROP and isinstance(event, float):
                self.states[idx].link_down_until = event
                self.dropouts += 1
        return out

    # --- what happens ---

    def _beat(self, idx: int, wall: float, out: list[Report]) -> None:
        interval = self.devices[idx].heartbeat_s / self.rate
        self._push(wall + interval * self.rng.uniform(*HEARTBEAT_JITTER), _BEAT, idx)
        self._report(idx, wall, out)

    def _hazard_tick(self, idx: int, wall: float, out: list[Report]) -> None:
        hazard = self.states[idx].hazard
        if hazard is None:
            return  # cleared since this tick was scheduled
        every = HAZARDS[hazard.name].report_every_s
        if every is not None:
            self._push(wall + every, _HAZARD, idx)
        self._report(idx, wall, out)

    def _event(self, idx: int, event: Event, wall: float, out: list[Report]) -> None:
        state = self.states[idx]
        if event.door_open is not None:
            if state.hazard is not None and state.hazard.name == "door_open":
                return  # held open: nobody can open it again
            state.open = event.door_open
        if event.blip is not None:
            state.extra = dict(event.blip)
        self._report(idx, wall, out)

    def _report(self, idx: int, wall: float, out: list[Report]) -> None:
        device, state = self.devices[idx], self.states[idx]
        if state.hazard is not None and state.hazard.name == "silent":
            return
        state.seq += 1
        if wall < state.link_down_until:
            return  # the radio link is down: the message never leaves
        if self.loss_prob and self.rng.random() < self.loss_prob:
            return
        fields = readings(
            device, state, now=wall, sim_elapsed_s=self._sim(wall) - self.start_ts, rng=self.rng
        )
        report = Report(idx, device.id, wall + state.skew_s, state.seq, fields)
        out.append(report)
        if self.duplicate_prob and self.rng.random() < self.duplicate_prob:
            out.append(Report(idx, device.id, report.ts, report.seq, fields, duplicate=True))

    # --- hazards ---

    def inject(self, hazard: str, device_id: str, now: float) -> None:
        """Start a named hazard on a device (see :data:`simulators.behaviour.HAZARDS`).

        The device reports at once (except ``silent``) and then as often as the
        hazard says, until :meth:`clear`.

        Raises:
            ValueError: unknown device or hazard, or a hazard the device cannot
                have (a gas leak on a door contact).
        """
        idx = self._idx(device_id)
        spec = check_hazard(hazard, self.devices[idx])
        self.states[idx].hazard = Hazard(hazard, now)
        if spec.report_every_s is not None:
            self._push(now, _HAZARD, idx)

    def clear(self, device_id: str, now: float) -> None:
        """End any hazard on a device; it reports its normal state at once.

        Raises:
            ValueError: unknown device.
        """
        idx = self._idx(device_id)
        state = self.states[idx]
        state.hazard = None
        state.open = False
        state.extra = {}
        self._push(now, _NOW, idx)

    def hazards(self) -> dict[str, str]:
        """Active hazards: device id → hazard name."""
        return {
            self.devices[i].id: s.hazard.name
            for i, s in enumerate(self.states)
            if s.hazard is not None
        }

    def _idx(self, device_id: str) -> int:
        idx = self.index.get(device_id)
        if idx is None:
            raise ValueError(f"no device {device_id!r} in the site")
        return idx


def render(report: Report, device: SimDevice, community_id: str) -> tuple[str, bytes]:
    """The MQTT topic and payload of a report, in the device's own format.

    Devices with a Zigbee2MQTT friendly name and a model :mod:`sensors.zigbee2mqtt`
    knows publish like Zigbee2MQTT (``zigbee2mqtt/<name>``, with ``last_seen``
    in epoch ms); every other device speaks the native wire contract
    (``gridwatch/<community>/<id>/state`` with ``ts`` and ``seq``).
    """
    if device.z2m_name and device.model in Z2M_MODELS:
        return z2m_state_topic(device.z2m_name), encode_z2m(
            device.model, report.fields, ts=report.ts
        )
    payload = {"ts": round(report.ts, 3), "seq": report.seq, **report.fields}
    return state_topic(community_id, device.id), orjson.dumps(payload)
