"""Notifications end to end: real Mosquitto, the real service on the manual clock, and
the notices landing on a real local HTTP server through apprise's JSON webhook
(``json://``), standing in for WeCom / DingTalk / Feishu / SMS gateways.

A critical alarm reaches the worker on two channels and the assistant; nobody acts, so
the grid leader and then the deputy hear of it; a channel that fails recovers on retry;
a dead channel falls back to the person's next one; a slow channel delays nobody else;
and a restart in the middle of an escalation neither re-sends the alarm nor forgets the
pending step. Every attempt is on record at ``/api/alerts/{id}/notifications``, and
integrations get every notice on ``gridwatch/<community>/alerts``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.integration.harness import Publisher, ServiceThread, wait_for, write_site
from tests.servers import MosquittoServer, free_port
from tests.sites import tiny_site

pytestmark = pytest.mark.integration

TOKEN = "notify-test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Webhook:
    """An HTTP server on 127.0.0.1 that records every JSON POST by path.

    ``fail[path] = n`` answers 500 to the next n posts on a path; ``slow[path] = s``
    holds them for s seconds (and records when they started and ended).
    """

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.fail: dict[str, int] = {}
        self.slow: dict[str, float] = {}
        self.slow_done: dict[str, float] = {}
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path
                if path in hook.slow:
                    time.sleep(hook.slow[path])
                with hook.lock:
                    if hook.fail.get(path, 0) > 0:
                        hook.fail[path] -= 1
                        status = 500
                    else:
                        status = 200
                        hook.received.append({"path": path, "at": time.monotonic(),
                                              **json.loads(body or b"{}")})
                    if path in hook.slow:
                        hook.slow_done[path] = time.monotonic()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def got(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.received if r["path"] == f"/{path}"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def broker():
    with MosquittoServer() as b:
        yield b


@pytest.fixture
def hook():
    h = Webhook()
    yield h
    h.close()


def site(hook: Webhook, dead_port: int) -> dict:
    s = tiny_site()
    urls = {
        "w-g1": [hook.url("w-g1"), hook.url("w-g1-second")],
        "w-g1a": [hook.url("w-g1a")],
        "w-g2": [hook.url("flaky")],
        "w-pm": [f"json://127.0.0.1:{dead_port}/gone", hook.url("slow")],
        "w-deputy": [f"json://127.0.0.1:{dead_port}/gone", hook.url("w-deputy-fallback")],
        "w-head": [hook.url("w-head")],
    }
    for w in s["workers"]:
        w["notify"] = urls.get(w["id"], [])
    s["workers"].append({"id": "w-lead", "name": "周组长", "role": "grid_leader", "language": "en",
                         "notify": [hook.url("w-lead")]})
    s["grids"][0]["leader"] = "w-lead"
    return s


def service(tmp_path, broker, hook, dead_port, name) -> ServiceThread:
    site_file = write_site(tmp_path / "site.yaml", site(hook, dead_port))
    return ServiceThread(site=site_file, data_dir=tmp_path / "data", mqtt=broker.url,
                         mqtt_client_id=f"it-notify-{name}", clock="manual", admin_token=TOKEN,
                         notify_backoff_s=0.2, notify_timeout_s=2.0,
                         public_url="http://gw.example")


def advance(svc: ServiceThread, seconds: float) -> None:
    r = httpx.post(f"{svc.api}/api/clock", json={"advance_s": seconds}, headers=AUTH, timeout=10)
    assert r.status_code == 200, r.text


def alert_of(svc: ServiceThread, device: str) -> dict:
    def find():
        items = httpx.get(f"{svc.api}/api/alerts", params={"device": device}, headers=AUTH,
                          timeout=5).json()["items"]
        return items[0] if items else None
    return wait_for(find, 20, f"the alert of {device}")


def attempts(svc: ServiceThread, alert_id: int) -> dict:
    r = httpx.get(f"{svc.api}/api/alerts/{alert_id}/notifications", headers=AUTH, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


class AlertsTopic:
    def __init__(self, broker: MosquittoServer) -> None:
        self.messages: list[dict] = []
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="it-notify-alerts-sub")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("gridwatch/tiny/alerts", 1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = lambda c, u, m: self.messages.append(orjson.loads(m.payload))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert ready.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_critical_alarm_two_channels_escalation_fallback_and_a_restart(broker, hook, tmp_path):
    dead_port = free_port()  # nothing listens there
    topic = AlertsTopic(broker)
    svc = service(tmp_path, broker, hook, dead_port, "a").start()
    try:
        pub = Publisher(broker.host, broker.port, client_id="it-notify-pub")
        pub.publish_all([("gridwatch/tiny/smoke-101/state",
                          {"smoke": True, "ts": svc.rt.clock(), "seq": 1})])
        pub.close()
        alert = alert_of(svc, "smoke-101")
        # the worker on two channels at once, the assistant on theirs
        first = wait_for(lambda: hook.got("w-g1") and hook.got("w-g1-second") and hook.got("w-g1a")
                         and hook.got("w-g1")[0], 20, "the alarm on both channels")
        assert first["title"].startswith("[报警] 紧急 烟雾报警")
        assert "1号楼" in first["message"] and "http://gw.example/#/alert/" in first["message"]
        assert hook.got("w-lead") == []
        # nobody acknowledges: 3 minutes later the grid leader hears of it, in English
        advance(svc, 181)
        lead = wait_for(lambda: hook.got("w-lead"), 20, "the grid leader")[0]
        assert lead["title"].startswith("[Escalated] CRITICAL Smoke alarm")
        # the integration topic carried each notice
        wait_for(lambda: {m["notice"] for m in topic.messages} >= {"alarm", "escalation"}, 10,
                 "notices on gridwatch/tiny/alerts")
        record = attempts(svc, alert["id"])
        ok = {(a["recipient"], a["channel"]) for a in record["items"] if a["ok"]}
        assert ("w-g1", f"json://127.0.0.1:{hook.port}") in ok
        assert record["escalation"]["next_step"] == 2
        assert "token" not in json.dumps(record)  # channels are shown without secrets
        timeline = httpx.get(f"{svc.api}/api/alerts/{alert['id']}", headers=AUTH).json()["timeline"]
        assert "escalated" in [e["action"] for e in timeline]
    finally:
        svc.stop()
    alarms_before = len([r for r in hook.received if r["title"].startswith("[报警]")])

    # a restart in the middle of the escalation: the deputy's step (10 min) is still due
    svc = service(tmp_path, broker, hook, dead_port, "b").start()
    try:
        advance(svc, 600)
        # critical: the deputy's two channels at once; the dead one is tried 1 + 3 times
        deputy = wait_for(lambda: hook.got("w-deputy-fallback"), 30, "the deputy's second channel")
        assert deputy[0]["title"].startswith("[升级上报]")

        def dead_tries():
            items = attempts(svc, alert["id"])["items"]
            return [a for a in items if a["recipient"] == "w-deputy" and not a["ok"]]
        gone = wait_for(lambda: len(dead_tries()) == 4 and dead_tries(), 30, "four tries")
        assert [a["attempt"] for a in gone] == [1, 2, 3, 4]
        assert all(a["channel"] == f"json://127.0.0.1:{dead_port}" for a in gone)
        # nobody got the alarm again
        assert len([r for r in hook.received if r["title"].startswith("[报警]")]) == alarms_before
        # acknowledging stops the escalation
        r = httpx.post(f"{svc.api}/api/alerts/{alert['id']}/ack", json={"actor": "w-g1"},
                       headers=AUTH)
        assert r.status_code == 200
        n = len(hook.received)
        advance(svc, 1800)
        time.sleep(0.5)
        assert not [r for r in hook.received[n:] if "w-head" in r["path"]]
    finally:
        svc.stop()
        topic.close()


def test_a_failing_channel_recovers_and_a_slow_one_delays_nobody(broker, hook, tmp_path):
    hook.fail["/flaky"] = 2
    hook.slow["/slow"] = 1.5
    with service(tmp_path, broker, hook, free_port(), "c") as svc:
        pub = Publisher(broker.host, broker.port, client_id="it-notify-pub2")
        now = svc.rt.clock()
        pub.publish_all([
            ("gridwatch/tiny/heat-201/state", {"temp_c": 95.0, "ts": now, "seq": 1}),  # w-g2: flaky
            ("gridwatch/tiny/water-101/state", {"water_leak": True, "ts": now, "seq": 1}),  # w-g1 + slow w-pm
        ])
        wait_for(lambda: svc.rt.pipeline.stats.stored >= 2, 20, "the readings")
        advance(svc, 11)  # a leak is an alert after 10 s wet
        pub.publish_all([("gridwatch/tiny/water-101/state",
                          {"water_leak": True, "ts": now + 11, "seq": 2})])
        pub.close()
        heat = alert_of(svc, "heat-201")
        wait_for(lambda: hook.got("flaky"), 30, "the flaky channel to recover")
        record = attempts(svc, heat["id"])
        tries = [(a["attempt"], a["ok"]) for a in record["items"] if a["recipient"] == "w-g2"]
        assert tries == [(1, False), (2, False), (3, True)]
        assert "500" in record["items"][0]["error"]
        # the water leak (a warning: one channel at a time): the property manager's first
        # channel is dead, so after its retries their second, slow one takes over; the
        # worker's notice arrived long before, on their first channel only
        wait_for(lambda: hook.got("slow"), 30, "the property manager's fallback")
        worker = [r for r in hook.got("w-g1") if "漏水" in r["title"]]
        assert worker and worker[0]["at"] < hook.slow_done["/slow"]
        assert not [r for r in hook.got("w-g1-second") if "漏水" in r["title"]]
        water = alert_of(svc, "water-101")
        pm = [(a["attempt"], a["ok"]) for a in attempts(svc, water["id"])["items"]
              if a["recipient"] == "w-pm"]
        assert pm == [(1, False), (2, False), (3, False), (4, False), (1, True)]
        health = httpx.get(f"{svc.api}/api/health", timeout=5,
                           headers={"Authorization": f"Bearer {TOKEN}"}).json()["notifications"]
        assert health["delivered"] >= 3 and health["in_flight"] == 0


class Mailbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message; ``refuse``
    answers the next n messages with a temporary failure (451)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller  # noqa: PLC0415 - test extra

        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse = 0
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                if box.refuse > 0:
                    box.refuse -= 1
                    return "451 try again later"
                box.messages.append((list(envelope.rcpt_tos), envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=gridwatch@example.com&to={to}"

    def close(self) -> None:
        self.controller.stop()


def test_email_through_a_real_smtp_server_with_a_refusal_and_a_retry(broker, hook, tmp_path):
    import email  # noqa: PLC0415
    from email.header import decode_header, make_header  # noqa: PLC0415

    box = Mailbox()
    box.refuse = 1  # the first delivery is refused: the retry gets through
    s = tiny_site()
    for w in s["workers"]:
        w["notify"] = {"w-g1": [box.url("zhang@example.com"), hook.url("w-g1")],
                       "w-g1a": [box.url("zhao@example.com")]}.get(w["id"], [])
    site_file = write_site(tmp_path / "site.yaml", s)
    svc = ServiceThread(site=site_file, data_dir=tmp_path / "data", mqtt=broker.url,
                        mqtt_client_id="it-notify-smtp", clock="manual", admin_token=TOKEN,
                        notify_backoff_s=0.2, notify_timeout_s=5.0,
                        public_url="http://gw.example").start()
    try:
        pub = Publisher(broker.host, broker.port, client_id="it-notify-smtp-pub")
        pub.publish_all([("gridwatch/tiny/gas-101/state",
                          {"lel_pct": 30.0, "ts": svc.rt.clock(), "seq": 1})])
        pub.close()
        alert = alert_of(svc, "gas-101")
        got = wait_for(lambda: {r for rs, _ in box.messages for r in rs} >= {"zhang@example.com",
                                                                           "zhao@example.com"}
                       and box.messages, 30, "both e-mails")
        to_zhang = next(m for rs, m in got if "zhang@example.com" in rs)
        msg = email.message_from_bytes(to_zhang)
        subject = str(make_header(decode_header(msg["Subject"])))
        assert subject.startswith("[报警] 紧急") and "燃气" in subject
        text = next(p.get_payload(decode=True).decode() for p in msg.walk()
                    if p.get_content_type() == "text/plain")
        assert "1号楼" in text and "101" in text and f"http://gw.example/#/alert/{alert['id']}" in text
        # critical: the webhook channel too, at once
        assert wait_for(lambda: hook.got("w-g1"), 10, "the second channel")
        record = attempts(svc, alert["id"])
        mail = [a for a in record["items"] if a["channel"].startswith("mailto")]
        assert any(not a["ok"] for a in mail) and any(a["ok"] for a in mail)  # refused, then sent
        assert all("example.com" not in a["channel"] for a in mail)  # no addresses in the record
        # a device taken out of service: its worker hears of it (设备注销)
        r = httpx.post(f"{svc.api}/api/devices/water-101/retire", json={"note": "拆除"},
                       headers=AUTH, timeout=10)
        assert r.status_code == 200, r.text

        def retired_mail():
            for rs, m in box.messages:
                subject = str(make_header(decode_header(email.message_from_bytes(m)["Subject"])))
                if "zhang@example.com" in rs and "设备注销" in subject:
                    return subject
            return None
        assert "101" in wait_for(retired_mail, 20, "the device-retired e-mail")
    finally:
        svc.stop()
        box.close()
