"""The whole pipeline against real brokers: publish → stored → rule → alert → API.

Real Mosquitto (Debian package) on a free loopback port, the embedded amqtt
broker, real uvicorn, real SQLite.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.harness import Publisher, ServiceThread, wait_for, write_site
from tests.servers import MosquittoServer, free_port
from tests.sites import tiny_site

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker():
    with MosquittoServer() as b:
        yield b


@pytest.fixture
def site_file(tmp_path):
    return write_site(tmp_path / "site.yaml", tiny_site())


def alerts(api: str, headers: dict | None = None, **params) -> list[dict]:
    return httpx.get(f"{api}/api/alerts", params=params, headers=headers, timeout=5).json()["items"]


def test_smoke_alarm_reaches_the_grid_worker_and_is_handled(broker, site_file, tmp_path):
    with ServiceThread(site=site_file, data_dir=tmp_path / "data", mqtt=broker.url,
                       mqtt_client_id="it-flow") as svc:
        pub = Publisher(broker.host, broker.port)
        now = time.time()
        pub.publish_all([
            ("gridwatch/tiny/smoke-101/state", {"smoke": True, "ts": now, "seq": 1, "battery_pct": 90}),
            ("gridwatch/tiny/water-101/state", {"water_leak": True, "ts": now, "seq": 1}),
            ("gridwatch/tiny/gas-201/state", {"lel_pct": 0.0, "ts": now, "seq": 1}),
        ])
        smoke = wait_for(lambda: alerts(svc.api, kind="smoke"), what="the smoke alert")[0]
        assert smoke["severity"] == "critical" and smoke["status"] == "raised"
        assert smoke["assignee"]["id"] == "w-g1" and smoke["assignee"]["name"] == "张伟"
        assert smoke["grid_id"] == "g1" and smoke["device_id"] == "smoke-101"
        assert "1号楼" in smoke["facts"]["address"]
        # one alert per device and hazard while it lasts
        pub.publish_all([("gridwatch/tiny/smoke-101/state", {"smoke": True, "ts": now + 1, "seq": 2})])
        wait_for(lambda: svc.rt.pipeline.stats.stored >= 4, what="the repeat reading")
        assert len(alerts(svc.api, kind="smoke")) == 1

        water = wait_for(lambda: alerts(svc.api, kind="water_leak"), what="the leak alert")[0]
        r = httpx.post(f"{svc.api}/api/alerts/{water['id']}/ack", json={"actor": "w-g1", "note": "on my way"})
        assert r.status_code == 200 and r.json()["status"] == "acknowledged"
        r = httpx.post(f"{svc.api}/api/alerts/{water['id']}/ack", json={})
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
        r = httpx.post(f"{svc.api}/api/alerts/{water['id']}/resolve",
                       json={"actor": "w-g1", "note": "valve replaced", "outcome": "real_hazard"})
        assert r.status_code == 200 and r.json()["status"] == "resolved"
        detail = httpx.get(f"{svc.api}/api/alerts/{water['id']}").json()
        assert [e["action"] for e in detail["timeline"]] == ["raised", "acknowledged", "resolved"]
        assert detail["timeline"][2]["note"] == "valve replaced"

        # a life-safety alert whose condition is still true cannot be resolved
        r = httpx.post(f"{svc.api}/api/alerts/{smoke['id']}/resolve", json={})
        assert r.status_code == 409

        # filters and the device view
        assert [a["device_id"] for a in alerts(svc.api, grid="g2")] == []
        assert {a["device_id"] for a in alerts(svc.api, assignee="w-g1")} == {"smoke-101", "water-101"}
        dev = httpx.get(f"{svc.api}/api/devices/smoke-101").json()
        assert dev["online"] is True and dev["last_reading"]["smoke"] is True
        assert dev["battery_pct"] == 90 and dev["place"]["household"] == "b1-u1-101"
        assert dev["responsible"]["id"] == "w-g1"
        hist = httpx.get(f"{svc.api}/api/devices/smoke-101/readings", params={"start": now - 10}).json()
        assert [p["seq"] for p in hist["items"]] == [1, 2]
        listing = httpx.get(f"{svc.api}/api/devices", params={"grid": "g2"}).json()
        assert {d["id"] for d in listing["items"]} == {"gas-201", "heat-201"}
        assert httpx.get(f"{svc.api}/api/devices/nope").json()["error"]["code"] == "not_found"
        pub.close()


BAD = [
    ("gridwatch/tiny/gas-101/state", b"\x00\x01garbage", "not_json"),
    ("gridwatch/tiny/gas-101/state", b"[1,2,3]", "not_object"),
    ("gridwatch/tiny/gas-101/state", b'{"lel_pct": "lots"}', "wrong_type"),
    ("gridwatch/tiny/gas-101/state", b'{"lel_pct": 250}', "out_of_range"),
    ("gridwatch/tiny/ghost-9/state", b'{"lel_pct": 1}', "unknown_device"),
    ("gridwatch/tiny/door-102/state", b'{"lel_pct": 1}', "kind_mismatch"),
    ("gridwatch/tiny/gas-101/state", b'{"lel_pct": 1, "pad": "' + b"x" * 5000 + b'"}', "oversize"),
    ("gridwatch/tiny/gas-101/status", b"{}", "bad_topic"),
    ("gridwatch/tiny/gas-101/availability", b"maybe", "bad_availability"),
]


def test_every_bad_payload_becomes_a_dead_letter_and_nothing_valid_is_lost(broker, site_file, tmp_path):
    with ServiceThread(site=site_file, data_dir=tmp_path / "data", mqtt=broker.url,
                       mqtt_client_id="it-bad") as svc:
        pub = Publisher(broker.host, broker.port)
        now = time.time()
        items: list = []
        for i, (topic, payload, _) in enumerate(BAD):
            items.append((topic, payload))
            items.append(("gridwatch/tiny/gas-201/state", {"lel_pct": 0.5, "ts": now, "seq": i}))
        pub.publish_all(items)
        wait_for(lambda: svc.rt.pipeline.stats.received >= len(items), what="every message")
        body = httpx.get(f"{svc.api}/api/dead-letters").json()
        assert body["counts"] == {reason: 1 for _, _, reason in BAD}
        assert {d["reason"] for d in body["items"]} == {reason for _, _, reason in BAD}
        assert svc.rt.readings.count("gas-201") == len(BAD)
        health = httpx.get(f"{svc.api}/api/health").json()
        assert health["status"] == "ok" and health["mqtt"]["connected"]
        assert health["ingest"]["dead_letters"] == {reason: 1 for _, _, reason in BAD}
        pub.close()


def test_embedded_broker_zero_setup(site_file, tmp_path):
    port = free_port()
    with ServiceThread(site=site_file, data_dir=tmp_path / "data", mqtt_port=port) as svc:
        assert svc.rt.broker is not None
        pub = Publisher("127.0.0.1", port, login=svc.rt.broker.login("simulator"))
        pub.publish_all([("gridwatch/tiny/smoke-101/state", {"smoke": True, "seq": 1})])
        a = wait_for(lambda: alerts(svc.api, kind="smoke"), what="the smoke alert")[0]
        assert a["assignee"]["id"] == "w-g1"
        pub.close()


def test_manual_clock_endpoint_exists_only_in_manual_mode(broker, site_file, tmp_path):
    with ServiceThread(site=site_file, data_dir=tmp_path / "a", mqtt=broker.url,
                       mqtt_client_id="it-clock-a") as svc:
        r = httpx.post(f"{svc.api}/api/clock", json={"advance_s": 10})
        assert r.status_code in (404, 405)
    with ServiceThread(site=site_file, data_dir=tmp_path / "b", mqtt=broker.url, clock="manual",
                       admin_token="clock-admin-token-0123456789abcdef", mqtt_client_id="it-clock-b") as svc:
        t0 = svc.rt.clock()
        assert httpx.post(f"{svc.api}/api/clock", json={"advance_s": 10}).status_code == 401
        pub = Publisher(broker.host, broker.port)
        pub.publish_all([("gridwatch/tiny/gas-201/state", {"lel_pct": 0.0, "seq": 1})])
        wait_for(lambda: svc.rt.pipeline.stats.stored >= 1, what="the reading")
        headers = {"Authorization": "Bearer clock-admin-token-0123456789abcdef"}
        r = httpx.post(f"{svc.api}/api/clock", json={"advance_s": 3 * 86400}, headers=headers)
        assert r.status_code == 200 and r.json()["now"] == pytest.approx(t0 + 3 * 86400)
        offline = wait_for(lambda: alerts(svc.api, headers, kind="offline", device="gas-201"),
                           what="offline alert")
        assert offline[0]["assignee"]["id"] == "w-g2"
        assert httpx.post(f"{svc.api}/api/clock", json={"advance_s": -1}, headers=headers).status_code == 422
        pub.close()


def test_silences_inhibitions_and_retired_devices_survive_a_restart(broker, tmp_path):
    """A restart keeps a silence in force (and ends it on time), keeps a retired device
    out of service, and keeps an inhibited alert inhibited until its gateway is back."""
    site = tiny_site()
    site["buildings"][0].setdefault("devices", []).append(
        {"id": "gw-b1", "kind": "gateway", "heartbeat_s": 60})
    site_file = write_site(tmp_path / "site.yaml", site)
    token = "restart-admin-token-0123456789abcd"
    auth = {"Authorization": f"Bearer {token}"}

    def service(name: str) -> ServiceThread:
        return ServiceThread(site=site_file, data_dir=tmp_path / "data", mqtt=broker.url,
                             mqtt_client_id=f"it-restart-{name}", clock="manual", admin_token=token)

    def post(svc, path, body):
        r = httpx.post(f"{svc.api}{path}", json=body, headers=auth, timeout=10)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def publish(svc, items):
        pub = Publisher(broker.host, broker.port, client_id=f"it-restart-pub-{len(items)}")
        try:
            pub.publish_all(items)
        finally:
            pub.close()

    def alert(svc, device, hazard):
        items = httpx.get(f"{svc.api}/api/alerts", params={"device": device, "kind": hazard},
                          headers=auth, timeout=5).json()["items"]
        return items[0] if items else None

    svc = service("a").start()
    try:
        t0 = svc.rt.clock()
        silence = post(svc, "/api/silences", {"reason": "检修", "device_ids": ["smoke-101"],
                                              "duration_s": 3600})
        post(svc, "/api/devices/gas-102/retire", {"note": "拆除"})
        publish(svc, [("gridwatch/tiny/gw-b1/availability", "online"),
                      ("gridwatch/tiny/gw-b1/availability", "offline"),
                      ("gridwatch/tiny/gas-201/state", {"lel_pct": 0.0, "ts": t0, "seq": 1}),
                      ("gridwatch/tiny/door-b1u1/state", {"open": False, "ts": t0, "seq": 1})])
        wait_for(lambda: alert(svc, "gw-b1", "offline"), what="the gateway's offline alert")
        post(svc, "/api/clock", {"advance_s": 1400})  # door-b1u1 silent past its limit
        door = wait_for(lambda: alert(svc, "door-b1u1", "offline"), what="the door's offline alert")
        assert door["suppression"]["inhibited_by"] == alert(svc, "gw-b1", "offline")["id"]
    finally:
        svc.stop()

    svc = service("b").start()
    try:
        now = svc.rt.clock()
        publish(svc, [("gridwatch/tiny/smoke-101/state", {"smoke": True, "ts": now, "seq": 1}),
                      ("gridwatch/tiny/gas-102/state", {"lel_pct": 40.0, "ts": now, "seq": 1}),
                      ("gridwatch/tiny/gas-201/state", {"lel_pct": 40.0, "ts": now, "seq": 2})])
        wait_for(lambda: alert(svc, "gas-201", "gas"), what="a live alarm")
        smoke = wait_for(lambda: alert(svc, "smoke-101", "smoke"), what="the silenced alarm")
        assert smoke["suppression"]["silenced_by"] == silence["id"]  # the silence held across the restart
        assert alert(svc, "gas-102", "gas") is None  # retired stays retired (40 %LEL alarms at once)
        assert httpx.get(f"{svc.api}/api/devices/gas-102", headers=auth).json()["retired"] is True
        assert alert(svc, "door-b1u1", "offline")["suppression"]["inhibited_by"]
        # the silence ends on time after the restart; the gateway comes back, and 5
        # minutes later the still-silent door sensor speaks for itself
        post(svc, "/api/clock", {"advance_s": 3700 - (now - t0)})
        smoke = alert(svc, "smoke-101", "smoke")
        assert smoke["suppression"] is None
        assert [e["action"] for e in httpx.get(f"{svc.api}/api/alerts/{smoke['id']}", headers=auth)
                .json()["timeline"]][-1] == "unsilenced"
        publish(svc, [("gridwatch/tiny/gw-b1/availability", "online"),
                      ("gridwatch/tiny/gw-b1/state", {"rssi_dbm": -60, "ts": svc.rt.clock(), "seq": 5})])
        wait_for(lambda: not alert(svc, "gw-b1", "offline")["active"], what="the gateway back")
        post(svc, "/api/clock", {"advance_s": 200})
        assert alert(svc, "door-b1u1", "offline")["suppression"]["inhibited_by"]  # its grace
        publish(svc, [("gridwatch/tiny/gw-b1/state", {"rssi_dbm": -61, "ts": svc.rt.clock(), "seq": 6})])
        wait_for(lambda: svc.rt.pipeline.stats.received >= 6, what="the heartbeat")
        post(svc, "/api/clock", {"advance_s": 101})
        door = alert(svc, "door-b1u1", "offline")
        assert door["suppression"] is None and door["active"]
        timeline = httpx.get(f"{svc.api}/api/alerts/{door['id']}", headers=auth).json()["timeline"]
        assert [e["action"] for e in timeline][-1] == "uninhibited"
    finally:
        svc.stop()
