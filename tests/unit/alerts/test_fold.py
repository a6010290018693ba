"""The alert side's fold and stages in process: transitions folded over the in-memory
index of open alerts into changes (lifecycle, incidents, inhibition, silences), then
escalation, with a fake clock; no database, no threads, milliseconds."""

from __future__ import annotations

from alerts.book import MemoryAlertBook
from alerts.escalation import EscalationEngine, MemoryBook
from alerts.noise import Silence
from alerts.notify.types import NullNotifier
from alerts.rules.types import Hazard, Severity, Transition
from alerts.service import AlertService
from tests.sites import tiny_site
from topology.index import SiteIndex, device_table
from topology.load import parse_site

T0 = 1_780_000_000.0


class Side:
    """The alert side over the tiny site, every part in memory."""

    def __init__(self) -> None:
        site = tiny_site(notify=["json://127.0.0.1:1/x"])
        site["workers"].append({"id": "w-lead", "name": "周组长", "role": "grid_leader",
                                "notify": ["json://127.0.0.1:1/lead"]})
        site["grids"][0]["leader"] = "w-lead"
        site["buildings"][0].setdefault("devices", []).append(
            {"id": "gw-b1", "kind": "gateway", "heartbeat_s": 60})
        self.now = T0
        self.index = SiteIndex(parse_site(site))
        self.table = device_table(self.index)
        self.book = MemoryAlertBook()
        self.alerts = AlertService(self.index, self.table, self.book)
        self.notifier = NullNotifier()
        self.escalation = EscalationEngine(self.index, self.alerts, MemoryBook(), self.notifier,
                                           clock=lambda: self.now)
        self.alerts.subscribe(self.escalation.on_change)

    def t(self, device: str, hazard: Hazard, severity: Severity | None = Severity.CRITICAL,
          detail: str = "") -> list:
        row = self.table.index[device]
        return self.alerts.apply([Transition(row, hazard, severity, self.now, 30.0, detail)], self.now)

    def told(self, kind: str) -> list[str]:
        return [r.id for n in self.notifier.notices if n.notice.value == kind for r in n.recipients]


def test_a_transition_folds_once_per_key_and_a_repeat_changes_nothing() -> None:
    side = Side()
    first = side.t("gas-201", Hazard.GAS)
    again = side.t("gas-201", Hazard.GAS)
    assert first[0].created and again == []
    assert [a.key for a in side.book.open_alerts()] == ["gas-201:gas"]
    assert side.alerts.open.open("gas-201:gas") is not None  # read from memory, not a database


def test_two_detectors_of_one_building_are_one_incident_and_children_reach_only_the_new() -> None:
    side = Side()
    side.t("smoke-101", Hazard.SMOKE)
    side.now += 30
    side.t("gas-101", Hazard.GAS)  # another hazard: its own incident
    side.now += 30
    second = side.t("gas-102", Hazard.GAS)
    grouped = next(c.alert for c in second if c.alert.device_id == "gas-102")
    parent = side.alerts.open.open("gas-101:gas")
    assert parent is not None and grouped.incident.parent == parent.id
    assert grouped.id in parent.incident.children


def test_a_silence_mutes_the_notice_not_the_alert_and_its_end_lets_it_speak() -> None:
    side = Side()
    s = Silence(id=1, author="w-g1", reason="drill", starts_at=T0 - 1, ends_at=T0 + 600,
                place_id="b1", created_at=T0 - 1)
    side.alerts.set_silences([s], side.now)
    side.t("smoke-101", Hazard.SMOKE)
    alert = side.alerts.open.open("smoke-101:smoke")
    assert alert is not None and side.alerts.mutes.suppression(alert, side.now) == {
        "silenced_by": 1, "inhibited_by": None, "until": T0 + 600, "note": "#1 by w-g1: drill"}
    assert alert.to_dict() == side.book.alerts[alert.id].to_dict()  # nothing written into it
    assert side.told("alarm") == []
    side.now += 599
    side.escalation.tick(side.now)
    assert side.told("alarm") == []
    side.now += 2
    side.escalation.tick(side.now)
    assert "w-g1" in side.told("alarm")
    assert [e.action for e in side.book.alert_events(alert.id)] == ["raised", "silenced", "unsilenced"]


