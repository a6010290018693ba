"""The alarm path: rule inputs, alert changes, escalation steps and the notices they
decide, each committed in one transaction by one writer thread, before anybody (the
broker, a person, a page) hears of it.

Layer: composition root (the application service of the alarm side). The alert side
itself is :class:`alerts.pipeline.AlarmCore` (pure, in memory); this is its durable
shell. The API and the runtime call its typed methods; each runs as one job of
:class:`Writer`:

1. the job runs the core with the :class:`RuleJournal` as its rules port (every rule
   input journaled), the SQLite state store as its books and :class:`_Outbox` as
   its notifier;
2. before the commit, every change goes through escalation (the core's drain), whose
   steps and notices (an outbox row per person) are written in the same
   transaction, and a person's acknowledgement goes back to the rules (journaled too);
3. after the commit, the notices go to the dispatcher and the changes to listeners
   (live pages, the console). After a rollback, the rules, the open-incident
   indexes and escalation are put back where the last commit left them.

The guarantee, for a grid worker: a reading the broker handed over is stored and
its alarm, with the notice to you, is on disk before the broker is told "received";
after a crash or a database fault the service picks up exactly there, and a notice
not yet recorded as delivered to you is sent again until one of your channels
takes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from alerts.model import Alert, AlertStatus, Facts, Outcome, ReportCategory, Source
from alerts.noise import Silence
from alerts.notify.types import Notice, NoticeType
from alerts.pipeline import AlarmCore
from alerts.routing import Recipient
from alerts.rules.engine import RuleEngine
from alerts.rules.types import Severity
from alerts.service import AlertChange
from alerts.system import SystemHazard
from gridwatch.journal import RuleJournal
from gridwatch.writer import Writer
from ingest import failpoints
from sensors.batch import ReadingBatch
from sensors.errors import AlarmStoreBusy
from sensors.live import LiveState
from store.db import Database
from store.notify import Attempt, NotifyStore
from store.state import DeadLetter, StateStore
from topology.index import SiteIndex

log = logging.getLogger(__name__)
T = TypeVar("T")

# Notices older than this when the service starts are not sent any more (marked expired).
OUTBOX_MAX_AGE_S = 86400.0
RETIRED_KEY = "devices.retired"
# A person's command waits this long for the alarm store, then is refused (503).
COMMAND_TIMEOUT_S = 15.0
# Journal entries dropped per transaction after a checkpoint (at most about 5 MB: an
# entry holds one batch, at most a few thousand readings of about 116 bytes).
JOURNAL_PRUNE_ENTRIES = 8
MANUAL_CLOCK_KEY = "clock.manual"  # where a manual test clock was, so a restart resumes it


@dataclass(slots=True)
class Fault:
    """A condition of the service that can delay an alarm, as the health check shows it."""

    name: str
    severity: str
    since: float
    note: str
    count: int = 1

    def view(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "severity": self.severity, "since": self.since,
                "note": self.note, "count": self.count}


@dataclass(slots=True)
class _Round:
    """What one transaction has produced, held until it commits (its alert changes
    wait in the core)."""

    notices: list[Notice] = field(default_factory=list)
    checkpoint: bool = False


class _Outbox:
    """The escalation engine's notifier: an outbox row per person, in the transaction;
    the notices themselves go out after the commit."""

    def __init__(self, path: AlarmPath) -> None:
        self.path = path

    def submit(self, notice: Notice) -> None:
        ids: dict[str, int] = {}
        for r in notice.recipients:
            if not r.urls:
                continue  # nothing can ever deliver it; the dispatcher records "no channel"
            ids[r.id] = self.path.state.outbox_add(notice.alert.id, {
                "notice": notice.notice.value, "reason": notice.reason, "level": notice.level,
                "recipient": {"id": r.id, "name": r.name, "role": r.role, "urls": list(r.urls),
                              "language": r.language},
            }, r.id, notice.created_at)
        notice.extra["outbox"] = ids
        self.path._round.notices.append(notice)


class AlarmPath:
    """The application service of the alarm side (see the module docstring)."""

    def __init__(
        self,
        *,
        index: SiteIndex,
        db: Database,
        state: StateStore,
        notify_store: NotifyStore,
        engine: RuleEngine,
        live: LiveState,
        notifier: Any,
        clock: Callable[[], float],
    ) -> None:
        """Args: the site, the database and its stores, the rule engine, the live device
        state, the dispatcher (``submit``), the service clock."""
        self.index = index
        self.table = engine.table
        self.db = db
        self.state = state
        self.notify_store = notify_store
        self.engine = engine
        self.live = live
        self.notifier = notifier
        self.clock = clock
        self.journal = RuleJournal(engine, live, state)
        self.core = AlarmCore(index=index, rules=self.journal, book=state, escalation_book=notify_store,
                              notifier=_Outbox(self), clock=clock)
        self.alerts = self.core.alerts
        self.escalation = self.core.escalation
        self.writer = Writer(db, self)
        self._round = _Round()
        self._listeners: list[Callable[[AlertChange], None]] = []
        self.faults: dict[str, Fault] = {}
        self._faults_lock = threading.Lock()
        self.replayed = 0

    # -- start and stop ---------------------------------------------------------------

    def start(self) -> None:
        """Replay the journal (before MQTT connects), reconcile rules with open alerts,
        start the writer and send what the outbox still holds."""
        t0 = time.monotonic()
        self.replayed = self.journal.load()
        retired = self._load_retired()
        self.writer.start()
        self.writer.call("start", lambda: self._start_job(retired))
        if self.replayed:
            log.warning("replayed %d rule inputs after the last checkpoint in %.2f s",
                        self.replayed, time.monotonic() - t0)
        self.resend_pending(self.clock())

    def _start_job(self, retired: set[str]) -> None:
        now = self.clock()  # out of service stays out of service (journaled like any command)
        self.core.start(now, retired=retired, silences=self.state.silences(ending_after=now))

    def stop(self) -> None:
        """Checkpoint and stop the writer."""
        try:
            self.writer.call("checkpoint", self._checkpoint_job, timeout_s=30)
        except Exception:
            log.exception("final checkpoint failed (the journal replays at the next start)")
        self.writer.stop()

    def subscribe(self, listener: Callable[[AlertChange], None]) -> None:
        """Call ``listener`` with every committed change (on the writer thread: be quick)."""
        self._listeners.append(listener)

    # -- writer hooks -----------------------------------------------------------------

    def before_commit(self) -> None:
        """Every change of the job escalated and told to the rules (see
        :meth:`AlarmCore.drain`)."""
        self.core.drain()
        if self._round.notices:
            failpoints.hit("escalation_step_before_commit")

    def after_commit(self) -> None:
        """Notices out, listeners told, the journal's entries counted as committed."""
        self.journal.committed()
        rnd, self._round = self._round, _Round()
        changes = self.core.take_changes()
        if rnd.checkpoint:
            self.journal.checkpointed()
            self.writer.submit("journal-prune", self._prune_job)
        if rnd.notices:
            failpoints.hit("escalation_step")
        for n in rnd.notices:
            try:
                self.notifier.submit(n)
            except Exception:
                log.exception("handing a notice to the dispatcher failed (it stays in the outbox)")
        for c in changes:
            for listener in self._listeners:
                try:
                    listener(c)
                except Exception:
                    log.exception("alert listener %r failed", listener)

    def after_rollback(self) -> None:
        """Put the rules, the alert indexes and escalation back to the last commit."""
        self._round = _Round()
        self.journal.rolled_back()
        try:
            self.core.reset()
            self.core.retired = self._load_retired()
            now = self.clock()  # a silence added or lifted in the lost transaction is undone too
            self.core.alerts.set_silences(self.state.silences(ending_after=now), now)
        except Exception:  # unreadable too: the next try reloads again
            log.exception("reloading the alert side after a rollback failed")

    def fault(self, exc: BaseException | None, tries: int) -> None:
        """The alarm store refuses writes (or accepts again): a critical fault at once,
        told to the community's leaders directly (the store cannot hold the alert), and
        recorded as a system alert once it accepts again."""
        name = SystemHazard.ALARM_STORE_FAILING.value
        if exc is not None:
            first = self.set_fault(name, "critical", f"the alarm store refuses writes: {exc}"[:300])
            if first:
                self._tell_leaders_directly(name, str(exc))
            return
        gone = self.clear_fault(name)
        if gone is not None:
            since, note = gone.since, gone.note
            self.writer.submit("fault-record", lambda: self._record_past_fault(since, note))

    # -- faults -----------------------------------------------------------------------

    def set_fault(self, name: str, severity: str, note: str) -> bool:
        """Mark a fault present; returns whether it is new."""
        with self._faults_lock:
            f = self.faults.get(name)
            if f is not None:
                f.note, f.count = note, f.count + 1
                return False
            self.faults[name] = Fault(name, severity, self.clock(), note)
            return True

    def clear_fault(self, name: str) -> Fault | None:
        """Mark a fault gone; returns it if it was there."""
        with self._faults_lock:
            return self.faults.pop(name, None)

    def fault_views(self) -> list[dict[str, Any]]:
        """The faults present, for the health check."""
        with self._faults_lock:
            return [f.view() for f in self.faults.values()]

    def system_fault(self, hazard: SystemHazard, *, active: bool, severity: Severity, note: str = "") -> None:
        """A fault that the store can hold: in the health check at once, and a system
        alert through the writer (notified like any alert)."""
        if active:
            self.set_fault(hazard.value, severity.value, note)
        else:
            self.clear_fault(hazard.value)
        now = self.clock()
        self.writer.submit(f"system:{hazard.value}", lambda: self.core.system(
            hazard, active=active, severity=severity, now=now, note=note))

    def _record_past_fault(self, since: float, note: str) -> None:
        hz = SystemHazard.ALARM_STORE_FAILING
        self.core.system(hz, active=True, severity=Severity.CRITICAL, now=since, note=note)
        self.core.system(hz, active=False, severity=Severity.CRITICAL, now=self.clock(),
                         note="the alarm store accepts writes again")

    def _tell_leaders_directly(self, hazard: str, error: str) -> None:
        community = self.index.site.community
        now = self.clock()
        alert = Alert(id=0, key=f"system:{hazard}", hazard=hazard, severity=Severity.CRITICAL,
                      status=AlertStatus.RAISED,
                      active=True, device_id=None, place_id=community.id, grid_id="",
                      assignee=community.head or community.deputy, raised_at=now, updated_at=now,
                      detail="system", facts=Facts(address=community.name, address_en=community.name),
                      source=Source("system", note=error[:200]))
        people: list[Recipient] = []
        for wid in (community.head, community.deputy):
            w = self.index.workers.get(wid) if wid else None
            if w is not None and w.notify:
                people.append(Recipient(w.id, w.name, str(w.role), tuple(w.notify), w.language))
        if people:
            try:
                self.notifier.submit(Notice(alert, NoticeType.FAULT, tuple(people), now,
                                            "the alarm store refuses writes", 0))
            except Exception:
                log.exception("telling the leaders of a store fault failed")

    # -- the rules and the alerts -----------------------------------------------------

    def readings(self, batch: ReadingBatch, avail: list[tuple[int, bool, float]],
                 dead: Sequence[DeadLetter], dropped: dict[str, int], now: float) -> int:
        """A decoded batch (blocks until it committed); returns the alert changes."""
        return self.writer.call("readings", lambda: self._readings_job(batch, avail, dead, dropped, now))

    def submit_readings(self, batch: ReadingBatch, avail: list[tuple[int, bool, float]],
                        dead: Sequence[DeadLetter], dropped: dict[str, int], now: float) -> Future[int]:
        """Queue a decoded batch; the future completes once it committed (batches
        commit in the order queued)."""
        return self.writer.submit("readings", lambda: self._readings_job(batch, avail, dead, dropped, now))

    def _readings_job(self, batch: ReadingBatch, avail: list[tuple[int, bool, float]],
                      dead: Sequence[DeadLetter], dropped: dict[str, int], now: float) -> int:
        if dead or dropped:
            self.state.add_dead_letters(dead, dropped=dropped, now=now)
        return len(self.core.readings(batch, avail, now))

    def sweep(self, now: float) -> list[AlertChange]:
        """The absence rules, then the escalation steps due (see :meth:`AlarmCore.sweep`)."""
        return self.writer.call("sweep", lambda: self._sweep_job(now))

    def _sweep_job(self, now: float) -> list[AlertChange]:
        if getattr(self.clock, "manual", False):
            self.state.put_blob(MANUAL_CLOCK_KEY, repr(now).encode())
        return self.core.sweep(now)

    def tick(self, now: float) -> int:
        """The escalation steps due (see :meth:`AlarmCore.tick`)."""
        return self.writer.call("tick", lambda: self._tick_job(now))

    def _tick_job(self, now: float) -> int:
        return self.core.tick(now)

    def checkpoint(self) -> int:
        """Write a rule checkpoint (the journal before it is dropped)."""
        return self.writer.call("checkpoint", self._checkpoint_job)

    def _checkpoint_job(self) -> int:
        upto = self.journal.checkpoint()
        self._round.checkpoint = True
        failpoints.hit("checkpoint")
        return upto

    def _prune_job(self) -> int:
        """Drop some of the journal the last checkpoint covers; queue the next part
        behind whatever came in meanwhile (a long journal never holds the writer long)."""
        n = self.journal.prune(JOURNAL_PRUNE_ENTRIES)
        if n == JOURNAL_PRUNE_ENTRIES:
            self.writer.submit("journal-prune", self._prune_job)
        return n

    # -- notices ----------------------------------------------------------------------

    def resend_pending(self, now: float) -> int:
        """Hand every undelivered notice of the outbox to the dispatcher again (at start:
        a notice whose delivery was not recorded is sent again)."""
        sent = 0
        expired: list[int] = []
        for oid, alert_id, _rid, payload, created in self.state.outbox_pending():
            if now - created > OUTBOX_MAX_AGE_S:
                expired.append(oid)
                continue
            alert = self.state.get_alert(alert_id)
            if alert is None:
                expired.append(oid)
                continue
            r = payload["recipient"]
            notice = Notice(alert, NoticeType(payload["notice"]),
                            (Recipient(r["id"], r["name"], r["role"], tuple(r["urls"]), r.get("language", "zh")),),
                            created, str(payload.get("reason", "")), int(payload.get("level", 0)),
                            {"outbox": {r["id"]: oid}, "resent": True})
            self.notifier.submit(notice)
            sent += 1
        if expired:
            def expire() -> None:
                for i in expired:
                    self.state.outbox_delivered(i, now, "expired")
            self.writer.submit("outbox-expire", expire)
        return sent

    def delivered(self, outbox_id: int, channel: str) -> None:
        """A channel delivered a notice (called from the dispatcher's threads)."""
        failpoints.hit("notice_sent")
        now = self.clock()
        self.writer.submit("delivered", lambda: self.state.outbox_delivered(outbox_id, now, channel))

    def record_attempt(self, attempt: Attempt) -> None:
        """Keep one delivery attempt (called from the dispatcher's threads)."""
        self.writer.submit("attempt", lambda: self.notify_store.record(attempt))

    # -- people's commands ------------------------------------------------------------

    def _command(self, name: str, fn: Callable[[], T]) -> T:
        """Run a person's command as a job; while the alarm store refuses writes the
        caller gets an answer after :data:`COMMAND_TIMEOUT_S` (a command still queued is
        dropped; one already running commits once the store takes it).

        Raises:
            AlarmStoreBusy: not committed in time (the API answers 503).
        """
        try:
            return self.writer.call(name, fn, timeout_s=COMMAND_TIMEOUT_S)
        except TimeoutError:
            raise AlarmStoreBusy(f"{name}: the alarm store did not take it in {COMMAND_TIMEOUT_S:g} s; "
                                 "try again") from None

    def act(self, alert_id: int, action: str, *, actor: str, note: str = "",
            outcome: Outcome | None = None, photos: Sequence[str] = (),
            helpers: Sequence[str] = ()) -> Alert | None:
        """A person's action on an alert (see :meth:`AlarmCore.act`)."""
        return self._command("act", lambda: self.core.act(
            alert_id, action, actor=actor, now=self.clock(), note=note, outcome=outcome,
            photos=photos, helpers=helpers))

    def report(self, category: ReportCategory, place_id: str, *, reporter: str,
               severity: Severity = Severity.WARNING, note: str = "",
               photos: Sequence[str] = ()) -> AlertChange:
        """A patrol finding (see :meth:`AlarmCore.report`)."""
        return self._command("report", lambda: self.core.report(
            category, place_id, reporter=reporter, now=self.clock(), severity=severity,
            note=note, photos=photos))

    def set_maintenance(self, device_id: str, on: bool, *, actor: str, note: str = "") -> bool:
        """Maintenance / test mode on or off (audited)."""
        self.table.index[device_id]  # noqa: B018 - an unknown device raises KeyError here, not in a job
        return self._command("maintenance", lambda: self.core.set_maintenance(
            device_id, on, actor=actor, now=self.clock(), note=note))

    def retired(self) -> set[str]:
        """Devices taken out of service."""
        return set(self.core.retired)

    def _load_retired(self) -> set[str]:
        blob = self.state.get_blob(RETIRED_KEY)
        return set(orjson.loads(blob)) if blob else set()

    def retire_device(self, device_id: str, *, actor: str, note: str = "") -> dict[str, Any]:
        """Take a device out of service (设备注销), audited, with its notice."""
        self.table.index[device_id]  # noqa: B018 - an unknown device raises KeyError here, not in a job

        def job() -> dict[str, Any]:
            before = set(self.core.retired)
            out = self.core.retire_device(device_id, actor=actor, now=self.clock(), note=note)
            if self.core.retired != before:
                self.state.put_blob(RETIRED_KEY, orjson.dumps(sorted(self.core.retired)))
            return out

        return self._command("retire", job)

    def hush(self, device_id: str, *, actor: str, note: str = "") -> bool:
        """Hush a sounding smoke alarm (audited); False when it was not sounding."""
        self.table.index[device_id]  # noqa: B018 - an unknown device raises KeyError here, not in a job
        return self._command("hush", lambda: self.core.hush(device_id, actor=actor, now=self.clock(),
                                                             note=note))

    def set_away(self, household_id: str, away: bool, *, actor: str, note: str = "") -> bool | None:
        """A household away (no welfare alerts) or back; None without devices."""
        if self.core.household_row(household_id) is None:
            return None

        def job() -> bool:
            return bool(self.core.set_away(household_id, away, actor=actor, now=self.clock(), note=note))

        return self._command("away", job)

    def add_silence(self, silence: Silence, *, actor: str) -> Silence:
        """Store a silence and apply it to open alerts (audited)."""
        def job() -> Silence:
            silence.created_at = self.clock()
            self.state.add_silence(silence)  # gives it its id
            return self.core.add_silence(silence, actor=actor, now=silence.created_at)

        return self._command("silence", job)

    def end_silence(self, silence: Silence, *, actor: str) -> Silence:
        """Lift a silence now (audited)."""
        def job() -> Silence:
            if self.core.end_silence(silence, actor=actor, now=self.clock()):
                self.state.save_silence(silence)
            return silence

        return self._command("silence-end", job)


