"""The alarm core: rule inputs → transitions → the alert fold → escalation, and the
people's commands, composed in memory with time passed in.

Layer: pure core of the alarm side (no SQLite, no threads, no network; the import
contracts keep it so). :class:`AlarmCore` is the composition;
``gridwatch.alarm.AlarmPath`` is the durable shell around it (the rule journal as
its :class:`RulesPort`, the SQLite state store as its books, an outbox as its
notifier, one writer thread and one transaction per job). With :class:`DirectRules`,
a ``MemoryAlertBook``, a ``MemoryBook`` and a notifier that records, the same core
runs whole scenarios in process in milliseconds.

How a change travels: the rules port turns an input into transitions, the
:class:`AlertService` folds them into alert changes and holds each back
(``deferred``); :meth:`AlarmCore.drain` hands each, in order, to escalation (which
may decide notices and record steps, themselves changes handed on after) and back to
the rules (an acknowledgement is the rules' ``ack`` command). Nothing calls back
re-entrantly. The changes of a unit of work wait in :attr:`AlarmCore.changes` until
the owner takes them (:meth:`AlarmCore.take_changes`: after its commit).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from alerts.book import AlertBook
from alerts.escalation import EscalationBook, EscalationEngine
from alerts.model import Alert, AlertEvent, Outcome, ReportCategory
from alerts.noise import Silence
from alerts.notify.types import NoticeType, Notifier
from alerts.rules.engine import RuleEngine
from alerts.rules.state import CODE_SEVERITY, H
from alerts.rules.types import Hazard, Severity, Transition
from alerts.service import AlertChange, AlertService, DeviceRetired
from alerts.system import SystemHazard
from sensors.batch import ReadingBatch
from sensors.live import LiveState
from topology.index import SiteIndex

log = logging.getLogger(__name__)

# (device row, online, receive time) of each availability message of a batch.
Availability = list[tuple[int, bool, float]]
# The commands of the rules and their arguments (a journal stores them by these names).
RULE_COMMANDS = ("maintenance", "hush", "away", "ack")


class RulesPort(Protocol):
    """How the core moves the rules: each input returns the transitions it caused.
    ``gridwatch.journal.RuleJournal`` journals each input first (the durable one);
    :class:`DirectRules` applies them as they come (in process)."""

    @property
    def engine(self) -> RuleEngine:
        """The rule engine the inputs move (the core only reads it)."""
        ...

    def readings(self, batch: ReadingBatch, avail: Availability, now: float) -> list[Transition]:
        """A batch of readings and availability messages."""
        ...

    def sweep(self, now: float) -> list[Transition]:
        """The timer rules due by ``now``."""
        ...

    def command(self, name: str, now: float, **args: object) -> list[Transition]:
        """One of :data:`RULE_COMMANDS` with its arguments."""
        ...


class DirectRules:
    """A :class:`RulesPort` that applies every input to the rule engine (and the live
    device state) at once, journaling nothing; the journal replays through it too."""

    def __init__(self, engine: RuleEngine, live: LiveState | None = None) -> None:
        """Args: the rule engine; the live device state readings move (None: none kept)."""
        self._engine = engine
        self.live = live

    @property
    def engine(self) -> RuleEngine:
        """The rule engine."""
        return self._engine

    def readings(self, batch: ReadingBatch, avail: Availability, now: float) -> list[Transition]:
        """Readings and availability into the live state and the rules."""
        if self.live is not None:
            self.live.update(batch)
            for idx, online, ts in avail:
                self.live.set_online(idx, online, ts)
        out = self._engine.evaluate(batch, now) if len(batch) else []
        for idx, online, ts in avail:
            out.extend(self._engine.availability(idx, online, ts, now))
        return out

    def sweep(self, now: float) -> list[Transition]:
        """The absence rules due by ``now``."""
        return self._engine.sweep(now)

    def command(self, name: str, now: float, **args: Any) -> list[Transition]:
        """``maintenance`` (device, on), ``hush`` (device), ``away`` (household row,
        away) or ``ack`` (device, hazard).

        Raises:
            ValueError: an unknown command.
        """
        eng = self._engine
        if name == "maintenance":
            return eng.set_maintenance(int(args["device"]), bool(args["on"]), now)
        if name == "hush":
            return eng.hush(int(args["device"]), now)
        if name == "away":
            return eng.set_away(int(args["household"]), bool(args["away"]), now)
        if name == "ack":
            return eng.acknowledge(int(args["device"]), Hazard(args["hazard"]), now)
        raise ValueError(f"unknown rule command {name!r}")


class AlarmCore:
    """The alert side composed (see the module docstring). Not thread-safe: one caller
    at a time (the alarm writer in the service, the test in process)."""

    def __init__(
        self,
        *,
        index: SiteIndex,
        rules: RulesPort,
        book: AlertBook,
        escalation_book: EscalationBook,
        notifier: Notifier,
        clock: Callable[[], float],
    ) -> None:
        """Args: the site, the rules port, where alerts and escalation state are kept,
        who takes the notices escalation decides (``submit``), the service clock."""
        self.index = index
        self.rules = rules
        self.engine = rules.engine
        self.table = self.engine.table
        self.book = book
        self.clock = clock
        self.alerts = AlertService(index, self.table, book)
        self.alerts.deferred = []
        self.alerts.drain = self.drain
        self._draining = False
        self.escalation = EscalationEngine(index, self.alerts, escalation_book, notifier, clock=clock)
        self.changes: list[AlertChange] = []
        self.retired: set[str] = set()

    # -- start, units of work ---------------------------------------------------------

    def start(self, now: float, *, retired: Iterable[str] = (), silences: Sequence[Silence] = ()) -> None:
        """Devices retired stay in maintenance, open alerts without escalation state are
        adopted, the silences are in force, and rules and open alerts agree."""
        self.retired = set(retired)
        for device_id in sorted(self.retired):
            idx = self.table.index.get(device_id)
            if idx is not None and not self.engine.st.maint[idx]:
                self._apply(self.rules.command("maintenance", now, device=idx, on=True), now)
        self.escalation.resume(self.book.open_alerts(), now)
        self.alerts.set_silences(silences, now)
        self.reconcile(now)

    def drain(self) -> None:
        """Hand every change made so far to escalation and the rules, in order. A change
        that escalation makes in turn (its timeline events) is handed on after the one
        that caused it, by this same loop: nothing is called back re-entrantly."""
        if self._draining:
            return
        pending = self.alerts.deferred
        assert pending is not None
        self._draining = True
        try:
            while pending:
                change = pending.pop(0)
                self.changes.append(change)
                self.escalation.on_change(change)
                self._tell_rules(change)
        finally:
            self._draining = False

    def take_changes(self) -> list[AlertChange]:
        """Every change since the last call (drained first), in order."""
        self.drain()
        out, self.changes = self.changes, []
        return out

    def reset(self) -> None:
        """Forget the unit of work in progress and reload the alert indexes and the
        escalations from the books (after a rolled-back transaction; the owner puts the
        rules back itself)."""
        self.changes = []
        self._draining = False
        if self.alerts.deferred is not None:
            self.alerts.deferred.clear()
        self.alerts.reload()
        self.escalation.reload()

    # -- the rules and the alerts -----------------------------------------------------

    def _apply(self, transitions: Sequence[Transition], now: float) -> list[AlertChange]:
        return self.alerts.apply(transitions, now) if transitions else []

    def readings(self, batch: ReadingBatch, avail: Availability, now: float) -> list[AlertChange]:
        """A decoded batch; returns the alert changes its transitions made."""
        if not len(batch) and not avail:
            return []
        return self._apply(self.rules.readings(batch, avail, now), now)

    def sweep(self, now: float) -> list[AlertChange]:
        """The absence rules due by ``now``, then every escalation step due (:meth:`tick`);
        returns the changes the rules made."""
        changes = self._apply(self.rules.sweep(now), now)
        self.tick(now)
        return changes

    def tick(self, now: float) -> int:
        """The escalation steps due, and the alerts a mute stage started or stopped
        holding (a silence that started or ended, a gateway's grace over); returns
        notices sent."""
        return self.escalation.tick(now)

    def system(self, hazard: SystemHazard, *, active: bool, severity: Severity, now: float,
               note: str = "") -> AlertChange | None:
        """Raise or clear an alert about the service itself."""
        return self.alerts.system(hazard, active=active, severity=severity, now=now, note=note)

    def _tell_rules(self, change: AlertChange) -> None:
        """A person acknowledged a device's alert: the rules hear of it (a wet leak
        sensor someone has taken stays a warning)."""
        a = change.alert
        if a.device_id is None or not any(e.action == "acknowledged" for e in change.events):
            return
        idx = self.table.index.get(a.device_id)
        try:
            hazard = Hazard(a.hazard)
        except ValueError:
            return
        if idx is not None:
            now = self.clock()
            self._apply(self.rules.command("ack", now, device=idx, hazard=hazard.value), now)

    def reconcile(self, now: float) -> None:
        """Rules and open alerts must agree: a condition the rules hold raised with no
        open alert of its key (a transaction lost before this version, an alert closed
        by hand) is raised again; an open active alert whose condition the rules do not
        hold is marked cleared. Nothing changes when they agree."""
        open_by_key = {a.key: a for a in self.book.open_alerts() if a.device_id}
        st = self.engine.st
        transitions: list[Transition] = []
        for hazard in Hazard:
            try:
                conds = st.cond[int(H[hazard])]
            except (KeyError, IndexError):
                continue
            for idx in conds.nonzero()[0].tolist():
                sev = severity_of(int(conds[idx]))
                if sev is None or st.maint[idx]:
                    continue
                a = open_by_key.get(f"{self.table.ids[idx]}:{hazard.value}")
                if a is None or not a.active:
                    transitions.append(Transition(idx, hazard, sev, now, math.nan, "reconciled"))
        for key, a in open_by_key.items():
            idx = self.table.index.get(a.device_id or "")
            try:
                hazard = Hazard(a.hazard)
            except ValueError:
                continue
            if idx is None or not a.active:
                continue
            if severity_of(self.engine.condition(idx, hazard)) is None:
                transitions.append(Transition(idx, hazard, None, now, math.nan, f"reconciled {key}"))
        if transitions:
            log.warning("reconciling %d rule conditions with the open alerts", len(transitions))
            self._apply(transitions, now)

    # -- people's commands ------------------------------------------------------------

    def act(self, alert_id: int, action: str, *, actor: str, now: float, note: str = "",
            outcome: Outcome | None = None, photos: Sequence[str] = (),
            helpers: Sequence[str] = ()) -> Alert | None:
        """A person's action on an alert (see :meth:`AlertService.act`)."""
        return self.alerts.act(alert_id, action, actor=actor, now=now, note=note, outcome=outcome,
                               photos=photos, helpers=helpers)

    def report(self, category: ReportCategory, place_id: str, *, reporter: str, now: float,
               severity: Severity = Severity.WARNING, note: str = "",
               photos: Sequence[str] = ()) -> AlertChange:
        """A patrol finding (see :meth:`AlertService.report`)."""
        return self.alerts.report(category, place_id, reporter=reporter, now=now,
                                  severity=severity, note=note, photos=photos)

    def set_maintenance(self, device_id: str, on: bool, *, actor: str, now: float,
                        note: str = "") -> bool:
        """Maintenance / test mode on or off (audited); returns the mode now.

        Raises:
            KeyError: no such device.
            DeviceRetired: a retired device cannot leave maintenance.
        """
        idx = self.table.index[device_id]
        if not on and device_id in self.retired:
            raise DeviceRetired(f"device {device_id!r} is retired")
        self._apply(self.rules.command("maintenance", now, device=idx, on=on), now)
        self.book.audit(actor, "device.maintenance", f"device/{device_id}",
                        {"on": on, "note": note}, ts=now)
        return bool(self.engine.st.maint[idx])

    def retire_device(self, device_id: str, *, actor: str, now: float, note: str = "") -> dict[str, Any]:
        """Take a device out of service (设备注销), audited, with its notice; the owner
        keeps :attr:`retired` durable.

        Raises:
            KeyError: no such device.
        """
        idx = self.table.index[device_id]
        if device_id in self.retired:
            return {"device_id": device_id, "retired": True, "record": None}
        self._apply(self.rules.command("maintenance", now, device=idx, on=True), now)
        self.retired = {*self.retired, device_id}
        change = self.alerts.retire(device_id, actor=actor, now=now, note=note)
        self.escalation.announce(change.alert, NoticeType.DEVICE_RETIRED, ["worker", "property"],
                                 f"retired by {actor}")
        self.book.audit(actor, "device.retire", f"device/{device_id}", {"note": note}, ts=now)
        return {"device_id": device_id, "retired": True, "record": change.alert.id}

    def hush(self, device_id: str, *, actor: str, now: float, note: str = "") -> bool:
        """Hush a sounding smoke alarm (audited); False when it was not sounding.

        Raises:
            KeyError: no such device.
        """
        idx = self.table.index[device_id]
        transitions = self.rules.command("hush", now, device=idx)
        if not transitions:
            return False
        self._apply(transitions, now)
        alert = self.alerts.open.open(f"{device_id}:{Hazard.SMOKE.value}")
        if alert is not None:
            self.alerts.annotate(alert.id, AlertEvent(alert.id, now, actor, "hushed", note))
        self.book.audit(actor, "device.hush", f"device/{device_id}", {"note": note}, ts=now)
        return True

    def household_row(self, household_id: str) -> int | None:
        """The rules' row of a household (None: it has no devices)."""
        for i, p in enumerate(self.index.devices):
            if p.household_id == household_id:
                return int(self.table.household[i])
        return None

    def set_away(self, household_id: str, away: bool, *, actor: str, now: float,
                 note: str = "") -> bool | None:
        """A household away (no welfare alerts) or back (audited); None without devices."""
        row = self.household_row(household_id)
        if row is None:
            return None
        self._apply(self.rules.command("away", now, household=row, away=away), now)
        self.book.audit(actor, "household.away", f"household/{household_id}",
                        {"away": away, "note": note}, ts=now)
        return bool(self.engine.st.away[row])

    def add_silence(self, silence: Silence, *, actor: str, now: float) -> Silence:
        """Put a silence in force (audited); the owner keeps it durable and gives it its id."""
        silence.created_at = now
        self.alerts.set_silences([*self.alerts.silences, silence], now)
        self.escalation.tick(now)  # the alerts it holds say so at once
        self.book.audit(actor, "silence.create", f"silence/{silence.id}", silence.to_dict(), ts=now)
        return silence

    def end_silence(self, silence: Silence, *, actor: str, now: float) -> bool:
        """Lift a silence now (audited); False when it was over already (the owner keeps
        the ended silence durable when True)."""
        if silence.over(now):
            return False
        silence.ended_at, silence.ended_by = now, actor
        self.alerts.set_silences([s for s in self.alerts.silences if s.id != silence.id], now)
        self.escalation.tick(now)  # the alerts it held speak at once
        self.book.audit(actor, "silence.end", f"silence/{silence.id}", {}, ts=now)
        return True


def severity_of(code: int) -> Severity | None:
    """The severity a rule condition code stands for (0: not raised)."""
    c = int(code)
    return CODE_SEVERITY[c] if 0 <= c < len(CODE_SEVERITY) else None


__all__ = ["RULE_COMMANDS", "AlarmCore", "Availability", "DirectRules", "RulesPort", "severity_of"]
