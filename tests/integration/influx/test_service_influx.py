"""The whole service on ``--store influx``: MQTT in, InfluxDB out, through an outage.

Real Mosquitto, real influxd (both on free loopback ports), the real runtime. The
database is stopped in the middle of a stream while devices keep publishing, then
started again: every reading ends up in InfluxDB exactly once. With a spool too small
for the outage, the service raises a data-gap alert, keeps the refused messages
unacknowledged at the broker, and still ends with every reading.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.harness import Publisher, ServiceThread, wait_for, write_site
from tests.servers import MosquittoServer
from tests.sites import tiny_site

pytestmark = pytest.mark.integration

DEVICES = ("gas-101", "smoke-101", "water-101", "gas-201")


@pytest.fixture(scope="module")
def broker():
    with MosquittoServer() as b:
        yield b


def readings(start_seq: int, n: int, t0: float) -> list[tuple[str, dict]]:
    """``n`` readings per device, seq ``start_seq``... (quiet values: no alerts)."""
    out = []
    for k in range(start_seq, start_seq + n):
        for d in DEVICES:
            payload = {"ts": t0 + k * 0.01, "seq": k, "battery_pct": 80 + k % 7,
                       "rssi_dbm": -60 - k % 11}
            if d.startswith("gas"):
                payload["lel_pct"] = (k % 5) * 0.1
            out.append((f"gridwatch/tiny/{d}/state", payload))
    return out


def stored(svc: ServiceThread) -> int:
    assert svc.rt is not None
    return svc.rt.readings.count()


def health(svc: ServiceThread) -> dict:
    return httpx.get(f"{svc.api}/api/health", timeout=5).json()["store"]


def test_outage_mid_stream_ends_with_the_exact_count(broker, own_influx_server, database, tmp_path):
    influx = own_influx_server
    site = write_site(tmp_path / "site.yaml", tiny_site())
    t0 = time.time() - 30
    with ServiceThread(site=site, data_dir=tmp_path / "data", mqtt=broker.url,
                       mqtt_client_id="it-influx", store="influx", influx_url=influx.url,
                       influx_database=database) as svc:
        pub = Publisher(broker.host, broker.port, client_id="it-influx-pub")
        pub.publish_all(readings(1, 200, t0))
        wait_for(lambda: stored(svc) == 800, 60, "the first 800 readings in InfluxDB")
        influx.stop()
        pub.publish_all(readings(201, 300, t0))  # acknowledged: they are in the spool
        h = wait_for(lambda: (x := health(svc))["spool_records"] > 0 and x, 30, "the spool")
        assert h["reachable"] is False and h["data_gap"] is False
        influx.start()
        pub.publish_all(readings(501, 100, t0))
        wait_for(lambda: stored(svc) == 2400, 90, "all 2,400 readings after the outage")
        assert health(svc)["spool_records"] == 0
        # the readings endpoint reads InfluxDB
        hist = httpx.get(f"{svc.api}/api/devices/gas-101/readings",
                         params={"start": t0, "end": t0 + 100, "limit": 1000}, timeout=10).json()
        assert [p["seq"] for p in hist["items"]] == list(range(1, 601))
        pub.close()
        # no alert about the store: the outage was shorter than a minute and lost nothing
        alerts = httpx.get(f"{svc.api}/api/alerts", params={"limit": 1000}, timeout=5).json()
        assert not [a for a in alerts["items"] if a["hazard"] in ("data_gap", "store_unreachable")]


def test_full_spool_raises_a_data_gap_alert_and_still_loses_nothing(
    broker, own_influx_server, database, tmp_path, monkeypatch
):
    influx = own_influx_server
    monkeypatch.setenv("GRIDWATCH_INFLUX_SPOOL_MAX_BYTES", str(1 << 16))
    monkeypatch.setenv("GRIDWATCH_INFLUX_GZIP_LEVEL", "0")  # ~100 B a line: 64 KiB fill fast
    site = write_site(tmp_path / "site.yaml", tiny_site())
    t0 = time.time() - 30
    with ServiceThread(site=site, data_dir=tmp_path / "data", mqtt=broker.url,
                       mqtt_client_id="it-influx-gap", store="influx", influx_url=influx.url,
                       influx_database=database) as svc:
        pub = Publisher(broker.host, broker.port, client_id="it-influx-gap-pub")
        pub.publish_all(readings(1, 50, t0))
        wait_for(lambda: stored(svc) == 200, 60, "the first readings")
        influx.stop()
        items = readings(51, 1500, t0)  # 6,000 readings: far more than 64 KiB of lines
        for i in range(0, len(items), 500):  # the broker holds what the service cannot take
            for topic, payload in items[i:i + 500]:
                pub.publish(topic, payload)
        assert svc.rt is not None
        wait_for(lambda: svc.rt.check_store() or health(svc)["data_gap"], 60, "the data gap")
        gap = wait_for(
            lambda: httpx.get(f"{svc.api}/api/alerts", params={"kind": "data_gap"},
                              timeout=5).json()["items"],
            30, "the data-gap alert",
        )[0]
        assert gap["severity"] == "critical" and gap["status"] == "raised"
        assert "spool is full" in httpx.get(f"{svc.api}/api/alerts/{gap['id']}",
                                            timeout=5).json()["timeline"][0]["note"]
        influx.start()
        wait_for(lambda: stored(svc) == 6200, 120, "every reading once InfluxDB is back")
        wait_for(lambda: not health(svc)["data_gap"], 30, "the gap to close")
        svc.rt.check_store()
        after = httpx.get(f"{svc.api}/api/alerts/{gap['id']}", timeout=5).json()
        assert after["status"] == "closed" and after["active"] is False
        assert [e["action"] for e in after["timeline"]] == ["raised", "cleared"]
        pub.close()
