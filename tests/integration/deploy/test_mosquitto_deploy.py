"""The Mosquitto configuration deploy/ ships, on a real Mosquitto with TLS and the
generated credentials: who may connect, publish and read, whose client id is whose,
and what a ``kill -9`` keeps."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest

from .conftest import (
    DEVICES,
    DeployMosquitto,
    Stack,
    TlsClient,
    load_make_credentials,
    make_certs,
    tls_handshake_error,
)

pytestmark = pytest.mark.integration


def device(broker: DeployMosquitto, stack: Stack, name: str, **kw) -> TlsClient:
    return TlsClient(broker.host, broker.port, client_id=kw.pop("client_id", f"t-{name}"),
                     username=name, password=stack.passwords[name], ca=stack.tls / "ca.crt", **kw)


def service(broker: DeployMosquitto, stack: Stack, client_id: str, **kw) -> TlsClient:
    """The service user on the service listener, with the service's client certificate."""
    return TlsClient(broker.host, broker.service_port, client_id=client_id, username="gridwatch",
                     password=stack.passwords["gridwatch"], ca=stack.tls / "ca.crt",
                     cert=(stack.tls / "service.crt", stack.tls / "service.key"), **kw)


def test_make_credentials_writes_one_pattern_and_keeps_the_csv_apart(stack: Stack) -> None:
    acl = (stack.creds / "acl").read_text()
    assert acl.count("pattern ") == 1 and "pattern readwrite gridwatch/tiny/%u/#" in acl
    assert [line for line in acl.splitlines() if line.startswith("user ")] == [
        "user gridwatch", "user zigbee2mqtt"]
    assert not (stack.creds / "credentials.csv").exists()
    assert (stack.csv_dir / "credentials.csv").stat().st_mode & 0o077 == 0
    make = load_make_credentials()
    for reserved in ("gridwatch", "zigbee2mqtt", "alerts", "healthcheck"):
        with pytest.raises(SystemExit, match="reserved"):
            make.write_credentials("tiny", ["gas-1", reserved], stack.creds / "x")


def test_a_device_publishes_only_its_own_topics(broker: DeployMosquitto, stack: Stack) -> None:
    svc = service(broker, stack, "it-svc-acl")
    gas = device(broker, stack, "gas-101")
    bridge = TlsClient(broker.host, broker.port, client_id="z2m", username="zigbee2mqtt",
                       password=stack.passwords["zigbee2mqtt"], ca=stack.tls / "ca.crt")
    try:
        assert svc.accepted and gas.accepted and bridge.accepted
        svc.client.subscribe([("gridwatch/#", 1), ("zigbee2mqtt/#", 1)])
        assert svc.subscribed.wait(10)
        gas.client.subscribe("gridwatch/tiny/smoke-101/#", 1)  # another device's: never delivered
        for topic in (
            "gridwatch/tiny/gas-101/state",  # its own: allowed
            "gridwatch/tiny/smoke-101/state",  # another device's: dropped
            "gridwatch/tiny/alerts",  # the service's notices: dropped
            "gridwatch/other/gas-101/state",  # another community's: dropped
            "zigbee2mqtt/kitchen-gas",  # the bridge's: dropped
        ):
            gas.client.publish(topic, b"{}", qos=1).wait_for_publish(10)
        bridge.client.publish("zigbee2mqtt/kitchen-gas", b"{}", qos=1).wait_for_publish(10)
        bridge.client.publish("gridwatch/tiny/smoke-101/state", b"{}", qos=1).wait_for_publish(10)
        svc.client.publish("gridwatch/tiny/alerts", b"{}", qos=1).wait_for_publish(10)
        svc.client.publish("gridwatch/tiny/smoke-101/state", b"{}", qos=1).wait_for_publish(10)
        gas.client.publish("gridwatch/tiny/gas-101/marker", b"{}", qos=1).wait_for_publish(10)
        # One connection per publisher keeps order, and the marker is the last publish of
        # all: once it is here, anything allowed before it has been delivered too.
        assert svc.marker.wait(10)
        time.sleep(0.3)
        assert sorted(svc.topics()) == sorted([
            "gridwatch/tiny/gas-101/state", "zigbee2mqtt/kitchen-gas", "gridwatch/tiny/alerts",
            "gridwatch/tiny/gas-101/marker"])
        assert gas.received == []
    finally:
        for c in (svc, gas, bridge):
            c.close()


