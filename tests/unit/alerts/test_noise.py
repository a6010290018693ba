"""Silences match by place (any level), device and kind, and only while in force;
devices are heard through their building's gateway unless the site says otherwise."""

from __future__ import annotations

import pytest

from alerts.model import Alert, AlertStatus
from alerts.noise import Silence, gateways_of, place_chain, silence_for, validate_window
from alerts.rules.types import Severity
from sensors.errors import SiteError
from tests.sites import tiny_site
from topology.index import SiteIndex
from topology.load import parse_site

T0 = 1_795_000_000.0


def alert(device: str, hazard: str, place: str = "b1-u1-101", grid: str = "g1") -> Alert:
    return Alert(id=1, key=f"{device}:{hazard}", hazard=hazard, severity=Severity.CRITICAL,
                 status=AlertStatus.RAISED, active=True, device_id=device, place_id=place,
                 grid_id=grid, assignee="w-g1", raised_at=T0, updated_at=T0)


@pytest.fixture(scope="module")
def index() -> SiteIndex:
    return SiteIndex(parse_site(tiny_site()))


def s(**kw) -> Silence:
    base = {"id": 1, "author": "w-g1", "reason": "test", "starts_at": T0, "ends_at": T0 + 3600}
    return Silence(**{**base, **kw})


def test_the_chain_runs_from_the_household_to_the_compound(index):
    assert place_chain(index, alert("gas-101", "gas")) == ["b1-u1-101", "b1-u1", "b1", "mg1", "g1", "c1"]
    report = alert("", "broken_unit_door", place="b1-u1")
    report.device_id = None
    assert place_chain(index, report) == ["b1-u1", "g1", "b1", "c1"]


@pytest.mark.parametrize(("silence", "matches"), [
    (s(place_id="b1"), True),
    (s(place_id="g1"), True),
    (s(place_id="c1"), True),
    (s(place_id="b1-u1-102"), False),
    (s(place_id="b2"), False),
    (s(device_ids=["gas-101"]), True),
    (s(device_ids=["gas-102"]), False),
    (s(hazards=["gas"]), True),
    (s(hazards=["offline"]), False),
    (s(device_kinds=["gas"]), True),
    (s(device_kinds=["smoke"]), False),
    (s(place_id="b1", hazards=["offline"]), False),  # every given matcher must hold
    (s(starts_at=T0 + 60), False),  # scheduled, not yet in force
    (s(ends_at=T0 + 10, starts_at=T0 - 10), False),  # expired by T0 + 30
    (s(ended_at=T0 + 20), False),  # lifted
])
def test_a_silence_matches_only_what_it_names_while_in_force(index, silence, matches):
    got = silence_for([silence], index, alert("gas-101", "gas"), T0 + 30)
    assert (got is silence) == matches


def test_the_longest_matching_silence_wins_and_states_are_reported(index):
    short, long_ = s(id=1, place_id="b1"), s(id=2, device_ids=["gas-101"], ends_at=T0 + 7200)
    assert silence_for([short, long_], index, alert("gas-101", "gas"), T0 + 1) is long_
    assert short.to_dict(T0 - 1)["state"] == "scheduled"
    assert short.to_dict(T0 + 1)["state"] == "active"
    assert short.to_dict(T0 + 3600)["state"] == "expired"
    assert Silence.from_dict(long_.to_dict()) == long_


def test_windows_are_checked():
    assert validate_window(T0, T0 - 1, T0, 86400) == "it must end after it starts"
    assert validate_window(T0 - 100, T0 - 10, T0, 86400) == "it would already be over"
    assert "at most" in (validate_window(T0, T0 + 2 * 86400, T0, 86400) or "")
    assert validate_window(T0, float("inf"), T0, 86400) == "times must be finite"
    assert validate_window(T0 + 10, T0 + 100, T0, 86400) is None


def test_devices_are_heard_through_the_only_gateway_of_their_building_or_their_via():
    site = tiny_site()
    b1 = site["buildings"][0]
    b1.setdefault("devices", []).append({"id": "gw-b1", "kind": "gateway", "heartbeat_s": 60})
    b2 = site["buildings"][1]
    b2["devices"] = [{"id": "gw-b2a", "kind": "gateway"}, {"id": "gw-b2b", "kind": "gateway"}]
    b2["units"][0]["households"][0]["devices"][0]["via"] = "gw-b2b"
    index = SiteIndex(parse_site(site))
    gws = gateways_of(index)
    assert gws["gas-101"] == "gw-b1" and gws["door-b1u1"] == "gw-b1"
    assert gws["gas-201"] == "gw-b2b"  # named
    assert "heat-201" not in gws  # two gateways in b2 and none named: not guessed
    assert "gw-b1" not in gws
    b2["units"][0]["households"][0]["devices"][1]["via"] = "gas-101"
    with pytest.raises(SiteError, match=r"devices\[1\]\.via: 'gas-101' is not a gateway"):
        parse_site(site)
