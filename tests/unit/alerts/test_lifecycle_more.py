"""Lifecycle: flapping, photos and helpers, repair tickets, follow-up, patrol reports."""

import math

import pytest

from alerts.lifecycle import FlapPolicy, LifecycleError, act, apply_transition, report, report_key
from alerts.model import AlertStatus, Outcome, ReportCategory
from alerts.rules.types import Hazard, Severity, Transition

KW = {"device_id": "water-101", "place_id": "b1-u1-101", "grid_id": "g1", "assignee": "w-g1"}


def t(sev, ts, hazard=Hazard.WATER_LEAK):
    return Transition(0, hazard, sev, ts, 1.0 if sev else math.nan)


def test_toggling_sensor_stays_one_alert_marked_flapping():
    a, _ = apply_transition(None, t(Severity.WARNING, 0.0), now=0.0, **KW)
    a.id = 7
    actions = []
    for i in range(1, 5):
        cleared, ev = apply_transition(a, t(None, i * 60.0), now=i * 60.0, **KW)
        actions += [e.action for e in ev]
        existing = cleared if cleared.is_open else None
        a, ev = apply_transition(existing, t(Severity.WARNING, i * 60.0 + 30), now=i * 60.0 + 30,
                                 recent=cleared, **KW)
        actions += [e.action for e in ev]
        assert a.id == 7, "reopened, never a second alert"
    assert a.flap.flapping is True and a.status is AlertStatus.RAISED
    assert actions.count("flapping") == 1
    assert actions[:3] == ["cleared", "resolved", "reopened"]
    # once flapping it no longer resolves itself on every clear
    b, ev = apply_transition(a, t(None, 400.0), now=400.0, **KW)
    assert b.status is AlertStatus.RAISED and [e.action for e in ev] == ["cleared"]


def test_an_old_self_cleared_alert_is_not_reopened():
    a, _ = apply_transition(None, t(Severity.WARNING, 0.0), now=0.0, **KW)
    a.id = 3
    cleared, _ = apply_transition(a, t(None, 10.0), now=10.0, **KW)
    b, ev = apply_transition(None, t(Severity.WARNING, 10_000.0), now=10_000.0, recent=cleared,
                             flap=FlapPolicy(window_s=600), **KW)
    assert b.id == 0 and [e.action for e in ev] == ["raised"]


def test_every_action_records_who_when_note_photos():
    a, _ = apply_transition(None, t(Severity.WARNING, 0.0), now=0.0, **KW)
    a, e = act(a, "acknowledge", actor="w-g1", now=5.0, note="coming", photos=["p/1.jpg"])
    assert (e.actor, e.ts, e.note, e.data["photos"]) == ("w-g1", 5.0, "coming", ["p/1.jpg"])
    assert a.handling.acknowledged_by == "w-g1" and a.handling.acknowledged_at == 5.0
    a, e = act(a, "note", actor="w-g1", now=6.0, note="valve found")
    assert a.status is AlertStatus.ACKNOWLEDGED and e.action == "note"
    a, e = act(a, "resolve", actor="w-g1", now=7.0, helpers=["property", "police"],
               outcome=Outcome.REAL_HAZARD)
    assert e.data["helpers"] == ["property", "police"] and a.handling.repair_ticket is None
    a, e = act(a, "follow_up", actor="w-g1", now=8.0, note="visited, dry")
    assert a.status is AlertStatus.CLOSED and e.action == "closed"


def test_device_fault_opens_a_repair_ticket_for_the_property_company():
    a, _ = apply_transition(None, t(Severity.WARNING, 0.0, Hazard.BATTERY_LOW), now=0.0, **KW)
    a.facts.property_company = "pc1"
    a, e = act(a, "resolve", actor="w-g1", now=9.0)
    assert a.outcome is Outcome.DEVICE_FAULT and e.data["repair_ticket"] is True
    ticket = a.handling.repair_ticket
    assert ticket is not None and ticket.company == "pc1" and ticket.status == "open"


def test_life_safety_cleared_by_itself_still_needs_a_person():
    a, _ = apply_transition(None, t(Severity.CRITICAL, 0.0, Hazard.GAS), now=0.0, **KW)
    a, ev = apply_transition(a, t(None, 5.0, Hazard.GAS), now=5.0, **KW)
    assert a.status is AlertStatus.RAISED and not a.active
    a, _ = act(a, "acknowledge", actor="w-g1", now=6.0)
    a, _ = act(a, "resolve", actor="w-g1", now=7.0)
    assert a.outcome is Outcome.CLEARED_BY_ITSELF


def test_patrol_report_follows_the_same_lifecycle():
    a, e = report(None, ReportCategory.ILLEGAL_WIRING, place_id="b1-u1", grid_id="g1",
                  assignee="w-g1", severity=Severity.WARNING, reporter="w-g1", note="飞线充电",
                  photos=["x.jpg"], now=100.0)
    assert a.key == report_key("b1-u1", ReportCategory.ILLEGAL_WIRING) and a.device_id is None
    assert a.status is AlertStatus.RAISED and e.action == "raised" and e.data["photos"] == ["x.jpg"]
    a.id = 1
    b, e = report(a, ReportCategory.ILLEGAL_WIRING, place_id="b1-u1", grid_id="g1", assignee="w-g1",
                  severity=Severity.CRITICAL, reporter="w-g1a", note="still there", now=200.0)
    assert b.id == 1 and b.source.reports == 2 and b.source.reporter == "w-g1" and b.severity is Severity.CRITICAL
    assert e.action == "reported_again"
    b, _ = act(b, "on_site", actor="w-g1", now=300.0)
    b, _ = act(b, "resolve", actor="w-g1", now=400.0, helpers=["pc1"])
    b, _ = act(b, "close", actor="w-g1", now=500.0)
    assert b.status is AlertStatus.CLOSED
    with pytest.raises(LifecycleError):
        act(b, "note", actor="w-g1", now=600.0)
