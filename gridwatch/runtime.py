"""The composition root: builds every part from the settings and runs them together.

Layer: composition root (the one place that knows every adapter). Threads:
paho's network thread and the ingest worker (hot path), the embedded broker's
thread, the simulator's thread; everything else (alert side, API, sweeps,
snapshots, console) runs on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import uvicorn

from alerts.notify.dispatcher import Dispatcher
from alerts.rules.engine import RuleEngine
from alerts.rules.kernel import warm_up
from alerts.rules.params import params_for_site
from alerts.rules.types import Severity
from alerts.service import AlertChange
from alerts.system import SystemHazard
from gridwatch.alarm import MANUAL_CLOCK_KEY, AlarmPath, AlertCommands
from gridwatch.clock import Clock, ManualClock, SystemClock
from gridwatch.config import Settings
from gridwatch.watch import FaultWatch
from gridwatch.writer import WriterStopped
from ingest.broker import BrokerThread
from ingest.mqtt import MqttIngest, MqttTarget, ingest_client_id
from ingest.pipeline import Decoder, IngestPipeline
from sensors.live import LiveState
from sensors.wire import TOPIC_ROOT
from sensors.zigbee2mqtt import Z2M_BASE_TOPIC
from store.db import Database
from store.notify import NotifyStore, migrate_notify_db
from store.protocol import ReadingStore
from store.sqlite import SQLiteReadingStore
from store.state import StateStore
from store.users import UserStore
from topology.index import SiteIndex, device_table
from topology.load import SAMPLE_SITE, load_site

log = logging.getLogger(__name__)
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
        self.clock: Clock = clock or (ManualClock(settings.clock_start) if settings.clock == "manual"
                                      else SystemClock())
        self.site = load_site(settings.site or SAMPLE_SITE)
        self.index = SiteIndex(self.site)
        self.table = device_table(self.index)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        sync = settings.sqlite_sync.upper()
        self.db = Database(settings.data_dir / "state.db", synchronous=sync)
        self.state = StateStore(self.db)
        if migrate_notify_db(settings.data_dir / "notify.db", self.db):
            log.warning("moved notify.db into state.db (escalations and delivery attempts)")
        resumed = self.state.get_blob(MANUAL_CLOCK_KEY) if clock is None else None
        if isinstance(self.clock, ManualClock) and resumed:  # a restart resumes the test clock
            self.clock.resume(float(resumed.decode()))
        self.readings = _open_readings(settings, self.index)
        self.users = UserStore(settings.data_dir / "users.db", synchronous=sync)
        from api.principal import seed_users  # noqa: PLC0415 - the API imports the runtime's types

        seed_users(self.users, self.site, self.clock())
        self.live = LiveState(self.table)
        self.live.restore(self.state.load_device_states())
        warm_up()  # compile the rule kernel (or load it) now, not on the first readings
        self.engine = RuleEngine(self.table, params_for_site(self.index, self.table))
        self.notify_store = NotifyStore(self.db)
        self._alerts_topic = f"{TOPIC_ROOT}/{self.site.community.id}/alerts"
        self._alerts_mqtt: Any = None
        self.dispatcher = Dispatcher(
            self.notify_store,
            public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
            tz=_zone(self.site.community.timezone),
            retries=settings.notify_retries, retry_backoff_s=settings.notify_backoff_s,
            timeout_s=settings.notify_timeout_s, mqtt_publish=self._publish_alert_json,
            clock=self.clock,
            # the alarm path is built below, with the dispatcher as its notifier
            on_delivered=lambda oid, ch: self.alarm.delivered(oid, ch),  # noqa: PLW0108
            record=lambda a: self.alarm.record_attempt(a),  # noqa: PLW0108
        )
        self.pipeline = IngestPipeline(
            Decoder(self.table, max_skew_s=settings.max_skew_s, z2m=self.index.z2m_names()),
            self.readings, self.state,
            lambda batch, avail, dead, dropped, now: self.alarm.submit_readings(  # noqa: PLW0108 - built below
                batch, avail, dead, dropped, now),
            self.clock,
        )
        self.alarm = self._start_alarm_path()
        self.alerts = AlertCommands(self.alarm)
        self.commands = self.alarm
        self.escalation = self.alarm.escalation
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
            MqttTarget(host, port,
                       settings.mqtt_client_id or ingest_client_id(settings.data_dir, community),
                       protocol,  # the embedded broker lets in only its own users:
                       *(self.broker.login("gridwatch") if self.broker else (user, password)),
                       tls=settings.mqtt_tls()),
            topics,
            clock=self.clock,
        )
        self.simulator: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._failing_jobs: dict[str, str] = {}  # periodic jobs of the alarm writer failing, and why
        self._server: uvicorn.Server | None = None
        self._store_down_since: float | None = None
        self._store_faults: dict[SystemHazard, bool] = {}
        self.watch = FaultWatch(data_dir=settings.data_dir, alarm=self.alarm, ingest=self.ingest,
                                pipeline=self.pipeline, dispatcher=self.dispatcher, clock=self.clock)

    def _start_alarm_path(self) -> AlarmPath:
        """Build the alarm path and replay its journal (before MQTT connects)."""
        alarm = AlarmPath(
            index=self.index, db=self.db, state=self.state, notify_store=self.notify_store,
            engine=self.engine, live=self.live,
            notifier=self.dispatcher, clock=self.clock,
        )
        self.counters = Counters(started_at=self.clock())
        alarm.subscribe(self._count_alert)
        alarm.start()  # logs how many inputs it replayed and how long that took
        return alarm

    # -- the alarm path's jobs and commands (each one transaction of the writer) ---------

    def faults(self) -> list[dict[str, Any]]:
        """Faults present that can delay an alarm (the health check fails on a critical one)."""
        out = self.alarm.fault_views()
        w = self.alarm.writer
        if w.failing_since is not None and not any(f["name"] == "alarm_store_failing" for f in out):
            out.append({"name": "alarm_store_failing", "severity": "critical", "since": self.clock(),
                        "note": w.last_error, "count": w.retries})
        return out

    def pending_transitions(self) -> int:
        """Jobs waiting for the alarm writer (0 when every change is committed)."""
        return self.alarm.writer.backlog()

    def sweep(self) -> list[AlertChange]:
        """Run the absence rules now, then every escalation step due."""
        changes = self.alarm.sweep(self.clock())
        self.counters.sweeps += 1
        return changes

    def _count_alert(self, change: AlertChange) -> None:
        if change.created:
            self.counters.alerts_raised += 1
            self.counters.recent.append(change)
            del self.counters.recent[:-20]

    # -- running ---------------------------------------------------------------------------------

    async def serve(self, *, ready: Callable[[Runtime], None] | None = None) -> None:
        """Run until :meth:`request_stop` (or SIGINT / SIGTERM in the main thread)."""
        self._loop = asyncio.get_running_loop()
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
            asyncio.create_task(self._every_job(self.settings.sweep_interval_s, "sweep",
                                                lambda: self.alarm._sweep_job(self.clock())), name="sweep"),
            asyncio.create_task(self._every_job(self.settings.snapshot_interval_s, "checkpoint",
                                                self.alarm._checkpoint_job), name="checkpoint"),
            asyncio.create_task(self._every_job(self.settings.escalation_tick_s, "tick",
                                                lambda: self.alarm._tick_job(self.clock())), name="escalation"),
            asyncio.create_task(self._every(2.0, self.check_store), name="store-watch"),
            asyncio.create_task(self._every(2.0, self.watch.check), name="fault-watch"),
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
        await asyncio.to_thread(self.dispatcher.close, 3.0)
        await asyncio.to_thread(self.alarm.stop)  # the last checkpoint, then the writer ends
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

        target = self.ingest.target  # the ingest's broker, credentials and TLS
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"gridwatch-alerts-{self.site.community.id}-{secrets.token_hex(8)}")
        if target.username is not None:
            client.username_pw_set(target.username, target.password)
        if target.tls is not None:
            target.tls.apply(client)
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

    def check_store(self) -> list[str]:
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
        wanted = {
            SystemHazard.DATA_GAP: (bool(health.get("data_gap")), Severity.CRITICAL,
                                    f"readings refused: the spool is full ({spool})"),
            SystemHazard.STORE_UNREACHABLE: (long_down, Severity.WARNING,
                                             f"{health.get('last_error') or 'no answer'}; {spool}"),
        }
        changed: list[str] = []
        for hazard, (active, severity, note) in wanted.items():
            if self._store_faults.get(hazard, False) != active:
                self._store_faults[hazard] = active
                self.alarm.system_fault(hazard, active=active, severity=severity, note=note)
                changed.append(hazard.value)
        if changed:  # committed before the caller looks
            self.alarm.writer.call("store-faults", lambda: None)
        return changed

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

    async def _every_job(self, interval_s: float, name: str, fn: Callable[[], object]) -> None:
        """Queue a job of the alarm writer every ``interval_s`` and wait for it without
        holding a thread of the pool the API uses. A job that fails (a bug: a refusing
        store is retried inside the writer) is a critical system fault until it runs
        again: without the sweep no device is found silent, without the tick nobody
        above the worker is told."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.wrap_future(self.alarm.writer.submit(name, fn))
            except WriterStopped:
                return
            except Exception as exc:
                log.exception("periodic %s failed", name)
                self._job_failed(name, f"{type(exc).__name__}: {exc}")
            else:
                self._job_failed(name, None)

    def _job_failed(self, name: str, error: str | None) -> None:
        """Record whether a periodic job failed; the fault lasts while any of them fails."""
        before = bool(self._failing_jobs)
        if error is None:
            self._failing_jobs.pop(name, None)
        else:
            self._failing_jobs[name] = error
        if bool(self._failing_jobs) != before:
            note = "; ".join(f"{k}: {v}" for k, v in self._failing_jobs.items())[:300]
            self.alarm.system_fault(SystemHazard.TIMERS_FAILING, active=bool(self._failing_jobs),
                                    severity=Severity.CRITICAL, note=note or "the timed jobs run again")

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
            **self.simulator_login(),
        )
        self.simulator.start()
        after = self.settings.sim_hazard_after_s
        device = self.demo_hazard_device()
        if device is not None:
            timer = threading.Timer(after, self.simulator.inject, args=("gas_leak", device))
            timer.daemon = True
            timer.start()

    def simulator_login(self) -> dict[str, Any]:
        """How the bundled simulator connects: the embedded broker's simulator user, or
        the external broker's TLS settings and credentials."""
        if self.broker is not None:
            user, password = self.broker.login("simulator")
            return {"username": user, "password": password}
        t = self.ingest.target
        return {"username": t.username, "password": t.password, "tls": t.tls}

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
