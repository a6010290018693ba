"""Every endpoint of ``/openapi.json`` probed (issue 14): without credentials, with a
foreign ``Host``, and with each role against objects outside its places; and every
GET a property manager may call answered without residents' personal data.

The operations come from the service's own OpenAPI document, so an endpoint added
later is probed without anyone editing this file: it must answer 401 without a
login (unless it is listed in ``PUBLIC``), and 403 or 404 for objects outside the
caller's places (path parameters are filled from ``OUTSIDE``; an unknown parameter
name fails the test until it is added there).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.integration.harness import Publisher, ServiceThread, wait_for, write_site
from tests.integration.web.conftest import ADMIN_TOKEN, login, set_worker_passwords, web_site

pytestmark = pytest.mark.integration

# The only operations answered without a login, and why.
PUBLIC = {
    ("get", "/api/live"): "the liveness probe: says only ok",
    ("post", "/api/auth/login"): "how one logs in",
    ("get", "/api/words"): "the words of the login page (no data)",
}
# The operations left out of the role probe, and why.
NOT_PROBED = {("get", "/api/events"): "a stream that never ends; scoped by test_roles' live-event test"}
# Roles below the community, and what is outside their places: building b2 (grid g2,
# company pc2). The resident of 101 also does not see b2.
ROLES = ("zhangwei", "chen", "fix", "r101")
# Bodies that pass validation, so that the answer is about scope, not about the body.
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/devices/{device_id}/maintenance"): {"on": True},
    ("post", "/api/households/{household_id}/away"): {"away": True},
    ("put", "/api/users/{login}"): {"role": "admin", "password": "an outsider's passphrase 42"},
    ("post", "/api/alerts/{alert_id}/resolve"): {"outcome": "false_alarm"},
}
# What personal data looks like in an answer: the contact's name and phone, contact
# recipient ids, the elderly flag, the hazards only elderly-alone homes have.
PERSONAL_MARKERS = ("孙女", "granddaughter", "13900000000", "contact:", "elderly_alone", "welfare",
                    "door_night")


def site_with_contact_channel() -> dict[str, Any]:
    """The web site, the elderly household's contact reachable (on a dead port, so that
    attempts to tell her are recorded)."""
    site = copy.deepcopy(web_site())
    hh = site["buildings"][0]["units"][0]["households"][1]
    assert hh["id"] == "b1-u1-102" and hh["elderly_alone"]
    hh["contacts"] = [{"name": "孙女", "relation": "granddaughter", "phone": "13900000000",
                       "notify": ["json://127.0.0.1:9/contact"]}]
    return site


@pytest.fixture(scope="module")
def service(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("locked")
    site = write_site(tmp / "site.yaml", site_with_contact_channel())
    with ServiceThread(site=site, data_dir=tmp / "data", mqtt=broker.url, admin_token=ADMIN_TOKEN,
                       mqtt_client_id=f"locked-{tmp.name}", notify_retries=0) as svc:
        set_worker_passwords(svc)
        yield svc


@pytest.fixture(scope="module")
def feed(broker):
    """Every notice JSON published on gridwatch/tiny/alerts while the module runs."""
    got: list[dict[str, Any]] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="locked-feed")
    sub.on_message = lambda _c, _u, m: got.append(orjson.loads(m.payload))
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    sub.subscribe("gridwatch/tiny/alerts", qos=1)
    assert subscribed.wait(10)
    yield got
    sub.loop_stop()
    sub.disconnect()


@pytest.fixture(scope="module")
def world(service, broker, feed):
    """A gas alarm in the elderly household 102 (b1), a heat alarm in 201 (b2); a
    silence and an API token of the g2 worker; every client logged in."""
    clients = {who: login(service.api, who) for who in (*ROLES, "liuyang", "root")}
    pub = Publisher(broker.host, broker.port, client_id="locked-pub")
    now = time.time()
    try:
        pub.publish_all([("gridwatch/tiny/gas-102/state", {"lel_pct": 40.0, "ts": now, "seq": 1}),
                         ("gridwatch/tiny/heat-201/state", {"temp_c": 95.0, "ts": now, "seq": 1})])
    finally:
        pub.close()
    root = clients["root"]

    def alerts():
        by = {a["device_id"]: a for a in root.get("/api/alerts").json()["items"]}
        return by if {"gas-102", "heat-201"} <= set(by) else None

    found = wait_for(alerts, what="the two alarms")
    gas = found["gas-102"]["id"]
    wait_for(lambda: [a for a in root.get(f"/api/alerts/{gas}/notifications").json()["items"]
                      if a["recipient"].startswith("contact:")], what="the notice to the contact")
    g2 = clients["liuyang"]
    silence = g2.post("/api/silences", json={"reason": "g2 work", "place_id": "b2", "duration_s": 3600})
    assert silence.status_code == 201, silence.text
    token = g2.post("/api/auth/tokens", json={"label": "g2 bot"})
    assert token.status_code == 200, token.text
    yield {"clients": clients, "gas": gas, "heat": found["heat-201"]["id"],
           "silence": silence.json()["id"], "token": token.json()["id"]}
    for c in clients.values():
        c.close()


def personal_text(text: str) -> list[str]:
    """Markers of personal data in a text answer (CSV)."""
    return [m for m in PERSONAL_MARKERS if m in text]


def personal_data(value: Any, key: str = "") -> list[str]:
    """Personal data in a JSON answer: a true or counted ``elderly_alone``, a non-empty
    ``contacts``, or a marker in any string (a key named ``elderly_alone`` holding 0,
    a count of what the caller may see, is none)."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in personal_data(v, k)]
    if isinstance(value, list):
        if key == "contacts" and value:
            return [f"contacts: {value!r}"]
        return [x for v in value for x in personal_data(v, key)]
    if key == "elderly_alone" and value:
        return [f"elderly_alone: {value!r}"]
    if isinstance(value, str):
        return [m for m in PERSONAL_MARKERS if m in value]
    return []


