"""Routing: the grid worker on duty (shifts, leave, stand-ins), backup, property company,
emergency contacts, and the escalation levels up the chain."""

from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.routing import level_ids, on_duty, place_of_device, place_of_id, recipients, route
from tests.sites import tiny_site
from topology.index import SiteIndex
from topology.load import parse_site

TZ = ZoneInfo("Asia/Shanghai")


def at(*args) -> float:
    return datetime(*args, tzinfo=TZ).timestamp()


def index(duty=None, **extra) -> SiteIndex:
    site = tiny_site(notify=["json://127.0.0.1:1/x"])
    site["workers"].append({"id": "w-lead", "name": "周组长", "role": "grid_leader", "language": "en"})
    site["workers"].append({"id": "w-night", "name": "夜班", "role": "grid_worker"})
    site["grids"][0]["leader"] = "w-lead"
    if duty:
        site["duty"] = duty
    site.update(extra)
    return SiteIndex(parse_site(site))


def place(ix, device):
    return place_of_device(ix.place_of(device))


def test_without_duty_the_grid_worker_owns_it_and_the_assistant_backs_up():
    ix = index()
    a = route(ix, place(ix, "gas-101"), hazard="gas", now=at(2026, 11, 23, 3))
    assert (a.assignee, a.backup, a.property_staff, a.contacts) == ("w-g1", "w-g1a", (), ())


def test_shifts_decide_who_is_on_duty_including_overnight():
    ix = index({"shifts": [
        {"grid": "g1", "worker": "w-g1", "start": "08:00", "end": "20:00", "weekdays": [1, 2, 3, 4, 5]},
        {"grid": "g1", "worker": "w-night", "start": "20:00", "end": "08:00"},
    ]})
    monday = (2026, 11, 23)
    assert on_duty(ix, "g1", at(*monday, 9))[0] == "w-g1"
    assert on_duty(ix, "g1", at(*monday, 21))[0] == "w-night"
    assert on_duty(ix, "g1", at(*monday, 2))[0] == "w-night"  # Sunday night's shift
    assert on_duty(ix, "g1", at(2026, 11, 22, 9))[0] == "w-g1"  # Sunday day: no shift → grid worker
    assert on_duty(ix, "g2", at(*monday, 9))[0] == "w-g2"


def test_leave_hands_the_grid_to_the_stand_in_and_then_the_assistant():
    ix = index({"leave": [{"worker": "w-g1", "start": "2026-11-23T00:00", "end": "2026-11-25T00:00",
                           "stand_in": "w-g2"}]})
    worker, note = on_duty(ix, "g1", at(2026, 11, 24, 12))
    assert worker == "w-g2" and "stand-in" in note
    assert on_duty(ix, "g1", at(2026, 11, 25, 1))[0] == "w-g1"
    ix = index({"leave": [{"worker": "w-g1", "start": "2026-11-23T00:00", "end": "2026-11-25T00:00"},
                          {"worker": "w-g1a", "start": "2026-11-24T00:00", "end": "2026-11-25T00:00"}]})
    assert on_duty(ix, "g1", at(2026, 11, 23, 12))[0] == "w-g1a"
    assert on_duty(ix, "g1", at(2026, 11, 24, 12))[0] == "w-lead"
    a = route(ix, place(ix, "gas-101"), hazard="gas", now=at(2026, 11, 24, 12))
    assert a.assignee == "w-lead" and a.backup is None  # the assistant is away too


def test_property_company_gets_what_they_fix_and_contacts_get_life_safety_of_elderly():
    ix = index()
    now = at(2026, 11, 23, 12)
    assert route(ix, place(ix, "water-101"), hazard="water_leak", now=now).property_staff == ("w-pm",)
    assert route(ix, place(ix, "gas-101"), hazard="gas", now=now).property_staff == ()
    assert route(ix, place(ix, "gas-102"), hazard="battery_low", now=now).property_staff == ("w-pm",)
    a = route(ix, place(ix, "gas-102"), hazard="gas", now=now)
    assert [c.name for c in a.contacts] == ["孙女"]
    assert route(ix, place(ix, "door-102"), hazard="welfare", now=now).contacts
    assert not route(ix, place(ix, "gas-101"), hazard="gas", now=now).contacts  # not elderly-alone
    assert not route(ix, place(ix, "gas-102"), hazard="offline", now=now).contacts


def test_levels_climb_the_chain_and_resolve_to_recipients():
    ix = index()
    p = place(ix, "smoke-101")
    a = route(ix, p, hazard="smoke", now=at(2026, 11, 23, 12))
    ids = {lv: level_ids(ix, p, a, lv) for lv in ("worker", "assistant", "grid_leader", "deputy", "head")}
    assert ids == {"worker": ["w-g1"], "assistant": ["w-g1a"], "grid_leader": ["w-lead"],
                   "deputy": ["w-deputy"], "head": ["w-head"]}
    (lead,) = recipients(ix, ids["grid_leader"], a)
    assert lead.language == "en" and lead.urls == ()
    p2 = place(ix, "gas-201")  # grid g2 has no leader and the compound no branch secretary
    assert level_ids(ix, p2, route(ix, p2, hazard="gas"), "grid_leader") == []


def test_places_by_id():
    ix = index()
    assert place_of_id(ix, "b1-u1-102").elderly_alone
    assert place_of_id(ix, "b1-u1").place_kind == "unit"
    assert place_of_id(ix, "b2").grid_id == "g2"
    assert place_of_id(ix, "nope") is None
