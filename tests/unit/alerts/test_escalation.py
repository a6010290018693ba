"""Escalation with a fake clock: hours of steps, reminders and deadlines in milliseconds;
a restart continues where it was without telling anybody twice."""

from __future__ import annotations

import pytest

from alerts.book import MemoryAlertBook
from alerts.escalation import EscalationEngine, MemoryBook, policy_for
from alerts.noise import Silence
from alerts.notify.messages import render
from alerts.notify.types import NoticeType, NullNotifier
from alerts.rules.types import Hazard, Severity, Transition
from alerts.service import AlertService
from sensors.registry import DeviceTable
from store.notify import NotifyStore
from tests.sites import tiny_site
from topology.index import SiteIndex, device_table
from topology.load import parse_site

T0 = 1_795_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def make_index(mutate=None, **extra) -> SiteIndex:
    site = tiny_site(notify=["json://127.0.0.1:1/x"])
    if mutate is not None:
        mutate(site)
    site["workers"].append({"id": "w-lead", "name": "周组长", "role": "grid_leader", "language": "en",
                            "notify": ["json://127.0.0.1:1/lead"]})
    site["grids"][0]["leader"] = "w-lead"
    site.update(extra)
    return SiteIndex(parse_site(site))


class World:
    def __init__(self, tmp_path, book=None, mutate=None, **extra) -> None:
        self.clock = Clock()
        self.index = make_index(mutate, **extra)
        self.table: DeviceTable = device_table(self.index)
        self.state = MemoryAlertBook()  # the fold and escalation need no database
        self.alerts = AlertService(self.index, self.table, self.state)
        self.book = book if book is not None else MemoryBook()
        self.notifier = NullNotifier()
        self.engine = EscalationEngine(self.index, self.alerts, self.book, self.notifier,
                                       clock=self.clock)
        self.alerts.subscribe(self.engine.on_change)

    def raise_(self, device: str, hazard: Hazard, severity=Severity.CRITICAL, value=30.0):
        row = list(self.table.ids).index(device)
        t = Transition(row, hazard, severity, self.clock.t, value)
        return self.alerts.apply([t], self.clock.t)[0].alert

    def clear(self, device: str, hazard: Hazard):
        row = list(self.table.ids).index(device)
        return self.alerts.apply([Transition(row, hazard, None, self.clock.t)], self.clock.t)

    def advance(self, seconds: float, step: float = 1.0) -> None:
        end = self.clock.t + seconds
        while self.clock.t < end:
            self.clock.t = min(end, self.clock.t + step)
            self.engine.tick()

    def told(self, kind: NoticeType | None = None) -> list[tuple[str, list[str]]]:
        return [(n.notice.value, [r.id for r in n.recipients]) for n in self.notifier.notices
                if kind is None or n.notice is kind]


def test_critical_gas_climbs_the_chain_until_acknowledged(tmp_path):
    w = World(tmp_path)
    alert = w.raise_("gas-102", Hazard.GAS)  # elderly-alone household: contacts too
    first = w.told()
    assert first == [("alarm", ["w-g1", "w-g1a", "contact:b1-u1-102:0"])]
    w.advance(179)
    assert [k for k, _ in w.told()] == ["alarm", "reminder"]  # reminder at 120 s
    w.advance(1)
    assert w.told(NoticeType.ESCALATION) == [("escalation", ["w-lead"])]
    w.advance(420)
    assert w.told(NoticeType.ESCALATION)[-1] == ("escalation", ["w-deputy"])
    timeline = [e.action for e in w.state.alert_events(alert.id)]
    assert timeline.count("escalated") == 2
    esc = w.state.get_alert(alert.id).escalation
    assert esc.level == 2 and esc.to == ["deputy"] and esc.outside_grid and not esc.overdue
    # reminders go to everybody told so far, 2 min after the last notice
    w.advance(120)
    reminder = w.told(NoticeType.REMINDER)[-1][1]
    assert set(reminder) == {"w-g1", "w-g1a", "contact:b1-u1-102:0", "w-lead", "w-deputy"}
    w.alerts.act(alert.id, "acknowledge", actor="w-g1", now=w.clock.t)
    before = len(w.notifier.notices)
    w.advance(3 * 3600, step=30)
    kinds = [n.notice for n in w.notifier.notices[before:]]
    assert NoticeType.ESCALATION not in kinds and NoticeType.REMINDER not in kinds
    assert kinds == [NoticeType.OVERDUE]  # acknowledged but not resolved within 2 h
    assert w.told(NoticeType.OVERDUE)[0][1] == ["w-lead", "w-deputy", "w-g1"]


