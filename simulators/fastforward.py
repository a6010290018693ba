"""Fast-forward: days of community life against a service on the manual clock, as fast
as the service can take them.

Layer: adapter (MQTT with paho, the service's API with httpx).

The service runs ``gridwatch run --clock manual``; time moves only when someone posts to
``/api/clock``. Each step takes the reports the pure :class:`CommunityModel` has due in
the next ``step_s`` seconds of service time, publishes them (their ``ts`` is the
service's time, so nothing is "in the future"), waits until the ingest has taken every
one, and moves the service's clock to the end of the step, which runs the absence sweep
and the escalations. Heartbeats, batteries, daily routines and hazards all run in that
time: a week of a few hundred devices passes in well under a minute, and the result is
the same as living through it (the same seed gives the same messages).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.connection import BrokerAddress, MqttTls
from simulators.behaviour import SimDevice, check_hazard
from simulators.community import SimulatorError, sim_devices
from simulators.engine import CommunityModel, render
from simulators.manual_clock import NOT_MANUAL, advance
from topology.index import SiteIndex

MAX_STEP_S = 240.0  # the service takes ts at most 300 s ahead of its clock


@dataclass(slots=True)
class FastForwardStats:
    """Progress of a fast-forward run.

    Attributes:
        sent: messages published.
        sim_start: service time at the start, epoch s.
        sim_now: service time now, epoch s.
        sim_end: service time the run ends at.
        wall_s: wall seconds so far.
        open_alerts: open alerts in the service, by severity (last poll).
        hazards: active simulated hazards, device id → hazard.
        dropouts: link dropouts begun so far.
    """

    sent: int = 0
    sim_start: float = 0.0
    sim_now: float = 0.0
    sim_end: float = 0.0
    wall_s: float = 0.0
    open_alerts: dict[str, int] = field(default_factory=dict)
    hazards: dict[str, str] = field(default_factory=dict)
    dropouts: int = 0

    @property
    def speedup(self) -> float:
        """Simulated seconds per wall second."""
        return (self.sim_now - self.sim_start) / max(self.wall_s, 1e-9)

    @property
    def rate_per_s(self) -> float:
        """Messages per wall second."""
        return self.sent / max(self.wall_s, 1e-9)


class FastForward:
    """Drives a manual-clock service through ``duration_s`` of simulated life.

    Args:
        index: the site the service runs (the same file).
        api: the service's base URL.
        token: an admin bearer token (the clock is an admin action).
        host, port: its MQTT broker.
        step_s: service seconds per step (at most 240; None: :func:`auto_step`).
        seed: the model's randomness.
        injections: (offset s, hazard, device id): hazards started that far into the run.
        fault_rate: link dropouts per device per simulated day (see CommunityModel).
        qos: the MQTT QoS of the reports (the service's wait makes 0 safe on loopback).
        settle_timeout_s: how long the service waits for its ingest to take a step's messages
            (at most 120 s).
    """

    def __init__(
        self,
        index: SiteIndex,
        *,
        api: str,
        token: str | None,
        host: str,
        port: int,
        step_s: float | None = None,
        seed: int = 0,
        injections: list[tuple[float, str, str]] | None = None,
        settle_timeout_s: float = 60.0,
        qos: int = 1,
        fault_rate: float = 0.0,
        username: str | None = None,
        password: str | None = None,
        tls: MqttTls | None = None,
    ) -> None:
        self.community_id = index.site.community.id
        self.devices = sim_devices(index)
        if step_s is None:
            step_s = auto_step(self.devices)
        if not 0 < step_s <= MAX_STEP_S:
            raise ValueError(f"step must be in (0, {MAX_STEP_S:g}] s")
        known = {d.id: d for d in self.devices}
        for _, hazard, device in injections or []:
            if device not in known:
                raise ValueError(f"no device {device!r} in the site")
            check_hazard(hazard, known[device])  # raises ValueError for a wrong pairing
        self.injections = sorted(injections or [])
        self.step_s = step_s
        self.qos = qos
        self.fault_rate = fault_rate
        self.seed = seed
        self.settle_timeout_s = settle_timeout_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=api.rstrip("/"), timeout=30, headers=headers)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-fastforward-{id(self)}")
        BrokerAddress(host, port, username, password, tls).configure(self.client)
        self.client.max_inflight_messages_set(1000)
        self.host, self.port = host, port
        self.stats = FastForwardStats()

    def _health(self) -> dict[str, Any]:
        r = self.http.get("/api/health")
        r.raise_for_status()
        return dict(r.json())

    def run(self, duration_s: float,
            progress: Callable[[FastForwardStats], None] | None = None) -> FastForwardStats:
        """Play ``duration_s`` seconds of service time; returns the final stats.

        Raises:
            SimulatorError: the broker or the service cannot be reached, or the service
                is not on the manual clock.
        """
        health = self._health()
        if health.get("clock") != "manual":
            raise SimulatorError(NOT_MANUAL)
        try:
            self.client.connect(self.host, self.port, keepalive=60)
        except OSError as exc:
            raise SimulatorError(f"cannot connect to the MQTT broker at {self.host}:{self.port}: {exc}") from exc
        self.client.loop_start()
        try:
            return self._run(float(health["time"]), int(health["ingest"]["received"]),
                             duration_s, progress)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            self.http.close()

    def _run(self, start: float, received: int, duration_s: float,
             progress: Callable[[FastForwardStats], None] | None) -> FastForwardStats:
        st = self.stats
        st.sim_start = st.sim_now = start
        st.sim_end = start + duration_s
        model = CommunityModel(self.devices, start_ts=start, rng=np.random.default_rng(self.seed),
                               warmup_s=min(self.step_s, 60.0), fault_rate=self.fault_rate)
        pending = list(self.injections)
        t0 = time.monotonic()
        last_progress = 0.0
        now = start
        while now < st.sim_end:
            nxt = min(now + self.step_s, st.sim_end)
            sent = 0
            while pending and start + pending[0][0] <= nxt:
                at, hazard, device = pending.pop(0)
                when = max(now, start + at)
                sent += self._publish_due(model, when)  # what came before, as it was
                model.inject(hazard, device, when)
            sent += self._publish_due(model, nxt)
            # No wait for each PUBACK here (with Nagle on the broker's side a round trip
            # can take 40 ms): the service waits until its ingest has them instead, and
            # then moves its clock (and sweeps, and escalates), in one round trip.
            st.sent += sent
            received += sent
            now = advance(self.http, nxt - now, received=received, wait_s=self.settle_timeout_s)
            st.sim_now = now
            st.wall_s = time.monotonic() - t0
            st.hazards = model.hazards()
            st.dropouts = model.dropouts
            if progress is not None and (time.monotonic() - last_progress >= 0.5 or now >= st.sim_end):
                st.open_alerts = self._open_alerts()
                progress(st)
                last_progress = time.monotonic()
        st.open_alerts = self._open_alerts()
        st.wall_s = time.monotonic() - t0
        return st

    def _publish_due(self, model: CommunityModel, until: float) -> int:
        """Publish every report due by ``until``; returns how many."""
        n = 0
        while True:
            reports = model.due(until, 10_000)
            for r in reports:
                topic, payload = render(r, self.devices[r.device_idx], self.community_id)
                self.client.publish(topic, payload, qos=self.qos)
            n += len(reports)
            if len(reports) < 10_000:
                return n

    def _open_alerts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._health()["alerts"]["open_by_severity"].items()}


def auto_step(devices: Sequence[SimDevice]) -> float:
    """The longest step that keeps the service's view true: a report is heard when its
    step ends, so a device looks silent for up to its heartbeat plus a step; the
    service's device list calls it out of contact past two heartbeats and a minute."""
    shortest = min((float(d.heartbeat_s) for d in devices), default=MAX_STEP_S)
    return max(1.0, min(MAX_STEP_S, shortest + 60.0))


def parse_duration(text: str) -> float:
    """``7d``, ``36h``, ``90m``, ``600s`` or plain seconds → seconds.

    Raises:
        ValueError: anything else, or not positive.
    """
    units = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
    t = text.strip().lower()
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except (ValueError, KeyError):
        raise ValueError(f"not a duration: {text!r} (e.g. 7d, 36h, 90m, 600)") from None
    if not 0 < value <= 366 * 86400:
        raise ValueError(f"duration must be positive and at most a year, not {text!r}")
    return value


__all__ = ["FastForward", "FastForwardStats", "auto_step", "parse_duration"]
