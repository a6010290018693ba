"""Who sees personal data, the HTTP guard's pure parts, and when the API is open
(api.principal, api.guard, api.deps, api.app)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from alerts.model import Alert, AlertStatus, Facts
from alerts.rules.types import Severity
from api.app import exposure_problem
from api.deps import auth_mode, is_loopback
from api.guard import (
    _authority,
    _host_name,
    _origin,
    allowed_hosts,
    content_security_policy,
    inline_script_hashes,
)
from api.principal import Principal, redact


def alert(hazard: str, place: str = "h1") -> Alert:
    return Alert(1, f"d:{hazard}", hazard, Severity.WARNING, AlertStatus.RAISED, True, "d", place, "g1",
                 "w1", 0.0, 0.0, facts=Facts(address="x", contacts=["contact:h1:0"]))


def staff() -> Principal:
    return Principal("pm", "w-pm", "pm", "property_manager", "session", place_ids=frozenset({"b1", "h1"}),
                     building_ids=frozenset({"b1"}))


def worker() -> Principal:
    return Principal("gw", "w-g1", "gw", "grid_worker", "session", place_ids=frozenset({"b1", "h1"}),
                     personal_ids=frozenset({"h1"}))


def test_welfare_and_night_door_alerts_are_personal():
    for hazard in ("welfare", "door_night"):
        assert not staff().sees_alert(alert(hazard)) and worker().sees_alert(alert(hazard))
    assert staff().sees_alert(alert("water_leak"))
    assert staff().hidden_personal_places() == ["b1", "h1"] and worker().hidden_personal_places() == ["b1"]


def test_redact_drops_contacts_everywhere_in_a_structure():
    data = {"contacts": ["contact:h1:0"], "address": "x",
            "recipients": ["w-g1", "contact:h1:0", "contact:h1:1"], "nested": [{"told": ["contact:h2:0", "w-pm"]}]}
    assert redact(data) == {"address": "x", "recipients": ["w-g1"], "nested": [{"told": ["w-pm"]}]}
    assert redact(["contact:x:0"]) == []


@pytest.mark.parametrize(("header", "name"), [("127.0.0.1:8000", "127.0.0.1"), ("[::1]:8000", "::1"),
                                              ("Example.COM", "example.com"), ("localhost", "localhost"),
                                              ("::1", "::1")])
def test_host_names_are_compared_without_port_and_case(header, name):
    assert _host_name(header) == name


def test_allowed_hosts_are_loopback_the_listening_address_the_public_url_and_the_setting():
    hosts = allowed_hosts("0.0.0.0", "https://gw.example.org:8443/x", ["Ops.Example"])  # noqa: S104
    assert hosts == {"127.0.0.1", "localhost", "::1", "gw.example.org", "ops.example"}
    assert "10.0.0.5" in allowed_hosts("10.0.0.5", None, [])


def test_the_csp_allows_inline_scripts_only_by_their_hash(tmp_path: Path):
    page = tmp_path / "p.html"
    page.write_text('<script src="/a.js"></script><script>go()</script>')
    hashes = inline_script_hashes([page])
    assert len(hashes) == 1 and hashes[0].startswith("'sha256-")
    csp = content_security_policy(hashes)
    assert f"script-src 'self' {hashes[0]};" in csp and "unsafe" not in csp
    assert "style-src 'self' 'unsafe-inline'" in content_security_policy(inline_styles=True)


def ctx(host: str, users: int, token: str | None) -> SimpleNamespace:
    return SimpleNamespace(users=SimpleNamespace(count=users),
                           settings=SimpleNamespace(host=host, admin_token=token))


def test_the_api_is_open_only_on_loopback_without_users_or_token():
    assert auth_mode(ctx("127.0.0.1", 0, None)) == "open"
    assert auth_mode(ctx("0.0.0.0", 0, None)) == "closed"  # noqa: S104 - the last user went while running
    assert auth_mode(ctx("0.0.0.0", 0, "t")) == "token"  # noqa: S104
    assert auth_mode(ctx("::1", 2, None)) == "users"
    assert is_loopback("localhost") and is_loopback("127.8.0.1") and not is_loopback("192.168.1.2")


def test_start_up_is_refused_beyond_loopback_with_no_user_and_no_token():
    assert "refusing" in (exposure_problem(ctx("0.0.0.0", 0, None).settings, 0) or "")  # noqa: S104
    assert exposure_problem(ctx("0.0.0.0", 0, None).settings, 1) is None  # noqa: S104
    assert exposure_problem(ctx("127.0.0.1", 0, None).settings, 0) is None


@pytest.mark.parametrize(("origin", "host", "same"), [
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # another service on this machine
    ("https://gw.example.org", "gw.example.org", True),
    ("https://gw.example.org", "gw.example.org:443", True),
    ("http://[::1]:8000", "[::1]:8000", True),
    ("null", "127.0.0.1:8000", False),
    ("http://evil.example", "127.0.0.1:8000", False),
])
def test_an_origin_is_this_one_only_with_host_and_port(origin, host, same):
    assert (_origin(origin) == _authority({b"host": host.encode()})) is same
