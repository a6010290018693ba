"""Scenarios in process: a :class:`simulators.scenario.Driver` over the alarm core in
memory, with the ingest's own decoding and the manual clock.

Layer: composition root (it wires the ingest's decoder, the rule engine and the alarm
core the way :class:`gridwatch.runtime.Runtime` does, without the broker, the API,
SQLite or a thread). What it shares with the service, so a scenario passing here
says something about the service:

- decoding: :class:`ingest.pipeline.Decoder` with the runtime's arguments (the
  settings' default ``max_skew_s``, the site's Zigbee2MQTT names); a message is
  stamped with the clock's time when it arrives, as the MQTT ingest does;
- the alert side: :class:`alerts.pipeline.AlarmCore` with the rules applied directly
  (:class:`alerts.pipeline.DirectRules`), a ``MemoryAlertBook``, a ``MemoryBook`` and a
  notifier that records every notice;
- time: :class:`gridwatch.clock.ManualClock`, moved the way ``POST /api/clock`` moves
  it: advance, then one sweep at the new time (:meth:`AlarmCore.sweep`: the absence
  rules, then the escalation steps due). The service's periodic sweep and tick run on
  wall time and, on a manual clock, at an instant that does not move, so they add
  nothing a scenario can see.

What only the whole service does is not here: the MQTT broker (QoS 1 redelivery, a
topic that is not UTF-8), the HTTP API and its checks, SQLite and the writer thread,
channels and delivery (a notice counts as told when escalation addressed it).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from alerts.book import MemoryAlertBook
from alerts.escalation import MemoryBook
from alerts.lifecycle import LifecycleError
from alerts.model import Outcome
from alerts.noise import Silence
from alerts.notify.types import Notice
from alerts.pipeline import AlarmCore, DirectRules
from alerts.rules.engine import RuleEngine
from alerts.rules.params import params_for_site
from alerts.service import DeviceRetired
from gridwatch.clock import ManualClock
from gridwatch.config import Settings
from ingest.pipeline import Decoder, RawMessage
from sensors.live import LiveState
from simulators.scenario import ScenarioError, SilenceEv
from topology.index import SiteIndex, device_table
from topology.load import load_site

# The runtime builds its decoder with the settings' max_skew_s; the default is the one
# every scenario is written against.
MAX_SKEW_S = float(Settings.model_fields["max_skew_s"].default)
# The API's paths of the people's actions → the lifecycle's actions.
ACTIONS = {"ack": "acknowledge", "on-site": "on_site", "resolve": "resolve", "close": "close"}
ADMIN = "admin"  # who changes modes and silences (the runner holds the admin token)


class RecordingNotifier:
    """Keeps every notice escalation decides."""

    def __init__(self) -> None:
        """Starts empty."""
        self.notices: list[Notice] = []

    def submit(self, notice: Notice) -> None:
        """Keep it."""
        self.notices.append(notice)


class InProcessDriver:
    """A fresh alarm core on a site, driven like a service on the manual clock."""

    def __init__(self, site: Path, *, start: float | None = None) -> None:
        """Args: the site file; the clock's start (default: the wall time, as
        ``gridwatch run --clock manual``)."""
        index = SiteIndex(load_site(site))
        table = device_table(index)
        self.community = index.site.community.id
        self.clock = ManualClock(start)
        self.engine = RuleEngine(table, params_for_site(index, table))
        self.live = LiveState(table)
        self.book = MemoryAlertBook()
        self.escalations = MemoryBook()
        self.notifier = RecordingNotifier()
        self.core = AlarmCore(index=index, rules=DirectRules(self.engine, self.live), book=self.book,
                              escalation_book=self.escalations, notifier=self.notifier, clock=self.clock)
        self.decoder = Decoder(table, max_skew_s=MAX_SKEW_S, z2m=index.z2m_names())
        self.dead: Counter[str] = Counter()
        self._silence_ids = 0
        self.core.start(self.clock())
        self.core.take_changes()

    # -- time and messages -------------------------------------------------------------

    def now(self) -> float:
        """The clock."""
        return self.clock()

    def advance(self, seconds: float) -> float:
        """As ``POST /api/clock``: move the clock, then sweep at the new time."""
        now = self.clock.advance(max(0.0, seconds))
        self.core.sweep(now)
        self.core.take_changes()
        return now

    def publish(self, topic: str, payload: bytes) -> None:
        """Decode the message as the ingest does and hand its batch to the core (one
        message, one batch: applied in the order published)."""
        now = self.clock()
        decoded = self.decoder.decode([RawMessage(topic, payload, now)])
        self.dead.update(d.reason for d in decoded.dead)  # every refusal is counted
        self.core.readings(decoded.batch, decoded.availability, now)
        self.core.take_changes()

    def settle(self) -> None:
        """Every message was taken at once; the sweep at the same time still runs."""
        self.advance(0.0)

    # -- people ------------------------------------------------------------------------

    def act(self, alert_id: int, action: str, *, actor: str, note: str, outcome: str | None) -> None:
        """A person's action (the API's action names)."""
        try:
            done = self.core.act(alert_id, ACTIONS[action], actor=actor, now=self.clock(), note=note,
                                 outcome=Outcome(outcome) if outcome else None)
        except (LifecycleError, ValueError) as exc:
            raise ScenarioError(f"{action} refused: {exc}") from None
        finally:
            self.core.take_changes()
        if done is None:
            raise ScenarioError(f"{action}: no alert {alert_id}")

    def away(self, household: str, away: bool) -> None:
        """A household away or back."""
        if self.core.set_away(household, away, actor=ADMIN, now=self.clock()) is None:
            raise ScenarioError(f"away: household {household!r} has no devices")
        self.core.take_changes()

    def maintenance(self, device: str, on: bool) -> None:
        """A device into maintenance or out."""
        try:
            self.core.set_maintenance(device, on, actor=ADMIN, now=self.clock())
        except DeviceRetired as exc:
            raise ScenarioError(f"maintenance refused: {exc}") from None
        finally:
            self.core.take_changes()

    def silence(self, spec: SilenceEv, starts_at: float) -> None:
        """A silence from ``starts_at`` for ``duration_s`` (as the API sets one)."""
        now = self.clock()
        self._silence_ids += 1
        s = Silence(self._silence_ids, author=ADMIN, reason=spec.reason, starts_at=starts_at,
                    ends_at=max(starts_at, now) + spec.duration_s, place_id=spec.place_id,
                    device_ids=sorted(set(spec.device_ids)), hazards=sorted(set(spec.hazards)),
                    device_kinds=sorted(set(spec.device_kinds)))
        self.core.add_silence(s, actor=ADMIN, now=now)
        self.core.take_changes()

    def lift_silences(self) -> None:
        """Lift every silence in force or scheduled."""
        for s in list(self.core.alerts.silences):
            self.core.end_silence(s, actor=ADMIN, now=self.clock())
        self.core.take_changes()

    def hush(self, device: str, note: str) -> None:
        """Hush a sounding smoke alarm."""
        hushed = self.core.hush(device, actor=ADMIN, now=self.clock(), note=note)
        self.core.take_changes()
        if not hushed:
            raise ScenarioError(f"hush refused: {device} is not sounding")

    # -- what happened -----------------------------------------------------------------

    def alerts(self, device: str | None, hazard: str | None) -> list[dict[str, Any]]:
        """The book's alerts as JSON (``Alert.to_dict``), newest first."""
        found = [a for a in self.book.alerts.values()
                 if (device is None or a.device_id == device) and (hazard is None or a.hazard == hazard)]
        return [orjson.loads(orjson.dumps(a.to_dict())) for a in sorted(found, key=lambda a: -a.id)]

    def dead_letters(self) -> dict[str, int]:
        """Refused messages by reason."""
        return dict(self.dead)

    def told(self, alert_id: int) -> set[str]:
        """Everybody a recorded notice of the alert was addressed to."""
        return {r.id for n in self.notifier.notices if n.alert.id == alert_id for r in n.recipients}

    def timeline(self, alert_id: int) -> list[str]:
        """The book's timeline of the alert."""
        return [e.action for e in self.book.alert_events(alert_id)]

    def capabilities(self) -> set[str]:
        """Everything the core has."""
        return {"alerts", "silences", "escalation"}

    def close(self) -> None:
        """Nothing to let go of."""


__all__ = ["MAX_SKEW_S", "InProcessDriver", "RecordingNotifier"]
