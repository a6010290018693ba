"""The composition root: builds every part from the settings and runs them together.

Layer: composition root (the one place that knows every adapter). Threads:
paho's network thread and the ingest worker (hot path), the embedded broker's
thread, the simulator's thread; everything else (alert side, API, sweeps,
snapshots, console) runs on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import orjson
import uvicorn

from alerts.escalation import EscalationEngine
from alerts.model import AlertEvent
from alerts.noise import Silence
from alerts.notify.dispatcher import Dispatcher
from alerts.notify.types import NoticeType
from alerts.rules.engine import RuleEngine
from alerts.rules.kernel import warm_up
from alerts.rules.params import params_for_site
from alerts.rules.types import Hazard, Severity, Transition
from alerts.service import AlertChange, AlertService, DeviceRetired
from alerts.system import SystemHazard
from gridwatch.clock import Clock, ManualClock, SystemClock
from gridwatch.config import Settings
from ingest.broker import BrokerThread
from ingest.mqtt import MqttIngest, MqttTarget
from ingest.pipeline import Decoder, IngestPipeline
from sensors.batch import ReadingBatch
from sensors.live import LiveState
from sensors.wire import TOPIC_ROOT
from sensors.zigbee2mqtt import Z2M_BASE_TOPIC
from store.notify import NotifyStore
from store.protocol import ReadingStore
from store.sqlite import SQLiteReadingStore
from store.state import StateStore
from store.users import UserStore
from topology.index import SiteIndex, device_table
from topology.load import SAMPLE_SITE, load_site

log = logging.getLogger(__name__)
SNAPSHOT_KEY = "rules.snapshot"
RETIRED_KEY = "devices.retired"
# The readings store unreachable this long (seconds) raises a system alert.
STORE_DOWN_ALERT_S = 60.0


@dataclass
class Counters:
    """Figures the console and the health endpoint show."""

    started_at: float = 0.0
    sweeps: int = 0
    alerts_raised: int = 0
    recent: list[AlertChange] = field(default_factory=list)


def _open_readings(settings: Settings, index: SiteIndex) -> ReadingStore:
    sync = settings.sqlite_sync.upper()
    if settings.store == "sqlite":
        return SQLiteReadingStore(settings.data_dir / "readings.db", synchronous=sync)
    from store.influx_config import InfluxSettings, open_influx_store  # noqa: PLC0415 - optional backend

    tags = {
        p.id: {"community": index.site.community.id, "grid": p.grid_id, "building": p.building_id,
               "device": p.id, "kind": p.kind.value}
        for p in index.devices
    }
    influx = InfluxSettings(
        url=settings.influx_url or "http://127.0.0.1:8086",
        database=settings.influx_database,
        token=settings.influx_token,
        username=settings.influx_username,
        password=settings.influx_password,
    )
    return open_influx_store(influx, series_tags=tags, data_dir=settings.data_dir)


def _zone(name: str | None) -> tzinfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


class Runtime:
    """Every part of a running GridWatch, wired together."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        """Build everything (no network yet).

        Raises:
            SiteError: the site file does not validate.
        """
        self.settings = settings
        self.clock: Clock = clock or (ManualClock() if settings.clock == "manual" else SystemClock())
        self.site = load_site(settings.site or SAMPLE_SITE)
        self.index = SiteIndex(self.site)
        self.table = device_table(self.index)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        sync = settings.sqlite_sync.upper()
        self.state = StateStore(settings.data_dir / "state.db", synchronous=sync)
        self.readings = _open_readings(settings, self.index)
        self.users = UserStore(settings.data_dir / "users.db", synchronous=sync)
        from api.principal import seed_users  # noqa: PLC0415 - the API imports the runtime's types

        seed_users(self.users, self.site, self.clock())
        self.live = LiveState(self.table)
        self.live.restore(self.state.load_device_states())
        self.engine = RuleEngine(self.table, params_for_site(self.index, self.table))
        self.engine_lock = threading.Lock()
        self._retired: set[str] | None = None
        self._restore_engine()
        for device_id in self.retired():  # out of service stays out of service
            if device_id in self.table.index:
                self.engine.set_maintenance(self.table.index[device_id], True, self.clock())
        self.alerts = AlertService(self.index, self.table, self.state)
        self.notify_store = NotifyStore(settings.data_dir / "notify.db", synchronous=sync)
        self._alerts_topic = f"{TOPIC_ROOT}/{self.site.community.id}/alerts"
        self._alerts_mqtt: Any = None
        self.dispatcher = Dispatcher(
            self.notify_store,
            public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
            tz=_zone(self.site.community.timezone),
            retries=settings.notify_retries, retry_backoff_s=settings.notify_backoff_s,
            timeout_s=settings.notify_timeout_s, mqtt_publish=self._publish_alert_json,
            clock=self.clock,
        )
        self.escalation = EscalationEngine(self.index, self.alerts, self.notify_store,
                                           self.dispatcher, clock=self.clock)
        self.escalation.resume(self.state.open_alerts(), self.clock())
        self.alerts.subscribe(self.escalation.on_change)
        self.alerts.subscribe(self._tell_rules)
        self.counters = Counters(started_at=self.clock())
        self.alerts.subscribe(self._count_alert)
        self.alerts.set_silences(self.state.silences(ending_after=self.clock()), self.clock())
        self.pipeline = IngestPipeline(
            Decoder(self.table, max_skew_s=settings.max_skew_s, z2m=self.index.z2m_names()),
            self.readings, self.state,
            self.live, self._evaluate, self._on_transitions, self.clock,
        )
        host, port, user, password = settings.mqtt_parts()
        self.mqtt_host, self.mqtt_port = host, port
        self.broker = BrokerThread(host, port) if settings.mqtt is None else None
        # 3.1.1 by default: paho builds a Properties object for every MQTT 5 PUBLISH,
        # which cost a quarter of the ingest's time (bench/ingest.py: 21k vs 15.6k msg/s).
        protocol = 5 if settings.mqtt_protocol == "5" else 4
        community = self.site.community.id
        topics = [f"{TOPIC_ROOT}/{community}/#"]
        if self.pipeline.decoder.z2m:
            topics.append(f"{Z2M_BASE_TOPIC}/#")
        self.ingest = MqttIngest(
            self.pipeline,
            MqttTarget(host, port, settings.mqtt_client_id or f"gridwatch-ingest-{community}",
                       protocol, user, password),
            topics,
            clock=self.clock,
        )
        self.simulator: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transitions: asyncio.Queue[tuple[list[Transition], float]] | None = None
        self._stop = threading.Event()
        self._server: uvicorn.Server | None = None
        self._store_down_since: float | None = None
        self._pending, self._pending_lock = 0, threading.Lock()

    # -- rule core glue (called from the ingest thread and the sweep task) -----------------

    def _evaluate(self, batch: ReadingBatch, avail: list[tuple[int, bool, float]], now: float) -> list[Transition]:
        with self.engine_lock:
            out = self.engine.evaluate(batch, now) if len(batch) else []
            for idx, online, ts in avail:
                out.extend(self.engine.availability(idx, online, ts, now))
        return out

    def _on_transitions(self, transitions: list[Transition], now: float) -> None:
        loop, q = self._loop, self._transitions
        if loop is None or q is None:  # not serving (tests of the pipeline alone)
            self.alerts.apply(transitions, now)
            return
        with self._pending_lock:
            self._pending += 1
        loop.call_soon_threadsafe(q.put_nowait, (transitions, now))

    def pending_transitions(self) -> int:
        """Batches of rule transitions handed to the alert side and not yet applied."""
        with self._pending_lock:
            return self._pending

    def _applied(self) -> None:
        with self._pending_lock:
            self._pending -= 1

    def sweep(self) -> list[AlertChange]:
        """Run the absence rules now (thread-safe); returns the alert changes."""
        now = self.clock()
        with self.engine_lock:
            transitions = self.engine.sweep(now)
        self.counters.sweeps += 1
        changes = self.alerts.apply(transitions, now) if transitions else []
        self.tick_notices(now)  # a moved manual clock escalates at once, too
        return changes

    def tick_notices(self, now: float | None = None) -> int:
        """Silences that started or ended, then every escalation step due."""
        now = self.clock() if now is None else now
        self.alerts.refresh_silences(now)
        self.alerts.release_inhibited(now)
        return self.escalation.tick(now)

    def add_silence(self, silence: Silence, *, actor: str) -> Silence:
        """Store a silence or maintenance window and apply it to open alerts (audited)."""
        now = self.clock()
        silence.created_at = now
        self.state.add_silence(silence)
        self.alerts.set_silences([*self.alerts.silences, silence], now)
        self.state.audit(actor, "silence.create", f"silence/{silence.id}", silence.to_dict(), ts=now)
        return silence

    def end_silence(self, silence: Silence, *, actor: str) -> Silence:
        """Lift a silence now: the alerts it held speak again (audited)."""
        now = self.clock()
        if not silence.over(now):
            silence.ended_at, silence.ended_by = now, actor
            self.state.save_silence(silence)
            self.alerts.set_silences([s for s in self.alerts.silences if s.id != silence.id], now)
            self.state.audit(actor, "silence.end", f"silence/{silence.id}", {}, ts=now)
        return silence

    def _tell_rules(self, change: AlertChange) -> None:
        """A person acknowledged a device's alert: the rule core hears of it (a wet leak
        sensor that someone has taken stays a warning instead of turning critical)."""
        a = change.alert
        if a.device_id is None or not any(e.action == "acknowledged" for e in change.events):
            return
        idx = self.table.index.get(a.device_id)
        try:
            hazard = Hazard(a.hazard)
        except ValueError:
            return
        if idx is not None:
            with self.engine_lock:
                self.engine.acknowledge(idx, hazard, self.clock())

    def set_maintenance(self, device_id: str, on: bool, *, actor: str, note: str = "") -> bool:
        """Put a device in (or out of) maintenance / test mode: its readings are stored and
        move the rules, nothing is raised; entering clears what it had raised."""
        idx = self.table.index[device_id]
        now = self.clock()
        if not on and device_id in self.retired():
            raise DeviceRetired(f"device {device_id!r} is retired")
        with self.engine_lock:
            transitions = self.engine.set_maintenance(idx, on, now)
        self.alerts.apply(transitions, now)
        self.state.audit(actor, "device.maintenance", f"device/{device_id}",
                         {"on": on, "note": note}, ts=now)
        return bool(self.engine.st.maint[idx])

    def retired(self) -> set[str]:
        """Devices taken out of service (kept in the state store)."""
        if self._retired is None:
            blob = self.state.get_blob(RETIRED_KEY)
            self._retired = set(orjson.loads(blob)) if blob else set()
        return self._retired

    def retire_device(self, device_id: str, *, actor: str, note: str = "") -> dict[str, Any]:
        """Take a device out of service (设备注销): it raises nothing from now on (its
        readings are still stored), its open alerts are closed, and its grid worker and
        property company get a "device retired" notice. Audited."""
        idx = self.table.index[device_id]
        now = self.clock()
        retired = self.retired()
        if device_id in retired:
            return {"device_id": device_id, "retired": True, "record": None}
        with self.engine_lock:
            transitions = self.engine.set_maintenance(idx, True, now)
        self.alerts.apply(transitions, now)
        retired.add(device_id)
        self.state.put_blob(RETIRED_KEY, orjson.dumps(sorted(retired)))
        self._retired = retired
        change = self.alerts.retire(device_id, actor=actor, now=now, note=note)
        self.escalation.announce(change.alert, NoticeType.DEVICE_RETIRED, ["worker", "property"],
                                 f"retired by {actor}")
        self.state.audit(actor, "device.retire", f"device/{device_id}", {"note": note}, ts=now)
        return {"device_id": device_id, "retired": True, "record": change.alert.id}

    def hush(self, device_id: str, *, actor: str, note: str = "") -> bool:
        """Silence a sounding smoke alarm for ``smoke_hush_s`` (10 min): its alert drops to
        info and comes back critical if the detector still sees smoke then. The person
        is on the alert's timeline and in the audit log. False when it was not sounding."""
        idx = self.table.index[device_id]
        now = self.clock()
        with self.engine_lock:
            transitions = self.engine.hush(idx, now)
        if not transitions:
            return False
        self.alerts.apply(transitions, now)
        alert = self.state.open_alert(f"{device_id}:{Hazard.SMOKE.value}")
        if alert is not None:
            self.alerts.annotate(alert.id, {}, AlertEvent(alert.id, now, actor, "hushed", note))
        self.state.audit(actor, "device.hush", f"device/{device_id}", {"note": note}, ts=now)
        return True

    def set_away(self, household_id: str, away: bool, *, actor: str, note: str = "") -> bool | None:
        """A household checks in as away (no welfare alerts) or back; None when the
        household has no devices (nothing to watch)."""
        rows = [i for i, p in enumerate(self.index.devices) if p.household_id == household_id]
        if not rows:
            return None
        row = int(self.table.household[rows[0]])
        now = self.clock()
        with self.engine_lock:
            transitions = self.engine.set_away(row, away, now)
        self.alerts.apply(transitions, now)
        self.state.audit(actor, "household.away", f"household/{household_id}",
                         {"away": away, "note": note}, ts=now)
        return bool(self.engine.st.away[row])

    def _count_alert(self, change: AlertChange) -> None:
        if change.created:
            self.counters.alerts_raised += 1
            self.counters.recent.append(change)
            del self.counters.recent[:-20]

    # -- persistence of in-memory state ----------------------------------------------------

    def _restore_engine(self) -> None:
        warm_up()  # compile the rule kernel (or load it) now, not on the first readings
        blob = self.state.get_blob(SNAPSHOT_KEY)
        if blob is None:
            return
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                snap = {k: z[k] for k in z.files}
            if len(snap.get("last_seen", ())) == len(self.table):
                self.engine.restore(snap)
        except Exception:  # a snapshot from another site or version: start fresh
            log.exception("rule snapshot not restored; starting with fresh rule state")

    def save_state(self) -> None:
        """Persist the rule core's snapshot and the live device states (thread-safe)."""
        with self.engine_lock:
            snap = self.engine.snapshot()
        buf = io.BytesIO()
        np.savez(buf, **snap)  # type: ignore[arg-type]  # numpy's stub types allow_pickle only
        self.state.put_blob(SNAPSHOT_KEY, buf.getvalue())
        with self.pipeline.lock:
            rows = self.live.rows()
        self.state.save_device_states(rows)

    # -- running ---------------------------------------------------------------------------------

    async def serve(self, *, ready: Callable[[Runtime], None] | None = None) -> None:
        """Run until :meth:`request_stop` (or SIGINT / SIGTERM in the main thread)."""
        self._loop = asyncio.get_running_loop()
        self._transitions = asyncio.Queue()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.start)
        self.ingest.start()
        await asyncio.to_thread(self._connect_alerts_mqtt)
        urls = [u for w in self.site.workers for u in w.notify]
        await asyncio.to_thread(self.dispatcher.warm_up, urls)
        from api.app import create_app  # noqa: PLC0415 - the API imports the runtime's types

        app = create_app(self)
        from api.server import server_options  # noqa: PLC0415 - beside create_app

        config = uvicorn.Config(app, host=self.settings.host, port=self.settings.port,
                                log_level="warning", lifespan="off", access_log=False,
                                **server_options(self.settings))
        self._server = _QuietServer(config)
        tasks = [
            asyncio.create_task(self._server.serve(), name="api"),
            asyncio.create_task(self._alert_loop(), name="alerts"),
            asyncio.create_task(self._every(self.settings.sweep_interval_s, self.sweep), name="sweep"),
            asyncio.create_task(self._every(self.settings.snapshot_interval_s, self.save_state),
                                name="snapshot"),
            asyncio.create_task(self._every(2.0, self.check_store), name="store-watch"),
            asyncio.create_task(self._every(self.settings.escalation_tick_s, self.tick_notices),
                                name="escalation"),
        ]
        with self._signals():
            while not self._server.started and not tasks[0].done():  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.02)
            if self.settings.simulate:
                await asyncio.to_thread(self._start_simulator)
            if ready is not None:
                ready(self)
            stop_task = asyncio.create_task(asyncio.to_thread(self._stop.wait), name="stop")
            await asyncio.wait([tasks[0], stop_task], return_when=asyncio.FIRST_COMPLETED)
            self._stop.set()
            await self._shutdown(tasks, stop_task)

    async def _shutdown(self, tasks: list[asyncio.Task[Any]], stop_task: asyncio.Task[Any]) -> None:
        if self.simulator is not None:
            await asyncio.to_thread(self.simulator.stop)
        await asyncio.to_thread(self.ingest.stop)
        if self._server is not None:
            from api.app import shutdown  # noqa: PLC0415

            shutdown(self._server.config.app)  # ends the live-event streams of open pages
            self._server.should_exit = True
        for t in tasks[1:]:
            t.cancel()
        await asyncio.gather(*tasks, stop_task, return_exceptions=True)
        await self._drain_transitions()
        await asyncio.to_thread(self.save_state)
        await asyncio.to_thread(self.dispatcher.close, 3.0)
        if self._alerts_mqtt is not None:
            self._alerts_mqtt.disconnect()
            self._alerts_mqtt.loop_stop()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)
        self.readings.close()
        self.users.close()
        self.notify_store.close()
        self.state.close()

    def _connect_alerts_mqtt(self) -> None:
        """A publisher for ``gridwatch/<community>/alerts`` (integrations); best effort."""
        import paho.mqtt.client as mqtt  # noqa: PLC0415
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        _, _, user, password = self.settings.mqtt_parts()
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"gridwatch-alerts-{self.site.community.id}")
        if user is not None:
            client.username_pw_set(user, password)
        client.max_queued_messages_set(10_000)
        try:
            client.connect_async(self.mqtt_host, self.mqtt_port)
            client.loop_start()
        except OSError as exc:
            log.warning("alerts topic publisher cannot connect: %s", exc)
            return
        self._alerts_mqtt = client

    def _publish_alert_json(self, payload: bytes) -> None:
        if self._alerts_mqtt is not None:
            self._alerts_mqtt.publish(self._alerts_topic, payload, qos=1)

    def check_store(self) -> list[AlertChange]:
        """Raise (or clear) the system alerts about the readings store: a data gap when
        its spool refused readings, and the store unreachable for over a minute."""
        health = self.readings.health()
        now = self.clock()
        down = health.get("reachable") is False
        if not down:
            self._store_down_since = None
        elif self._store_down_since is None:
            self._store_down_since = now
        long_down = down and now - (self._store_down_since or now) >= STORE_DOWN_ALERT_S
        spool = f"spool {health.get('spool_records', 0)} batches, {health.get('spool_bytes', 0)} B"
        changes = [
            self.alerts.system(SystemHazard.DATA_GAP, active=bool(health.get("data_gap")),
                               severity=Severity.CRITICAL, now=now,
                               note=f"readings refused: the spool is full ({spool})"),
            self.alerts.system(SystemHazard.STORE_UNREACHABLE, active=long_down,
                               severity=Severity.WARNING, now=now,
                               note=f"{health.get('last_error') or 'no answer'}; {spool}"),
        ]
        return [c for c in changes if c is not None]

    def request_stop(self) -> None:
        """Ask :meth:`serve` to shut down (thread-safe)."""
        self._stop.set()

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._stop.set)
                installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    async def _alert_loop(self) -> None:
        assert self._transitions is not None
        while True:
            transitions, now = await self._transitions.get()
            try:
                await asyncio.to_thread(self.alerts.apply, transitions, now)
            except Exception:
                log.exception("applying %d transitions failed", len(transitions))
            finally:
                self._applied()

    async def _drain_transitions(self) -> None:
        q = self._transitions
        while q is not None and not q.empty():
            transitions, now = q.get_nowait()
            try:
                await asyncio.to_thread(self.alerts.apply, transitions, now)
            finally:
                self._applied()

    async def _every(self, interval_s: float, fn: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(fn)
            except Exception:
                log.exception("periodic %s failed", getattr(fn, "__name__", fn))

    def _start_simulator(self) -> None:
        from simulators.community import CommunitySimulator  # noqa: PLC0415 - only with --simulate

        self.simulator = CommunitySimulator(
            self.index, host=self.mqtt_host, port=self.mqtt_port,
            rate_multiplier=self.settings.sim_rate, clock=self.clock,
            fault_rate=self.settings.sim_fault_rate,
        )
        self.simulator.start()
        after = self.settings.sim_hazard_after_s
        device = self.demo_hazard_device()
        if device is not None:
            timer = threading.Timer(after, self.simulator.inject, args=("gas_leak", device))
            timer.daemon = True
            timer.start()

    def demo_hazard_device(self) -> str | None:
        """The gas detector the demo leaks gas on (the first one in a household)."""
        for p in self.index.devices:
            if p.kind.value == "gas" and p.household_id:
                return p.id
        return None


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