def operations(api: str) -> list[tuple[str, str, dict[str, Any]]]:
    spec = httpx.get(f"{api}/openapi.json").json()
    return [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]


def fill(path: str, values: dict[str, Any]) -> str:
    for name in [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]:
        assert name in values, f"{path}: add a value for {{{name}}} to the probe"
        path = path.replace("{" + name + "}", str(values[name]))
    return path


def body_for(method: str, path: str, op: dict[str, Any]) -> Any:
    if (method, path) in BODIES:
        return BODIES[(method, path)]
    return {} if "requestBody" in op else None


def call(client: httpx.Client, method: str, path: str, body: Any, **kw: Any) -> httpx.Response:
    if body is None:
        return client.request(method.upper(), path, **kw)
    return client.request(method.upper(), path, json=body, **kw)


def test_every_endpoint_needs_a_login_and_a_known_host(service, world):
    ops = operations(service.api)
    assert len(ops) >= 40
    values = {"device_id": "gas-101", "alert_id": world["gas"], "household_id": "b1-u1-101",
              "silence_id": world["silence"], "token_id": world["token"], "login": "root",
              "building_id": "b1"}
    wrong = []
    with httpx.Client(base_url=service.api, timeout=10) as anon:
        for method, path, op in ops:
            url = fill(path, values)
            r = call(anon, method, url, body_for(method, path, op) or
                     ({"login": "x", "password": "y"} if path == "/api/auth/login" else None))
            expected = {200, 401} if (method, path) in PUBLIC else {401}
            if path == "/api/auth/login":
                expected = {401}  # wrong password, but it was checked: public
            if r.status_code not in expected:
                wrong.append(f"{method.upper()} {path}: {r.status_code} {r.text[:120]}")
            rebound = call(anon, method, url, body_for(method, path, op),
                           headers={"Host": "attacker.example"})
            if rebound.status_code != 400 or rebound.json()["error"]["code"] != "bad_host":
                wrong.append(f"{method.upper()} {path} with a foreign Host: {rebound.status_code}")
    assert not wrong, "\n".join(wrong)
    # the public ones say nothing but what they are for
    assert httpx.get(f"{service.api}/api/live").json() == {"status": "ok"}