def test_a_device_cannot_take_the_ingest_client_id(broker: DeployMosquitto, stack: Stack) -> None:
    ingest_id = "gridwatch-ingest-tiny-3f1c0ffee"
    svc = service(broker, stack, ingest_id, clean_session=False)
    attackers: list[TlsClient] = []
    try:
        assert svc.accepted
        svc.client.subscribe("gridwatch/tiny/#", 1)
        assert svc.subscribed.wait(10)
        # On the device listener the client id becomes the user name: each attempt only
        # replaces the device's own previous connection.
        attackers.extend(device(broker, stack, "smoke-101", client_id=ingest_id) for _ in range(5))
        assert attackers[-1].accepted
        # and the device cannot reach the service listener, which wants the service's
        # client certificate
        on_service_port = TlsClient(broker.host, broker.service_port, client_id=ingest_id,
                                    username="smoke-101", password=stack.passwords["smoke-101"],
                                    ca=stack.tls / "ca.crt")
        attackers.append(on_service_port)
        assert not on_service_port.accepted
        gas = device(broker, stack, "gas-101")
        gas.client.publish("gridwatch/tiny/gas-101/marker", b"{}", qos=1).wait_for_publish(10)
        assert svc.marker.wait(10)
        assert not svc.disconnected.is_set()
        gas.close()
    finally:
        for c in (svc, *attackers):
            c.close()
    assert f"as {ingest_id}" in broker.log_tail(200)  # the service's own connection
    assert "as smoke-101" in broker.log_tail(200)  # the attackers', renamed


def test_anonymous_wrong_password_and_wrong_certificates_are_refused(
    broker: DeployMosquitto, stack: Stack, tmp_path: Path
) -> None:
    other = make_certs(tmp_path / "other", "localhost")  # a CA the broker does not know
    ca = stack.tls / "ca.crt"
    cases = {
        "anonymous": TlsClient(broker.host, broker.port, client_id="anon", ca=ca),
        "wrong password": TlsClient(broker.host, broker.port, client_id="wp", username="gas-101",
                                    password="not-its-password", ca=ca),
        "unknown user": TlsClient(broker.host, broker.port, client_id="uu", username="gas-999",
                                  password="x", ca=ca),
        "plain MQTT on the TLS port": TlsClient(broker.host, broker.port, client_id="plain",
                                                username="gas-101",
                                                password=stack.passwords["gas-101"]),
        "service listener without a client certificate": TlsClient(
            broker.host, broker.service_port, client_id="nocert", username="gridwatch",
            password=stack.passwords["gridwatch"], ca=ca),
        "service listener, client certificate of another CA": TlsClient(
            broker.host, broker.service_port, client_id="othercert", username="gridwatch",
            password=stack.passwords["gridwatch"], ca=ca,
            cert=(other / "service.crt", other / "service.key")),
        "service certificate with a wrong password": TlsClient(
            broker.host, broker.service_port, client_id="certwp", username="gridwatch",
            password="nope", ca=ca, cert=(stack.tls / "service.crt", stack.tls / "service.key")),
    }
    control = device(broker, stack, "gas-101")
    try:
        assert control.accepted
        assert {name for name, c in cases.items() if c.accepted} == set()
        # and a client does not trust a broker whose certificate another CA signed
        assert tls_handshake_error(broker.host, broker.port, ca) is None
        err = tls_handshake_error(broker.host, broker.port, other / "ca.crt")
        assert isinstance(err, ssl.SSLCertVerificationError)
    finally:
        for c in (*cases.values(), control):
            c.close()


def publish_then_kill(broker: DeployMosquitto, stack: Stack, n: int) -> int:
    """Publish ``n`` QoS 1 messages to a persistent session while its subscriber is
    offline, kill -9 the broker once all are acknowledged, restart it, and count."""
    sub = service(broker, stack, "it-persist", clean_session=False)
    assert sub.accepted, (sub.reason, sub.error, broker.log_tail())
    sub.client.subscribe("gridwatch/tiny/#", 1)
    assert sub.subscribed.wait(10)
    sub.close()
    pub = device(broker, stack, "gas-201")
    infos = [pub.client.publish("gridwatch/tiny/gas-201/state", b'{"seq": %d}' % i, qos=1)
             for i in range(n)]
    for info in infos:
        info.wait_for_publish(60)
    assert all(info.is_published() for info in infos)  # every one acknowledged
    pub.close()
    # The broker writes its store after each change, right after the acknowledgement:
    # give that write a moment (see deploy/README.md for the window this leaves).
    time.sleep(0.5)
    broker.kill()
    broker.start()
    sub = service(broker, stack, "it-persist", clean_session=False)
    deadline = time.monotonic() + 20
    seen = -1
    while time.monotonic() < deadline and len(sub.received) != seen:
        seen = len(sub.received)
        time.sleep(1.0)
    sub.close()
    return len({p for _, p in sub.received})


def test_kill_9_loses_no_acknowledged_message(stack: Stack) -> None:
    n = 300
    with DeployMosquitto(stack) as broker:
        assert publish_then_kill(broker, stack, n) == n
    # The setting it replaced (save every 60 s) loses them all: the check above can fail.
    timed = (("autosave_on_changes true\nautosave_interval 1",
              "autosave_on_changes false\nautosave_interval 60"),)
    with DeployMosquitto(stack, conf_edit=timed) as broker:
        assert publish_then_kill(broker, stack, n) == 0


def test_every_device_of_the_site_has_a_login(stack: Stack) -> None:
    users = {line.split(":", 1)[0] for line in (stack.creds / "passwd").read_text().splitlines()}
    assert users == {"gridwatch", "zigbee2mqtt", "healthcheck", *DEVICES}