def test_warning_water_leak_goes_to_worker_and_property_then_waits_30_minutes(tmp_path):
    w = World(tmp_path)
    w.raise_("water-101", Hazard.WATER_LEAK, Severity.WARNING, 1.0)
    assert w.told() == [("alarm", ["w-g1", "w-pm"])]
    w.advance(1799, step=60)
    assert w.told(NoticeType.ESCALATION) == []
    w.advance(1, step=1)
    assert w.told(NoticeType.ESCALATION) == [("escalation", ["w-g1a", "w-lead"])]


def test_fault_and_recovery_notices(tmp_path):
    w = World(tmp_path)
    w.raise_("smoke-101", Hazard.BATTERY_LOW, Severity.WARNING, 5.0)
    assert w.told()[0][0] == "fault"
    w.clear("smoke-101", Hazard.BATTERY_LOW)
    assert w.told() == [("fault", ["w-g1", "w-pm"]), ("fault_recovered", ["w-g1", "w-pm"])]
    assert w.engine.pending() == []  # closed by itself: nothing more to send


def test_a_restart_neither_renotifies_nor_forgets_a_pending_step(tmp_path):
    book = NotifyStore(tmp_path / "notify.db")
    w = World(tmp_path, book=book)
    alert = w.raise_("smoke-101", Hazard.SMOKE)
    w.advance(200, step=5)
    told_before = w.told()
    assert ("escalation", ["w-lead"]) in told_before
    # the service stops; a new engine starts from the same book and alert store
    w.alerts._listeners.clear()
    notifier = NullNotifier()
    engine = EscalationEngine(w.index, w.alerts, book, notifier, clock=w.clock)
    w.alerts.subscribe(engine.on_change)
    engine.tick()
    assert notifier.notices == []  # nobody told again at once
    w.clock.t += 400  # 600 s since it was raised: the deputy's step is due
    engine.tick()
    kinds = [(n.notice.value, [r.id for r in n.recipients]) for n in notifier.notices]
    assert ("escalation", ["w-deputy"]) in kinds
    assert not any(k == "alarm" for k, _ in kinds)
    assert engine.pending()[0].alert_id == alert.id


def test_silenced_alerts_are_recorded_not_notified_until_the_silence_ends(tmp_path):
    w = World(tmp_path)
    silence = Silence(id=7, author="w-lead", reason="drill", starts_at=w.clock.t,
                      ends_at=w.clock.t + 900, place_id="b2", created_at=w.clock.t)
    w.alerts.set_silences([silence], w.clock.t)
    alert = w.raise_("gas-201", Hazard.GAS)
    w.advance(899, step=30)
    assert w.notifier.notices == []
    assert [e.action for e in w.state.alert_events(alert.id)] == ["raised", "silenced"]
    # the silence expires while the alert is still open: it is notified from then on
    w.advance(1)
    assert w.told()[0] == ("alarm", ["w-g2"])
    assert [e.action for e in w.state.alert_events(alert.id)] == ["raised", "silenced", "unsilenced"]


def test_site_policies_come_first():
    ix = make_index(escalation={"policies": [
        {"hazards": ["water_leak"], "steps": [{"after_s": 0, "notify": ["worker"]},
                                              {"after_s": 60, "notify": ["head"]}]}]})
    p = policy_for(ix.site.escalation, "water_leak", Severity.WARNING)
    assert [s.after_s for s in p.steps] == [0, 60]
    assert policy_for(ix.site.escalation, "gas", Severity.CRITICAL).steps[1].after_s == 180


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_messages_say_what_where_when_the_reading_what_to_do_and_link(tmp_path, lang):
    w = World(tmp_path)
    w.raise_("gas-101", Hazard.GAS, value=26.0)
    n = w.notifier.notices[0]
    title, body = render(n, language=lang, public_url="http://gw.example")
    assert "26 %LEL" in body and "gas-101" in body
    assert "http://gw.example/#/alert/" in body
    if lang == "zh":
        assert "燃气泄漏" in title and "1号楼" in body and "关闭燃气阀门" in body
    else:
        assert "Gas leak" in title and "shut the gas" in body


