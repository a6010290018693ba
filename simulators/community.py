"""The simulated community on the wire: a thread that publishes :class:`CommunityModel` reports.

Layer: simulator (adapter). Owns one paho-mqtt client and one thread; the
behaviour lives in the pure :mod:`simulators.engine`. Thread-safe methods:
:meth:`CommunitySimulator.inject`, :meth:`~CommunitySimulator.clear` and
:meth:`~CommunitySimulator.stats` may be called from any thread while it runs.

    sim = CommunitySimulator(SiteIndex(load_site(SAMPLE_SITE)), host="127.0.0.1", port=1883)
    sim.start()
    sim.inject("gas_leak", "c1-b01-u1-101-gas")
    ...
    sim.stop()
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.connection import BrokerAddress, MqttTls
from sensors.errors import GridWatchError
from sensors.wire import availability_topic
from simulators.behaviour import SimDevice
from simulators.engine import CommunityModel, render
from topology.index import SiteIndex

MAX_UNACKED = 20_000  # publishing pauses when the broker is this far behind
BATCH = 2_000  # reports taken from the model per lock hold
RATE_WINDOW_S = 5.0


class SimulatorError(GridWatchError):
    """The simulator cannot run (the broker refused the connection, ...)."""


@dataclass(frozen=True, slots=True)
class SimStats:
    """What the simulator has done so far.

    Attributes:
        sent: messages handed to the MQTT client (duplicates included).
        acked: of those, acknowledged by the broker (QoS 1) or written (QoS 0).
        duplicates: deliberate repeats among ``sent``.
        rate_per_s: messages sent per second over the last few seconds.
        elapsed_s: wall seconds since start.
        sim_time_ts: the simulated clock (epoch s).
        devices: devices simulated.
        hazards: active hazards, device id → hazard name.
        connected: whether the client is connected to the broker now.
    """

    sent: int
    acked: int
    duplicates: int
    rate_per_s: float
    elapsed_s: float
    sim_time_ts: float
    devices: int
    hazards: dict[str, str]
    connected: bool


def sim_devices(index: SiteIndex) -> list[SimDevice]:
    """The simulator's view of a site's devices, in registry order."""
    return [
        SimDevice(
            id=p.device.id,
            kind=p.device.kind,
            heartbeat_s=p.device.heartbeat_s,
            place_kind=p.place_kind,
            elderly_alone=p.elderly_alone,
            model=p.device.model,
            z2m_name=p.device.z2m_name,
            location=p.device.location,
        )
        for p in index.devices
    ]


# Batteries found near their end on the first day, at most: a handful in a community of
# thousands, so the demo's battery warnings do not bury its one critical alarm.
DEMO_WEAK_BATTERIES = 3
WEAK_BATTERY_PCT = 35.0


def limit_weak_batteries(model: CommunityModel, keep: int, rng: np.random.Generator) -> int:
    """Give every battery that starts below :data:`WEAK_BATTERY_PCT` beyond the first
    ``keep`` a fresh one (45-100 %); returns how many were replaced."""
    weak = [s for s in model.states if s.battery_start_pct < WEAK_BATTERY_PCT]
    for s in weak[keep:]:
        s.battery_start_pct = float(rng.uniform(45.0, 100.0))
    return max(0, len(weak) - keep)


class CommunitySimulator:
    """Publishes every device of a site like the real thing, from its own thread.

    Args:
        index: the site.
        host: MQTT broker host.
        port: MQTT broker port.
        rate_multiplier: heartbeats, battery drain and daily routines run this
            many times faster than real time (timestamps stay real).
        seed: the same seed gives the same community behaviour.
        clock: wall clock (epoch s); tests may pass a fake one.
        qos: MQTT QoS of state messages.
        client_id: MQTT client id.
        warmup_s: first reports of all devices are spread over this many seconds.
        duplicate_prob: chance a report is sent twice.
        loss_prob: chance a report is lost.
        fault_rate: link dropouts per device per simulated day (0.5-6 h each).
        routines: False for heartbeats and hazards only.
        availability: publish ``online`` (retained) on each device's
            availability topic before its first report.
        username: broker user name, if it needs one.
        password: broker password.
        tls: TLS settings (``mqtts://``); None for plain TCP.
        weak_batteries: at most this many batteries start near their end (None: as
            drawn, about 1 %).
    """

    def __init__(
        self,
        index: SiteIndex,
        *,
        host: str,
        port: int,
        rate_multiplier: float = 1.0,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        qos: int = 1,
        client_id: str = "gridwatch-simulator",
        warmup_s: float = 5.0,
        duplicate_prob: float = 0.002,
        loss_prob: float = 0.0,
        fault_rate: float = 0.0,
        routines: bool = True,
        availability: bool = False,
        weak_batteries: int | None = DEMO_WEAK_BATTERIES,
        username: str | None = None,
        password: str | None = None,
        tls: MqttTls | None = None,
    ) -> None:
        self.community_id = index.site.community.id
        self.devices = sim_devices(index)
        self.host, self.port, self.qos = host, port, qos
        self.clock = clock
        self._model_args = {
            "rate_multiplier": rate_multiplier,
            "warmup_s": warmup_s,
            "duplicate_prob": duplicate_prob,
            "loss_prob": loss_prob,
            "fault_rate": fault_rate,
            "routines": routines,
        }
        self.seed = seed
        self.availability = availability
        self.weak_batteries = weak_batteries
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._model: CommunityModel | None = None
        self._announced: set[int] = set()
        self._sent = self._acked = self._dups = 0
        self._rate: deque[tuple[float, int]] = deque()
        self._started_ts = 0.0
        self._error: BaseException | None = None
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        BrokerAddress(host, port, username, password, tls).configure(self._client)
        self._client.max_inflight_messages_set(1000)
        self._client.reconnect_delay_set(1, 10)
        self._client.on_publish = self._on_publish

    # --- lifecycle ---

    def start(self) -> None:
        """Connect to the broker and start publishing in a background thread.

        Raises:
            SimulatorError: the broker cannot be reached.
        """
        if self._thread is not None:
            return
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise SimulatorError(
                f"cannot connect to the MQTT broker at {self.host}:{self.port}: {exc}"
            ) from exc
        self._client.loop_start()
        self._started_ts = self.clock()
        self._model = CommunityModel(
            self.devices,
            start_ts=self._started_ts,
            rng=np.random.default_rng(self.seed),
            **self._model_args,  # type: ignore[arg-type]
        )
        if self.weak_batteries is not None:
            limit_weak_batteries(self._model, self.weak_batteries, np.random.default_rng(self.seed + 1))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gridwatch-simulator", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout_s: float = 5.0) -> None:
        """Stop publishing, wait up to ``flush_timeout_s`` for the broker's acks, disconnect."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        deadline = time.monotonic() + flush_timeout_s
        while (
            self._acked < self._sent and time.monotonic() < deadline and self._client.is_connected()
        ):
            time.sleep(0.01)
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> CommunitySimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- control ---

    def inject(self, hazard: str, device_id: str) -> None:
        """Start a hazard on a device now (see :data:`simulators.behaviour.HAZARDS`).

        Raises:
            ValueError: unknown hazard or device, or one the device cannot have.
            SimulatorError: the simulator is not running.
        """
        with self._lock:
            self._running_model().inject(hazard, device_id, self.clock())

    def clear(self, device_id: str) -> None:
        """End any hazard on a device; it reports its normal state at once."""
        with self._lock:
            self._running_model().clear(device_id, self.clock())

    @property
    def dropouts(self) -> int:
        """Link dropouts begun so far."""
        return self._model.dropouts if self._model is not None else 0

    def stats(self) -> SimStats:
        """Counters and the current send rate."""
        now = self.clock()
        with self._lock:
            model = self._model
            hazards = model.hazards() if model else {}
            sim_ts = model.sim_time(now) if model else now
            window = [n for t, n in self._rate if t >= now - RATE_WINDOW_S]
            span = min(RATE_WINDOW_S, max(now - self._started_ts, 1e-6)) if model else 1.0
        return SimStats(
            sent=self._sent,
            acked=self._acked,
            duplicates=self._dups,
            rate_per_s=sum(window) / span,
            elapsed_s=now - self._started_ts if model else 0.0,
            sim_time_ts=sim_ts,
            devices=len(self.devices),
            hazards=hazards,
            connected=self._client.is_connected(),
        )

    @property
    def error(self) -> BaseException | None:
        """The exception that stopped the publishing thread, if any."""
        return self._error

    def _running_model(self) -> CommunityModel:
        if self._model is None:
            raise SimulatorError("the simulator is not running: call start() first")
        return self._model

    # --- the thread ---

    def _on_publish(self, client: object, userdata: object, mid: int, *rest: object) -> None:
        self._acked += 1

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._step()
        except BaseException as exc:  # noqa: BLE001 - kept for stats/error, the thread ends
            self._error = exc

    def _step(self) -> None:
        model = self._running_model()
        if self._sent - self._acked > MAX_UNACKED:
            self._stop.wait(0.05)  # the broker is behind (or gone): do not queue without end
            return
        now = self.clock()
        with self._lock:
            reports = model.due(now, BATCH)
            next_due = model.next_due()
        published = 0
        for r in reports:
            device = self.devices[r.device_idx]
            if self.availability and r.device_idx not in self._announced:
                self._announced.add(r.device_idx)
                self._publish(
                    availability_topic(self.community_id, device.id), b"online", retain=True
                )
                published += 1
            topic, payload = render(r, device, self.community_id)
            self._publish(topic, payload)
            published += 1
            self._dups += r.duplicate
        if published:
            with self._lock:
                self._rate.append((now, published))
                while self._rate and self._rate[0][0] < now - RATE_WINDOW_S:
                    self._rate.popleft()
        if len(reports) < BATCH:
            self._stop.wait(max(0.0, min(next_due - self.clock(), 0.25)))

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=self.qos, retain=retain)
        self._sent += 1
