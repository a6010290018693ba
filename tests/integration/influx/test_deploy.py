"""The deploy/ stack as plain processes: Mosquitto with the deploy config, per-device
credentials and ACL; the Grafana dashboard's InfluxQL against a real InfluxDB."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from pathlib import Path
from types import ModuleType

import httpx
import paho.mqtt.client as mqtt
import pytest

from tests.servers import MosquittoServer

from .conftest import InfluxServer

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def load_make_credentials() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_credentials", DEPLOY / "mosquitto" / "make_credentials.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DeployMosquitto(MosquittoServer):
    """Mosquitto run with deploy/mosquitto/mosquitto.conf, paths and port moved to the test's."""

    def __init__(self, creds_dir: Path) -> None:
        super().__init__()
        self.creds_dir = creds_dir

    def _write_config(self) -> None:
        conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
        conf = conf.replace("/mosquitto/creds/", f"{self.creds_dir}/")
        conf = conf.replace("/mosquitto/data/", f"{self.data_dir}/")
        conf = re.sub(r"^listener 1883$", f"listener {self.port} {self.host}", conf, flags=re.M)
        conf = conf.replace("log_dest stdout", f"log_dest file {self.log_path}")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            conf += "\nuser root\n"  # as root Mosquitto would drop to a user that cannot read tmp
        self.config_path.write_text(conf)


class Client:
    """A paho client that waits for its CONNACK and records what it receives."""

    def __init__(self, broker: MosquittoServer, username: str, password: str) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{username}", protocol=mqtt.MQTTv311
        )
        self.client.username_pw_set(username, password)
        self.connack = threading.Event()
        self.reason: mqtt.ReasonCode | None = None
        self.received: list[str] = []
        self.marker = threading.Event()
        self.subscribed = threading.Event()

        def on_connect(client, userdata, flags, reason_code, properties):
            self.reason = reason_code
            self.connack.set()

        def on_message(client, userdata, msg):
            self.received.append(msg.topic)
            if msg.topic.endswith("/marker"):
                self.marker.set()

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.connack.wait(10)

    @property
    def accepted(self) -> bool:
        return self.reason is not None and not self.reason.is_failure

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_device_credentials_allow_only_its_own_topics(tmp_path: Path) -> None:
    make = load_make_credentials()
    creds = tmp_path / "creds"
    passwords = make.write_credentials(
        "tiny", ["gas-101", "smoke-101"], creds, service_password="svc-pw"
    )
    assert passwords["gridwatch"] == "svc-pw"
    assert (creds / "credentials.csv").stat().st_mode & 0o077 == 0
    with DeployMosquitto(creds) as broker:
        service = Client(broker, "gridwatch", "svc-pw")
        device = Client(broker, "gas-101", passwords["gas-101"])
        intruder = Client(broker, "gas-101", "wrong password")
        try:
            assert service.accepted and device.accepted
            assert not intruder.accepted
            service.client.subscribe("gridwatch/#", qos=1)
            assert service.subscribed.wait(10)
            for topic in (
                "gridwatch/tiny/gas-101/state",  # its own: allowed
                "gridwatch/tiny/smoke-101/state",  # another device's: denied
                "gridwatch/other/gas-101/state",  # another community's: denied
                "gridwatch/tiny/gas-101/marker",  # its own again, to know the others are done
            ):
                device.client.publish(topic, b"{}", qos=1).wait_for_publish(10)
            # One publisher, one subscriber: delivery keeps order, so once the marker is
            # here anything allowed before it would be here too.
            assert service.marker.wait(10)
            assert service.received == [
                "gridwatch/tiny/gas-101/state",
                "gridwatch/tiny/gas-101/marker",
            ]
        finally:
            for c in (service, device, intruder):
                c.close()


def test_dashboard_queries_parse_on_influxdb(influx_server: InfluxServer) -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "community.json").read_text())
    for db in ("gridwatch", "gridwatch_rollup"):
        httpx.post(
            f"{influx_server.url}/query", params={"q": f'CREATE DATABASE "{db}"'}
        ).raise_for_status()
    queries = [t["query"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"] for v in dashboard["templating"]["list"]]
    assert len(queries) >= 8
    for template in queries:
        q = template.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "1m")
        q = q.replace("$community", ".*").replace("$building", ".*")
        r = httpx.get(f"{influx_server.url}/query", params={"db": "gridwatch", "q": q})
        assert r.status_code == 200, (q, r.text)
        assert "error" not in r.json()["results"][0], (q, r.text)
