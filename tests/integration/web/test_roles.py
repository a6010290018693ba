"""What each role may and may not see and do, through the API (real Mosquitto,
real uvicorn, real SQLite).

A role never sees anything outside its places (404 there, as for things that do not
exist), residents change nothing, and elderly flags and contacts reach only those
responsible.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.harness import Publisher, wait_for
from tests.integration.web.conftest import ADMIN_TOKEN, password

pytestmark = pytest.mark.integration

B1 = {"gas-101", "smoke-101", "water-101", "gas-102", "door-102", "co-102", "door-b1u1"}
B2 = {"gas-201", "heat-201"}
H101 = {"gas-101", "smoke-101", "water-101"}


def ids(r: httpx.Response) -> set[str]:
    assert r.status_code == 200, r.text
    return {d["id"] for d in r.json()["items"]}


@pytest.fixture(scope="module")
def alerts(service, broker, clients):
    """A water leak in 101 (grid g1, pc1), a smoke alarm in 101, and a heat alarm in 201 (g2, pc2)."""
    pub = Publisher(broker.host, broker.port, client_id="web-roles-pub")
    now = time.time()
    try:
        pub.publish_all([
            ("gridwatch/tiny/water-101/state", {"water_leak": True, "ts": now, "seq": 1, "battery_pct": 80}),
            ("gridwatch/tiny/smoke-101/state", {"smoke": True, "ts": now, "seq": 1}),
            ("gridwatch/tiny/heat-201/state", {"temp_c": 95.0, "ts": now, "seq": 1}),
            ("gridwatch/tiny/gas-102/state", {"lel_pct": 0.0, "ts": now, "seq": 1}),
        ])
    finally:
        pub.close()
    admin = clients["root"]

    def found():
        items = admin.get("/api/alerts").json()["items"]
        by = {a["device_id"]: a for a in items}
        return by if {"water-101", "smoke-101", "heat-201"} <= set(by) else None

    return wait_for(found, what="three alerts")


def test_without_login_only_liveness_and_the_login_page(service):
    api = service.api
    r = httpx.get(f"{api}/api/live")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert httpx.get(f"{api}/login").status_code == 200
    for path in ("/api/devices", "/api/alerts", "/api/overview", "/api/places", "/api/stats",
                 "/api/events", "/api/export/alerts.csv", "/api/auth/me", "/api/health",
                 "/api/dead-letters"):
        r = httpx.get(f"{api}{path}")
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "unauthorized"
    r = httpx.get(f"{api}/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_login_sets_an_httponly_cookie_and_bad_passwords_are_rate_limited(service):
    with httpx.Client(base_url=service.api) as c:
        r = c.post("/api/auth/login", json={"login": "liuyang", "password": password("liuyang")})
        assert r.status_code == 200 and r.json()["user"]["role"] == "grid_worker"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/auth/me").json()["grids"] == ["g2"]
        assert c.post("/api/auth/logout").status_code == 200
        assert c.get("/api/auth/me").status_code == 401
    with httpx.Client(base_url=service.api) as c:
        codes = [c.post("/api/auth/login", json={"login": "ghost", "password": "wrong-password"}).status_code
                 for _ in range(5)]
        assert codes == [401] * 5
        # then each try must wait (1 s, doubling): on a slow machine one may come after
        # its wait, be checked and double the next
        tries = [c.post("/api/auth/login", json={"login": "ghost", "password": "wrong-password"})
                 for _ in range(3)]
        r = next(t for t in tries if t.status_code == 429)
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["error"]["code"] == "too_many_requests"


def test_grid_worker_sees_and_handles_only_their_grid(clients, alerts):
    gw = clients["zhangwei"]
    assert ids(gw.get("/api/devices", params={"limit": 1000})) == B1
    assert gw.get("/api/devices/gas-201").status_code == 404
    assert gw.get("/api/devices/gas-201/readings").status_code == 404
    assert {a["grid_id"] for a in gw.get("/api/alerts").json()["items"]} == {"g1"}
    heat = alerts["heat-201"]["id"]
    assert gw.get(f"/api/alerts/{heat}").status_code == 404
    assert gw.post(f"/api/alerts/{heat}/ack", json={}).status_code == 404
    water = alerts["water-101"]["id"]
    r = gw.post(f"/api/alerts/{water}/ack", json={"note": "on my way", "actor": "w-head"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    timeline = gw.get(f"/api/alerts/{water}").json()["timeline"]
    assert timeline[-1]["actor"] == "w-g1"  # acts as themself, whatever the body says
    # personal data of their households
    h = gw.get("/api/households/b1-u1-102").json()
    assert h["elderly_alone"] is True and h["contacts"][0]["phone"] == "139"
    assert gw.get("/api/households/b2-u1-201").status_code == 404
    assert gw.get("/api/overview").json()["devices"] == len(B1)


def test_property_manager_sees_their_company_buildings_without_personal_data(clients, alerts):
    pm = clients["chen"]
    assert ids(pm.get("/api/devices", params={"limit": 1000})) == B1
    h = pm.get("/api/households/b1-u1-102").json()
    assert h["personal_data"] is False and "contacts" not in h and "elderly_alone" not in h
    tree = pm.get("/api/places").json()
    households = [hh for comp in tree["compounds"] for b in comp["buildings"] for u in b["units"]
                  for hh in u["households"]]
    assert {hh["id"] for hh in households} == {"b1-u1-101", "b1-u1-102"}
    assert all("elderly_alone" not in hh for hh in households)
    smoke = pm.get(f"/api/alerts/{alerts['smoke-101']['id']}").json()
    assert smoke["household"]["personal_data"] is False
    assert pm.get(f"/api/alerts/{alerts['heat-201']['id']}").status_code == 404
    assert pm.get("/api/overview", params={"property_company": "pc2"}).json()["devices"] == 0


def test_maintenance_sees_alerts_but_acts_only_on_faults(clients, alerts):
    fix = clients["fix"]
    smoke = alerts["smoke-101"]["id"]
    r = fix.get(f"/api/alerts/{smoke}")
    assert r.status_code == 200 and r.json()["can_act"] is False
    assert fix.post(f"/api/alerts/{smoke}/on-site", json={}).status_code == 403


def test_resident_sees_their_household_and_changes_nothing(clients, alerts):
    r101 = clients["r101"]
    assert ids(r101.get("/api/devices", params={"limit": 1000})) == H101
    assert r101.get("/api/devices/door-b1u1").status_code == 404  # the unit's door is not theirs
    assert {a["place_id"] for a in r101.get("/api/alerts").json()["items"]} == {"b1-u1-101"}
    smoke = alerts["smoke-101"]["id"]
    r = r101.post(f"/api/alerts/{smoke}/ack", json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert r101.get("/api/households/b1-u1-102").status_code == 404
    assert r101.get("/api/households/b1-u1-101").json()["personal_data"] is True
    assert r101.get("/api/users").status_code == 403
    assert r101.get("/api/audit").status_code == 403


def test_leader_sees_everything_and_reads_the_audit_log(clients, alerts):
    lead = clients["wang"]
    assert ids(lead.get("/api/devices", params={"limit": 1000})) == B1 | B2
    assert {a["grid_id"] for a in lead.get("/api/alerts").json()["items"]} == {"g1", "g2"}
    audit = lead.get("/api/audit", params={"action": "auth.login"}).json()
    assert audit["total"] >= 1 and all(e["action"].startswith("auth.login") for e in audit["items"])
    assert lead.get("/api/users").status_code == 403  # users are the admin's
    stats = lead.get("/api/stats", params={"by": "property_company"}).json()
    assert {g["id"] for g in stats["groups"]} == {"pc1", "pc2"}


def test_admin_manages_users_and_every_action_is_audited(service, clients, alerts):
    root = clients["root"]
    r = root.put("/api/users/r201", json={"name": "201住户", "role": "resident",
                                          "places": {"household": "b2-u1-201"}, "password": "pw-r201-123"})
    assert r.status_code == 200 and r.json()["has_password"] is True
    assert "r201" in {u["login"] for u in root.get("/api/users").json()["items"]}
    with httpx.Client(base_url=service.api) as c:
        assert c.post("/api/auth/login", json={"login": "r201", "password": "pw-r201-123"}).status_code == 200
        assert ids(c.get("/api/devices")) == B2
    assert clients["zhangwei"].put("/api/users/x", json={"role": "admin"}).status_code == 403
    actions = {(e["actor"], e["action"]) for e in root.get("/api/audit", params={"limit": 1000}).json()["items"]}
    assert ("w-g1", "alert.acknowledge") in actions
    assert ("w-g1", "auth.login") in actions
    assert ("root", "user.create") in actions


def test_api_tokens_carry_their_owners_scope_and_can_be_revoked(service, clients):
    gw = clients["zhangwei"]
    made = gw.post("/api/auth/tokens", json={"label": "wechat bot"}).json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert ids(httpx.get(f"{service.api}/api/devices", headers=headers)) == B1
    assert gw.post("/api/auth/tokens", json={"login": "wang"}).status_code == 403
    assert gw.delete(f"/api/auth/tokens/{made['id']}").status_code == 200
    assert httpx.get(f"{service.api}/api/devices", headers=headers).status_code == 401


def test_the_admin_token_still_works_and_cross_site_posts_are_refused(service, clients, alerts):
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert ids(httpx.get(f"{service.api}/api/devices", headers=headers)) == B1 | B2
    assert httpx.get(f"{service.api}/api/devices", headers={"Authorization": "Bearer nope"}).status_code == 401
    gw = clients["zhangwei"]
    smoke = alerts["smoke-101"]["id"]
    r = gw.post(f"/api/alerts/{smoke}/on-site", json={}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def test_exports_and_statistics_stay_inside_the_places(clients, alerts):
    gw = clients["liuyang"]
    csv_text = gw.get("/api/export/alerts.csv").text
    assert "heat-201" in csv_text and "smoke-101" not in csv_text
    devices_csv = gw.get("/api/export/devices.csv").text.splitlines()
    assert len(devices_csv) == 1 + len(B2)
    stats = gw.get("/api/stats").json()
    assert [g["id"] for g in stats["groups"]] == ["g2"]


def test_live_events_reach_only_those_whose_places_they_concern(service, broker, clients, alerts):
    gw2 = clients["liuyang"]
    seen: list[tuple[str, str]] = []
    pub = Publisher(broker.host, broker.port, client_id="web-roles-sse")
    try:
        with gw2.stream("GET", "/api/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            event = None
            for line in lines:
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "hello":
                    now = time.time()
                    pub.publish_all([
                        ("gridwatch/tiny/water-101/state", {"water_leak": True, "ts": now, "seq": 5}),
                        ("gridwatch/tiny/gas-201/state", {"lel_pct": 50.0, "ts": now, "seq": 1}),
                    ])
                elif line.startswith("data: ") and event == "alert":
                    data = httpx.Response(200, content=line[6:]).json()
                    seen.append((data["device_id"], data["grid_id"]))
                    if data["device_id"] == "gas-201":
                        break
    finally:
        pub.close()
    assert all(grid == "g2" for _dev, grid in seen), seen


def test_patrol_reports_stay_inside_the_places(clients, alerts):
    gw = clients["zhangwei"]
    body = {"category": "broken_unit_door", "place_id": "b1-u1", "note": "单元门闭门器坏了"}
    r = gw.post("/api/reports", json=body)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["created"] is True and report["status"] == "raised"
    assert report["hazard"] == "broken_unit_door" and report["grid_id"] == "g1"
    again = gw.post("/api/reports", json={**body, "note": "还是坏的"})
    assert again.status_code == 201 and again.json()["id"] == report["id"]  # one open report
    assert again.json()["created"] is False
    # the same lifecycle as a sensor alert, with the reporter on the timeline
    assert gw.post(f"/api/alerts/{report['id']}/ack", json={}).status_code == 200
    timeline = gw.get(f"/api/alerts/{report['id']}").json()["timeline"]
    assert [e["actor"] for e in timeline][:2] == ["w-g1", "w-g1"]
    # outside their places, in someone else's name, or as a resident: refused
    assert gw.post("/api/reports", json={**body, "place_id": "b2-u1"}).status_code == 404
    assert gw.post("/api/reports", json={**body, "reporter": "w-g2"}).status_code == 403
    assert clients["r101"].post("/api/reports", json={**body, "place_id": "b1-u1-101"}).status_code == 403
    assert gw.post("/api/reports", json={**body, "category": "aliens"}).status_code == 422
    assert gw.post("/api/reports", json={**body, "place_id": "nowhere"}).status_code == 404
    # the leader sees it; the other grid's worker does not
    assert clients["wang"].get(f"/api/alerts/{report['id']}").status_code == 200
    assert clients["liuyang"].get(f"/api/alerts/{report['id']}").status_code == 404


def test_silences_stay_inside_the_places_and_hold_only_notices(clients, alerts):
    gw, other, leader = clients["zhangwei"], clients["liuyang"], clients["wang"]
    smoke = alerts["smoke-101"]["id"]
    body = {"reason": "更换烟感", "device_ids": ["smoke-101"], "duration_s": 3600}
    r = gw.post("/api/silences", json=body)
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["author"] == "w-g1" and s["state"] == "active" and s["ends_at"] - s["starts_at"] == 3600
    # the open alert it matches is held, still open and shown, with why on its timeline
    a = gw.get(f"/api/alerts/{smoke}").json()
    assert a["status"] in ("raised", "acknowledged") and a["suppression"]["silenced_by"] == s["id"]
    assert a["timeline"][-1]["action"] == "silenced" and "更换烟感" in a["timeline"][-1]["note"]
    # scope: their grid, building and devices; not another grid's, not kind-wide
    window = {**body, "device_ids": [], "place_id": "g1", "starts_at": str(s["starts_at"] + 7200)}
    r = gw.post("/api/silences", json=window)  # a maintenance window, later
    assert r.status_code == 201 and r.json()["state"] == "scheduled"
    assert gw.post("/api/silences", json={**body, "device_ids": [], "place_id": "b2"}).status_code == 403
    assert gw.post("/api/silences", json={**body, "device_ids": ["gas-201"]}).status_code == 403
    assert gw.post("/api/silences", json={"reason": "x", "hazards": ["offline"], "duration_s": 60}).status_code == 403
    assert leader.post("/api/silences", json={"reason": "升级", "hazards": ["offline"],
                                               "duration_s": 60}).status_code == 201
    assert clients["r101"].post("/api/silences", json=body).status_code == 403
    # bad input: unknown place or device, no matcher, no end, over 30 days, already over
    assert gw.post("/api/silences", json={**body, "device_ids": ["nope"]}).status_code == 404
    assert gw.post("/api/silences", json={**body, "device_ids": [], "place_id": "nowhere"}).status_code == 404
    assert gw.post("/api/silences", json={"reason": "x", "duration_s": 60}).status_code == 422
    assert gw.post("/api/silences", json={"reason": "x", "device_ids": ["gas-101"]}).status_code == 422
    assert gw.post("/api/silences", json={**body, "duration_s": 40 * 86400}).status_code == 422
    past = {**body, "duration_s": None, "starts_at": "0", "ends_at": "10"}
    assert gw.post("/api/silences", json=past).status_code == 422
    # who sees what
    mine = {x["id"] for x in gw.get("/api/silences").json()["items"]}
    assert s["id"] in mine
    assert s["id"] not in {x["id"] for x in other.get("/api/silences").json()["items"]}
    assert other.get(f"/api/silences/{s['id']}").status_code == 404
    assert other.delete(f"/api/silences/{s['id']}").status_code == 404
    # lifting it releases the alert and is audited
    r = gw.delete(f"/api/silences/{s['id']}")
    assert r.status_code == 200 and r.json()["state"] == "expired" and r.json()["ended_by"] == "w-g1"
    a = gw.get(f"/api/alerts/{smoke}").json()
    assert a["suppression"] is None
    assert a["timeline"][-1]["action"] == "unsilenced"
    audit = leader.get("/api/audit", params={"action": "silence."}).json()["items"]
    assert {"silence.create", "silence.end"} <= {x["action"] for x in audit}
    for x in gw.get("/api/silences").json()["items"]:  # leave nothing held for other tests
        gw.delete(f"/api/silences/{x['id']}")
    for x in leader.get("/api/silences").json()["items"]:
        leader.delete(f"/api/silences/{x['id']}")


def test_retiring_a_device_is_for_its_property_company_and_stops_its_alerts(service, broker, clients, alerts):
    gw, pm, leader = clients["zhangwei"], clients["chen"], clients["wang"]
    assert gw.post("/api/devices/gas-102/retire", json={}).status_code == 403
    assert clients["r101"].post("/api/devices/gas-102/retire", json={}).status_code == 403  # read-only
    assert pm.post("/api/devices/gas-201/retire", json={}).status_code == 404  # not their company
    r = pm.post("/api/devices/gas-102/retire", json={"note": "拆除"})
    assert r.status_code == 200 and r.json()["retired"] is True, r.text
    d = pm.get("/api/devices/gas-102").json()
    assert d["retired"] is True and d["maintenance"] is True
    assert pm.post("/api/devices/gas-102/maintenance", json={"on": False}).status_code == 409
    record = leader.get(f"/api/alerts/{r.json()['record']}").json()
    assert record["hazard"] == "device_retired" and record["status"] == "closed"
    assert record["timeline"][0]["action"] == "retired" and record["timeline"][0]["note"] == "拆除"
    audit = leader.get("/api/audit", params={"action": "device.retire"}).json()["items"]
    assert audit and audit[0]["target"] == "device/gas-102"
    # a retired detector raises nothing; a live one next door still does
    pub = Publisher(broker.host, broker.port, client_id="web-roles-retire")
    now = time.time()
    try:
        # 40 %LEL is critical at once (evacuate): a live detector would alarm on it
        pub.publish_all([("gridwatch/tiny/gas-102/state", {"lel_pct": 40.0, "ts": now, "seq": 50}),
                         ("gridwatch/tiny/gas-101/state", {"lel_pct": 40.0, "ts": now, "seq": 50})])
    finally:
        pub.close()
    wait_for(lambda: gw.get("/api/alerts", params={"device": "gas-101", "kind": "gas"}).json()["items"],
             what="the gas alarm next door")
    assert [a for a in gw.get("/api/alerts", params={"device": "gas-102"}).json()["items"]
            if a["hazard"] != "device_retired"] == []


def test_hushing_a_smoke_alarm_is_for_those_who_respond_to_it(clients, alerts):
    gw = clients["zhangwei"]
    assert clients["liuyang"].post("/api/devices/smoke-101/hush", json={}).status_code == 404
    assert clients["fix"].post("/api/devices/smoke-101/hush", json={}).status_code == 403
    assert clients["r101"].post("/api/devices/smoke-101/hush", json={}).status_code == 403
    assert gw.post("/api/devices/gas-101/hush", json={}).status_code == 409  # not a smoke alarm
    r = gw.post("/api/devices/smoke-101/hush", json={"note": "烤面包"})
    assert r.status_code == 200, r.text
    smoke = alerts["smoke-101"]["id"]
    a = gw.get(f"/api/alerts/{smoke}").json()
    assert a["severity"] == "info" and a["detail"] == "hushed"
    hushed = [e for e in a["timeline"] if e["action"] == "hushed"]
    assert hushed and hushed[-1]["actor"] == "w-g1" and hushed[-1]["note"] == "烤面包"
    assert gw.post("/api/devices/smoke-101/hush", json={}).status_code == 409  # already quiet
    audit = clients["wang"].get("/api/audit", params={"action": "device.hush"}).json()["items"]
    assert audit and audit[0]["target"] == "device/smoke-101"