class AlertCommands:
    """What the API and the console do with alerts: reads straight from the store,
    changes as jobs of the alarm writer (the typed face of :class:`AlarmPath`)."""

    def __init__(self, path: AlarmPath) -> None:
        """Args: the alarm path."""
        self.path = path

    def get(self, alert_id: int) -> Alert | None:
        """The alert as committed."""
        return self.path.state.get_alert(alert_id)

    def subscribe(self, listener: Callable[[AlertChange], None]) -> None:
        """Hear of every committed change."""
        self.path.subscribe(listener)

    def act(self, alert_id: int, action: str, *, actor: str, now: float | None = None, note: str = "",
            outcome: Outcome | None = None, photos: Sequence[str] = (),
            helpers: Sequence[str] = ()) -> Alert | None:
        """A person's action (``now`` is the writer's: the job's own time)."""
        del now
        return self.path.act(alert_id, action, actor=actor, note=note, outcome=outcome,
                             photos=photos, helpers=helpers)

    def report(self, category: ReportCategory, place_id: str, *, reporter: str,
               now: float | None = None, severity: Severity = Severity.WARNING, note: str = "",
               photos: Sequence[str] = ()) -> AlertChange:
        """A patrol finding."""
        del now
        return self.path.report(category, place_id, reporter=reporter, severity=severity,
                                note=note, photos=photos)

    def suppression(self, alert: Alert) -> dict[str, Any] | None:
        """What holds the alert's notices now (the mute stages), or None."""
        return self.path.alerts.mutes.suppression(alert, self.path.clock())


__all__ = ["MANUAL_CLOCK_KEY", "OUTBOX_MAX_AGE_S", "AlarmPath", "AlertCommands", "Fault"]