def test_a_silence_set_while_an_alert_is_open_holds_its_reminders_and_lifting_it_frees_them() -> None:
    side = Side()
    side.t("smoke-101", Hazard.SMOKE)
    assert "w-g1" in side.told("alarm")
    s = Silence(id=2, author="w-g1", reason="false alarm, checking", starts_at=side.now,
                ends_at=side.now + 3600, device_ids=["smoke-101"], created_at=side.now)
    side.alerts.set_silences([s], side.now)
    for _ in range(20):  # ten minutes: reminders are due every two
        side.now += 30
        side.escalation.tick(side.now)
    assert side.told("reminder") == [] and side.told("escalation") == []
    side.alerts.set_silences([], side.now)  # lifted early
    side.escalation.tick(side.now)
    assert side.told("reminder") == ["w-g1", "w-g1a"]  # at once: the reminder is overdue
    # the chain goes on where it stopped: its next step its usual 180 s later
    side.now += 179
    side.escalation.tick(side.now)
    assert side.told("escalation") == []
    side.now += 1
    side.escalation.tick(side.now)
    assert side.told("escalation") == ["w-lead"]
    alert = side.alerts.open.open("smoke-101:smoke")
    assert alert is not None
    assert [e.action for e in side.book.alert_events(alert.id)][:3] == ["raised", "silenced", "unsilenced"]


def test_devices_behind_an_offline_gateway_are_inhibited_then_released_after_grace() -> None:
    side = Side()
    side.t("gw-b1", Hazard.OFFLINE, Severity.WARNING)
    side.t("door-b1u1", Hazard.OFFLINE, Severity.WARNING)
    door = side.alerts.open.open("door-b1u1:offline")
    gw = side.alerts.open.open("gw-b1:offline")
    assert door is not None and gw is not None
    assert (side.alerts.mutes.suppression(door, side.now) or {}).get("inhibited_by") == gw.id
    assert "w-g1" not in [r.id for n in side.notifier.notices if n.alert.id == door.id
                          for r in n.recipients]
    side.t("gw-b1", Hazard.OFFLINE, None)  # the gateway is back
    side.now += 299
    side.escalation.tick(side.now)
    assert not [n for n in side.notifier.notices if n.alert.id == door.id]
    side.now += 2  # the grace is over and the door is still not heard: its own alert speaks
    side.escalation.tick(side.now)
    assert [r.id for n in side.notifier.notices if n.alert.id == door.id for r in n.recipients][:1] == ["w-g1"]
    assert [e.action for e in side.book.alert_events(door.id)] == [
        "raised", "grouped", "inhibited", "uninhibited"]  # one building's outage: one incident


def test_escalation_climbs_on_the_fake_clock_and_an_acknowledgement_stops_it() -> None:
    side = Side()
    alert = side.t("smoke-101", Hazard.SMOKE)[0].alert
    assert {"w-g1", "w-g1a"} <= set(side.told("alarm"))
    side.now += 181
    side.escalation.tick(side.now)
    assert "w-lead" in side.told("escalation")
    side.alerts.act(alert.id, "acknowledge", actor="w-g1", now=side.now)
    n = len(side.notifier.notices)
    side.now += 3600
    side.escalation.tick(side.now)
    assert [x.notice.value for x in side.notifier.notices[n:]] in ([], ["overdue"])


def test_a_tick_reads_only_the_escalations_that_are_due() -> None:
    side = Side()
    for dev in ("gas-101", "gas-102", "gas-201"):
        side.t(dev, Hazard.GAS, detail=dev)
    reads: list[int] = []
    real = side.alerts.get
    side.alerts.get = lambda i: reads.append(i) or real(i)  # type: ignore[method-assign]
    side.escalation.tick(side.now)  # every one runs once and learns its next time
    reads.clear()
    side.now += 1
    side.escalation.tick(side.now)
    assert reads == []  # nothing due a second later: no alert read
    side.now += 200
    side.escalation.tick(side.now)
    assert reads  # the grid leader's step is due