def test_a_warning_that_turns_critical_tells_the_critical_recipients_at_once(tmp_path):
    w = World(tmp_path)
    w.raise_("gas-102", Hazard.GAS, Severity.WARNING, 6.0)
    assert w.told() == [("alarm", ["w-g1", "contact:b1-u1-102:0"])]  # warning: no assistant
    w.advance(30)
    w.raise_("gas-102", Hazard.GAS, Severity.CRITICAL, 12.0)
    # the critical policy's first step is due: only the one not told yet hears of it now
    assert w.told()[-1] == ("alarm", ["w-g1a"])
    assert not w.told(NoticeType.ESCALATION)
    w.advance(150)  # 180 s after it was raised: the critical policy's grid leader step
    assert w.told(NoticeType.ESCALATION) == [("escalation", ["w-lead"])]


def test_a_second_smoke_detector_joins_the_first_ones_incident(tmp_path):
    def with_second_detectors(site):
        households = site["buildings"][0]["units"][0]["households"]
        households[1]["devices"].append({"id": "smoke-102", "kind": "smoke", "heartbeat_s": 600})
        households[0]["devices"].append({"id": "smoke-101b", "kind": "smoke", "heartbeat_s": 600})

    w = World(tmp_path, mutate=with_second_detectors)
    ids = list(w.table.ids)
    first = w.raise_("smoke-101", Hazard.SMOKE)
    assert w.told() == [("alarm", ["w-g1", "w-g1a"])]
    w.advance(60)
    t = Transition(ids.index("smoke-102"), Hazard.SMOKE, Severity.CRITICAL, w.clock.t, 1.0,
                   f"incident:{ids.index('smoke-101')}")
    second = w.alerts.apply([t], w.clock.t)[0].alert
    assert second.incident.parent == first.id
    assert w.state.get_alert(first.id).incident.children == [second.id]
    # the grid worker is not paged again with an alarm but told the incident grew;
    # the elderly resident's contact hears of it
    assert w.told()[-2:] == [("alarm", ["contact:b1-u1-102:0"]),
                             ("incident_update", ["w-g1", "w-g1a"])]
    assert "102" in w.notifier.notices[-1].reason
    assert [e.action for e in w.state.alert_events(second.id)][:3] == [
        "raised", "grouped"]
    w.advance(120)  # the incident escalates; the grouped alert does not on its own
    assert w.told(NoticeType.ESCALATION) == [("escalation", ["w-lead"])]
    w.alerts.act(first.id, "acknowledge", actor="w-g1", now=w.clock.t)
    assert w.state.get_alert(second.id).status.value == "acknowledged"
    # a third detector names the second (itself grouped): it joins the incident, never nests
    t3 = Transition(ids.index("smoke-101b"), Hazard.SMOKE, Severity.CRITICAL, w.clock.t, 1.0,
                    f"incident:{ids.index('smoke-102')}")
    before = len(w.told(NoticeType.INCIDENT_UPDATE))
    third = w.alerts.apply([t3], w.clock.t)[0].alert
    assert third.incident.parent == first.id
    assert w.state.get_alert(first.id).incident.children == [second.id, third.id]
    assert len(w.told(NoticeType.INCIDENT_UPDATE)) == before + 1  # 2 minutes after the last


