"""The service against the deploy Mosquitto over TLS with the generated credentials, and
the embedded broker's logins: nobody else can connect, take the ingest's client id,
or leave the ingest looking connected while it hears nothing."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.harness import Publisher, ServiceThread, wait_for, write_site
from tests.servers import free_port
from tests.sites import tiny_site

from .conftest import DeployMosquitto, Stack, TlsClient

pytestmark = pytest.mark.integration


def test_the_service_ingests_over_tls_and_publishes_its_alerts(
    broker: DeployMosquitto, stack: Stack, tmp_path: Path
) -> None:
    site = write_site(tmp_path / "site.yaml", tiny_site())
    password_file = tmp_path / "mqtt-password"
    password_file.write_text(stack.passwords["gridwatch"] + "\n")
    token = secrets.token_urlsafe(32)
    feed = TlsClient(broker.host, broker.service_port, client_id="it-feed", username="gridwatch",
                     password=stack.passwords["gridwatch"], ca=stack.tls / "ca.crt",
                     cert=(stack.tls / "service.crt", stack.tls / "service.key"))
    assert feed.accepted
    feed.client.subscribe("gridwatch/tiny/alerts", 1)
    assert feed.subscribed.wait(10)
    with ServiceThread(site=site, data_dir=tmp_path / "data", admin_token=token,
                       mqtt=f"mqtts://gridwatch@{broker.host}:{broker.service_port}",
                       mqtt_ca_file=stack.tls / "ca.crt", mqtt_cert_file=stack.tls / "service.crt",
                       mqtt_key_file=stack.tls / "service.key",
                       mqtt_password_file=password_file) as svc:
        client_id = svc.rt.ingest.target.client_id
        assert client_id.startswith("gridwatch-ingest-tiny-") and len(client_id) >= 40
        assert (tmp_path / "data" / "mqtt-client-id").read_text().strip() == client_id
        # A device's login that reuses the ingest's client id (the attack) only
        # replaces that device's own connection: the ingest stays connected.
        attackers = [TlsClient(broker.host, broker.port, client_id=client_id,
                               username="gas-201", password=stack.passwords["gas-201"],
                               ca=stack.tls / "ca.crt") for _ in range(5)]
        smoke = TlsClient(broker.host, broker.port, client_id=client_id, username="smoke-101",
                          password=stack.passwords["smoke-101"], ca=stack.tls / "ca.crt")
        assert smoke.accepted and attackers[-1].accepted
        smoke.client.publish("gridwatch/tiny/smoke-101/state",
                             orjson.dumps({"smoke": True, "ts": time.time(), "seq": 1}),
                             qos=1).wait_for_publish(10)
        smoke.close()
        auth = {"Authorization": f"Bearer {token}"}
        found = wait_for(lambda: httpx.get(f"{svc.api}/api/alerts", headers=auth,
                                           params={"kind": "smoke"}, timeout=5).json()["items"],
                         what="the smoke alert")
        assert found[0]["device_id"] == "smoke-101"
        assert svc.rt.ingest.connected.is_set()
        for c in attackers:
            c.close()
        notices = wait_for(lambda: feed.received, what="a notice on gridwatch/tiny/alerts")
        body = orjson.loads(notices[0][1])
        assert "smoke-101" in orjson.dumps(body).decode()
    feed.close()
    # a restart keeps the same client id, so the broker keeps the session's messages
    assert f"as {client_id}" in broker.log_tail(200)


def test_the_embedded_broker_lets_in_only_the_service_and_the_simulator(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site.yaml", tiny_site())
    port = free_port()
    with ServiceThread(site=site, data_dir=tmp_path / "data", mqtt_port=port) as svc:
        assert svc.rt.broker is not None
        ingest_id = svc.rt.ingest.target.client_id
        refused = [
            TlsClient("127.0.0.1", port, client_id=ingest_id),  # anonymous, the ingest's id
            TlsClient("127.0.0.1", port, client_id=ingest_id, username="gridwatch",
                      password="guessed"),
            TlsClient("127.0.0.1", port, client_id="x", username="simulator", password=""),
        ]
        assert [c.accepted for c in refused] == [False, False, False]
        for c in refused:
            c.close()
        assert svc.rt.ingest.connected.is_set()
        pub = Publisher("127.0.0.1", port, client_id="it-sim", login=svc.rt.broker.login("simulator"))
        pub.publish_all([("gridwatch/tiny/gas-201/state", {"lel_pct": 0.5, "seq": 1})])
        wait_for(lambda: svc.rt.pipeline.stats.received >= 1, what="the simulator's reading")
        pub.close()
        # A broker that goes away shows at once: the flag is not left set.
        svc.rt.broker.stop()
        wait_for(lambda: not svc.rt.ingest.connected.is_set(), 10, "the ingest to say it is down")


def test_simulate_speaks_tls_with_a_password_file(
    broker: DeployMosquitto, stack: Stack, tmp_path: Path
) -> None:
    """``gridwatch simulate --mqtt mqtts://...`` as a device would: its own login, TLS."""
    import subprocess
    import sys

    feed = TlsClient(broker.host, broker.service_port, client_id="it-sim-feed",
                     username="gridwatch", password=stack.passwords["gridwatch"],
                     ca=stack.tls / "ca.crt",
                     cert=(stack.tls / "service.crt", stack.tls / "service.key"))
    feed.client.subscribe("gridwatch/tiny/#", 1)
    assert feed.subscribed.wait(10)
    site = tiny_site()
    site["buildings"] = site["buildings"][:1]
    site["buildings"][0]["units"][0]["households"] = site["buildings"][0]["units"][0]["households"][:1]
    site["buildings"][0]["units"][0]["devices"] = []
    site["buildings"][0]["units"][0]["households"][0]["devices"] = [
        d for d in site["buildings"][0]["units"][0]["households"][0]["devices"] if d["id"] == "gas-101"]
    path = write_site(tmp_path / "one.yaml", site)
    (tmp_path / "pw").write_text(stack.passwords["gas-101"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridwatch.cli", "simulate", "--site", str(path), "--rate", "1000",
         "--quiet", "--client-id", "gas-101",
         "--mqtt", f"mqtts://gas-101@{broker.host}:{broker.port}",
         "--mqtt-ca-file", str(stack.tls / "ca.crt"), "--mqtt-password-file", str(tmp_path / "pw")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: any(t == "gridwatch/tiny/gas-101/state" for t, _ in feed.received),
                 30, "the simulator's report over TLS")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        feed.close()
    assert b"Traceback" not in err, err