@pytest.mark.parametrize("who", ROLES)
def test_each_role_is_refused_every_object_outside_its_places(service, world, who):
    """Path parameters name objects of building b2 and of the g2 worker; every
    operation answers 403 or 404 and changes nothing."""
    client = world["clients"][who]
    values = {"device_id": "gas-201", "alert_id": world["heat"], "household_id": "b2-u1-201",
              "silence_id": world["silence"], "token_id": world["token"], "login": "liuyang",
              "building_id": "b2"}
    wrong = []
    for method, path, op in operations(service.api):
        if "{" not in path or (method, path) in NOT_PROBED:
            continue
        r = call(client, method, fill(path, values), body_for(method, path, op))
        if r.status_code not in (403, 404):
            wrong.append(f"{method.upper()} {path}: {r.status_code} {r.text[:160]}")
    assert not wrong, f"{who}:\n" + "\n".join(wrong)
    g2 = world["clients"]["liuyang"]
    assert g2.get(f"/api/silences/{world['silence']}").json()["state"] == "active"
    assert world["token"] in {t["id"] for t in g2.get("/api/auth/tokens").json()["items"]}
    heat = g2.get(f"/api/alerts/{world['heat']}").json()
    assert heat["status"] == "raised" and not any(e["actor"] != "system" for e in heat["timeline"])
    assert g2.get("/api/devices/gas-201").json()["retired"] is False


@pytest.mark.parametrize("who", ["chen", "fix"])
def test_property_staff_get_no_personal_data_from_any_endpoint(service, world, who):
    """Every GET of the API, its path parameters naming the elderly household 102, its
    gas alarm and devices, as the property company's staff: no contact, no elderly flag."""
    client = world["clients"][who]
    values = {"device_id": "gas-102", "alert_id": world["gas"], "household_id": "b1-u1-102",
              "silence_id": world["silence"], "token_id": world["token"], "login": who,
              "building_id": "b1"}
    leaks = []
    seen = 0
    for method, path, _op in operations(service.api):
        if method != "get" or (method, path) in NOT_PROBED:
            continue
        r = client.get(fill(path, values), params={"limit": 1000} if "{" not in path else None)
        if r.status_code != 200:
            continue
        seen += 1
        found = personal_data(r.json()) if "json" in r.headers["content-type"] else personal_text(r.text)
        leaks += [f"GET {path}: {m}" for m in found if path != "/api/words"]
    assert seen >= 15
    assert not leaks, "\n".join(leaks)
    # the alert itself is theirs to see (a gas alarm in their building), only stripped
    gas = client.get(f"/api/alerts/{world['gas']}").json()
    assert gas["device_id"] == "gas-102" and gas["household"]["personal_data"] is False


def test_those_responsible_do_see_the_contacts(world):
    gw = world["clients"]["zhangwei"]
    gas = gw.get(f"/api/alerts/{world['gas']}").json()
    assert gas["facts"]["contacts"] == ["contact:b1-u1-102:0"]
    assert gas["household"]["contacts"][0]["phone"] == "13900000000"
    told = {a["recipient"] for a in gw.get(f"/api/alerts/{world['gas']}/notifications").json()["items"]}
    assert "contact:b1-u1-102:0" in told


def test_the_mqtt_notice_feed_names_no_contact(world, feed):
    """Notices on gridwatch/<community>/alerts carry worker ids, never a contact, while
    the elderly household's contact was told of the same gas alarm."""
    gas = wait_for(lambda: [n for n in feed if n["alert"]["id"] == world["gas"]], what="the gas notice")
    assert "w-g1" in gas[0]["recipients"]
    raw = orjson.dumps(feed).decode()
    assert "contact:" not in raw and "13900000000" not in raw and "孙女" not in raw
    root = world["clients"]["root"]
    told = {a["recipient"] for a in root.get(f"/api/alerts/{world['gas']}/notifications").json()["items"]}
    assert "contact:b1-u1-102:0" in told  # the contact was told, only not on the feed


def test_dead_letters_are_for_admins_only(world):
    """Raw payloads of every grid (a bridge's network key among them, issue 14)."""
    for who in (*ROLES, "liuyang"):
        r = world["clients"][who].get("/api/dead-letters")
        assert r.status_code == 403, who
    assert world["clients"]["root"].get("/api/dead-letters").status_code == 200
    root_url = str(world["clients"]["root"].base_url).rstrip("/")
    assert httpx.get(f"{root_url}/api/dead-letters",
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
