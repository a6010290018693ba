import math

import pytest

from alerts.lifecycle import LifecycleError, act, apply_transition
from alerts.model import AlertStatus, Outcome
from alerts.rules.types import Hazard, Severity, Transition

KW = {"device_id": "gas-101", "place_id": "b1-u1-101", "grid_id": "g1", "assignee": "w-g1"}


def raise_(hazard=Hazard.GAS, sev=Severity.CRITICAL, ts=100.0, value=12.0):
    return Transition(0, hazard, sev, ts, value)


def clear(hazard=Hazard.GAS, ts=200.0):
    return Transition(0, hazard, None, ts)


def test_raise_creates_one_alert_and_repeat_changes_nothing():
    a, ev = apply_transition(None, raise_(), now=101.0, **KW)
    assert a is not None and a.status is AlertStatus.RAISED and a.active
    assert a.key == "gas-101:gas" and a.assignee == "w-g1" and a.value == 12.0
    assert [e.action for e in ev] == ["raised"]
    again, ev2 = apply_transition(a, raise_(), now=102.0, **KW)
    assert again is None and ev2 == []


def test_severity_change_is_recorded_and_keeps_highest_value():
    a, _ = apply_transition(None, raise_(sev=Severity.WARNING, value=6.0), now=1.0, **KW)
    b, ev = apply_transition(a, raise_(sev=Severity.CRITICAL, value=11.0), now=2.0, **KW)
    assert b.severity is Severity.CRITICAL and b.value == 11.0 and ev[0].action == "severity"
    c, _ = apply_transition(b, raise_(sev=Severity.WARNING, value=7.0), now=3.0, **KW)
    assert c.severity is Severity.WARNING and c.value == 11.0


def test_life_safety_clear_keeps_alert_open_for_a_person():
    a, _ = apply_transition(None, raise_(), now=1.0, **KW)
    b, ev = apply_transition(a, clear(), now=2.0, **KW)
    assert b.status is AlertStatus.RAISED and not b.active and b.cleared_at == 200.0
    assert [e.action for e in ev] == ["cleared"]


def test_fault_that_clears_before_anyone_acts_resolves_itself_on_record():
    a, _ = apply_transition(None, raise_(Hazard.OFFLINE, Severity.WARNING, value=math.nan), now=1.0, **KW)
    assert a.value is None
    b, ev = apply_transition(a, clear(Hazard.OFFLINE), now=2.0, **KW)
    assert b.status is AlertStatus.RESOLVED and b.outcome is Outcome.CLEARED_BY_ITSELF
    assert [e.action for e in ev] == ["cleared", "resolved"]


def test_reactivation_of_an_open_alert():
    a, _ = apply_transition(None, raise_(), now=1.0, **KW)
    b, _ = apply_transition(a, clear(), now=2.0, **KW)
    c, ev = apply_transition(b, raise_(), now=3.0, **KW)
    assert c.active and c.cleared_at is None and ev[0].action == "reactivated"


def test_clear_without_alert_is_nothing():
    assert apply_transition(None, clear(), now=1.0, **KW) == (None, [])


def test_actions_follow_the_four_steps():
    a, _ = apply_transition(None, raise_(), now=1.0, **KW)
    a, e = act(a, "acknowledge", actor="w-g1", now=5.0)
    assert a.status is AlertStatus.ACKNOWLEDGED and e.actor == "w-g1"
    a, _ = act(a, "on_site", actor="w-g1", now=6.0)
    with pytest.raises(LifecycleError, match="still present"):
        act(a, "resolve", actor="w-g1", now=7.0)
    a, _ = apply_transition(a, clear(), now=8.0, **KW)
    a, e = act(a, "resolve", actor="w-g1", now=9.0, note="valve closed", outcome=Outcome.REAL_HAZARD)
    assert a.status is AlertStatus.RESOLVED and a.outcome is Outcome.REAL_HAZARD and e.note == "valve closed"
    a, _ = act(a, "close", actor="w-g1", now=10.0)
    assert a.status is AlertStatus.CLOSED
    with pytest.raises(LifecycleError):
        act(a, "acknowledge", actor="w-g1", now=11.0)
    with pytest.raises(LifecycleError, match="unknown"):
        act(a, "delete", actor="w-g1", now=11.0)


def test_non_life_safety_active_alert_can_be_resolved():
    a, _ = apply_transition(None, raise_(Hazard.WATER_LEAK, Severity.WARNING), now=1.0, **KW)
    a, _ = act(a, "resolve", actor="w-g1", now=2.0, outcome=Outcome.FALSE_ALARM)
    assert a.status is AlertStatus.RESOLVED and a.outcome is Outcome.FALSE_ALARM