def test_detectors_of_one_building_are_one_incident_but_not_across_buildings_or_time(tmp_path):
    def third_gas(site):
        site["buildings"][0]["units"][0]["households"][0]["devices"] += [
            {"id": "gas-101b", "kind": "gas", "heartbeat_s": 600},
            {"id": "gas-101c", "kind": "gas", "heartbeat_s": 600}]

    w = World(tmp_path, mutate=third_gas)
    first = w.raise_("gas-101", Hazard.GAS)
    w.advance(120)
    second = w.raise_("gas-102", Hazard.GAS)  # another flat of building 1, 2 minutes later
    assert second.incident.parent == first.id
    assert len(w.told(NoticeType.INCIDENT_UPDATE)) == 1
    w.advance(10)
    w.raise_("gas-101c", Hazard.GAS)  # a third 10 s later: announced with the next update
    assert len(w.told(NoticeType.INCIDENT_UPDATE)) == 1
    w.advance(50)
    assert len(w.told(NoticeType.INCIDENT_UPDATE)) == 2
    update = [n for n in w.notifier.notices if n.notice is NoticeType.INCIDENT_UPDATE][-1]
    assert "101" in update.reason and update.alert.id == first.id
    w.alerts.act(first.id, "acknowledge", actor="w-g1", now=w.clock.t)
    other = w.raise_("gas-201", Hazard.GAS)  # building 2: its own alert
    assert other.incident.parent is None
    heat = w.raise_("heat-201", Hazard.HEAT)  # building 2 again, another hazard
    assert heat.incident.parent is None
    w.advance(600)  # 12 minutes after the first: a new incident (the second is no anchor)
    late = w.raise_("gas-101b", Hazard.GAS)
    assert late.incident.parent is None
    w.clear("gas-101", Hazard.GAS)  # a cleared first alert is no incident to join
    assert w.state.get_alert(second.id).status.value == "acknowledged"


def test_a_building_losing_power_is_one_offline_incident_and_inhibition_still_holds(tmp_path):
    def with_gateway(site):
        site["buildings"][1].setdefault("devices", []).append(
            {"id": "gw-b2", "kind": "gateway", "heartbeat_s": 60})

    w = World(tmp_path, mutate=with_gateway)
    first = w.raise_("gas-101", Hazard.OFFLINE, Severity.WARNING, 1.0)
    w.advance(30)
    second = w.raise_("smoke-101", Hazard.OFFLINE, Severity.WARNING, 1.0)
    assert second.incident.parent == first.id  # one building, 30 s apart: one incident
    assert [k for k, _ in w.told()] == ["fault", "incident_update"]  # no second fault page
    # in building 2 the gateway went first; its detectors fall silent 12 minutes later:
    # inhibited, and one incident of their own that pages nobody behind the inhibition
    gw = w.raise_("gw-b2", Hazard.OFFLINE, Severity.WARNING, 1.0)
    w.advance(720)
    before = len(w.notifier.notices)
    gas = w.raise_("gas-201", Hazard.OFFLINE, Severity.WARNING, 1.0)
    w.advance(30)
    heat = w.raise_("heat-201", Hazard.OFFLINE, Severity.WARNING, 1.0)
    mutes = w.alerts.mutes
    assert (mutes.suppression(gas, w.clock.t) or {}).get("inhibited_by") == gw.id
    assert gas.incident.parent is None
    assert (mutes.suppression(heat, w.clock.t) or {}).get("inhibited_by") == gw.id
    assert heat.incident.parent == gas.id
    w.advance(120)
    assert [n.alert.id for n in w.notifier.notices[before:] if n.alert.id in (gas.id, heat.id)] == []


def test_faults_of_one_building_are_one_incident_per_hazard(tmp_path):
    # a building that lost power a day ago: its gas and fire devices go unprotected
    w = World(tmp_path)
    first = w.raise_("gas-101", Hazard.UNPROTECTED, Severity.CRITICAL, 1.0)
    w.advance(20)
    second = w.raise_("smoke-101", Hazard.UNPROTECTED, Severity.CRITICAL, 1.0)
    third = w.raise_("co-102", Hazard.UNPROTECTED, Severity.CRITICAL, 1.0)
    assert second.incident.parent == first.id and third.incident.parent == first.id
    kinds = [k for k, _ in w.told()]
    assert kinds.count("fault") == 1 and "incident_update" in kinds  # one page, not three
    # another fault of the same building is its own incident; so is another building's
    battery = w.raise_("water-101", Hazard.BATTERY_LOW, Severity.WARNING, 9.0)
    assert battery.incident.parent is None
    w.advance(30)
    battery2 = w.raise_("gas-102", Hazard.BATTERY_LOW, Severity.WARNING, 9.0)
    assert battery2.incident.parent == battery.id
    other = w.raise_("gas-201", Hazard.UNPROTECTED, Severity.CRITICAL, 1.0)
    assert other.incident.parent is None
    # acknowledging the incident acknowledges the devices in it
    w.alerts.act(first.id, "acknowledge", actor="w-g1", now=w.clock.t)
    assert w.state.get_alert(third.id).status.value == "acknowledged"
