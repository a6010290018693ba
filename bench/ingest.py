"""Benchmark: drain a backlog of QoS 1 messages queued on a real Mosquitto for a
persistent session, end to end (decoded, stored in SQLite, evaluated by the rule
core, acknowledged), beside a bare paho-mqtt subscriber and ``mosquitto_sub``
draining the same backlog in the same run.

    .venv/bin/python -m bench.ingest [--messages 200000]

Each subscriber has its own persistent session, created before the publisher
starts, so the broker queues every message once per subscriber; the drains run
one after another, so they never compete for the 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from alerts.notify.types import NullNotifier
from alerts.rules.engine import RuleEngine
from gridwatch.alarm import AlarmPath
from ingest.mqtt import SESSION_EXPIRY_S, MqttIngest, MqttTarget
from ingest.pipeline import Decoder, IngestPipeline
from sensors.live import LiveState
from store.db import Database
from store.notify import NotifyStore
from store.sqlite import SQLiteReadingStore
from store.state import StateStore
from tests.servers import MosquittoServer
from topology.index import SiteIndex, device_table
from topology.load import SAMPLE_SITE, load_site

TOPIC_FILTER = "gridwatch/wuyang/#"


def make_session(broker: MosquittoServer, client_id: str, protocol: int) -> None:
    """Create a persistent session subscribed at QoS 1, then leave."""
    done = threading.Event()
    if protocol == 5:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        c.on_subscribe = lambda *a: done.set()
        c.connect(broker.host, broker.port, clean_start=False, properties=props)
    else:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        c.on_subscribe = lambda *a: done.set()
        c.connect(broker.host, broker.port)
    c.loop_start()
    c.subscribe(TOPIC_FILTER, qos=1)
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def payloads(index: SiteIndex, n: int) -> list[tuple[str, bytes]]:
    """n realistic ~150-byte state messages spread over the site's devices."""
    out = []
    t0 = time.time() - 60
    devices = [p for p in index.devices if p.kind.value in ("gas", "smoke", "water", "door", "co")]
    body = {
        "gas": {"lel_pct": 0.4, "co_ppm": 2.0},
        "co": {"co_ppm": 3.0},
        "smoke": {"smoke": False, "temp_c": 22.5, "smoke_density_dbm": 0.01},
        "water": {"water_leak": False},
        "door": {"open": False},
    }
    for i in range(n):
        p = devices[i % len(devices)]
        msg = {**body[p.kind.value], "battery_pct": 87.0, "battery_low": False, "tamper": False,
               "rssi_dbm": -71.0, "ts": round(t0 + i * 0.0002, 4), "seq": i}
        out.append((f"gridwatch/wuyang/{p.id}/state", orjson.dumps(msg)))
    return out


def publish(broker: MosquittoServer, msgs: list[tuple[str, bytes]]) -> float:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect(broker.host, broker.port)
    c.loop_start()
    t = time.perf_counter()
    chunk = 20_000  # paho's message ids are 16-bit: keep fewer than 65,535 outstanding
    for i in range(0, len(msgs), chunk):
        infos = [c.publish(topic, body, qos=1) for topic, body in msgs[i: i + chunk]]
        for info in infos:
            info.wait_for_publish(120)
    dt = time.perf_counter() - t
    c.disconnect()
    c.loop_stop()
    return len(msgs) / dt


def drain_gridwatch(
    broker: MosquittoServer, index: SiteIndex, n: int, workdir: Path, protocol: int
) -> tuple[float, int]:
    """The service's ingest path: decode, readings to SQLite, then the alarm path's
    transaction (rule journal, alerts, dead letters) before each batch's PUBACKs."""
    table = device_table(index)
    readings = SQLiteReadingStore(workdir / f"readings-{protocol}.db")
    db = Database(workdir / f"state-{protocol}.db")
    state = StateStore(db)
    live = LiveState(table)
    engine = RuleEngine(table, None)
    alarm = AlarmPath(index=index, db=db, state=state, notify_store=NotifyStore(db), engine=engine,
                      live=live, notifier=NullNotifier(), clock=time.time)
    alarm.start()
    pipeline = IngestPipeline(Decoder(table), readings, state, alarm.submit_readings, time.time)
    ingest = MqttIngest(pipeline, MqttTarget(broker.host, broker.port, f"bench-gridwatch-{protocol}", protocol),
                        [TOPIC_FILTER])
    t = time.perf_counter()
    ingest.start()
    while ingest.acked < n:
        time.sleep(0.005)
    dt = time.perf_counter() - t
    ingest.stop()
    alarm.writer.stop()
    st = pipeline.stats
    print(f"  gridwatch batches: {st.batches}, mean {st.received / max(st.batches, 1):.0f} messages, "
          f"alarm-store commits {db.commits}")
    stored = readings.count()
    readings.close()
    state.close()
    return n / dt, stored


def drain_paho(broker: MosquittoServer, n: int) -> float:
    got: list[bytes] = []
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-paho", clean_session=False)

    def on_message(_c, _u, m):  # type: ignore[no-untyped-def]
        got.append(m.payload)
        if len(got) >= n:
            done.set()

    c.on_message = on_message
    t = time.perf_counter()
    c.connect(broker.host, broker.port)
    c.loop_start()
    done.wait(600)
    dt = time.perf_counter() - t
    c.disconnect()
    c.loop_stop()
    return n / dt


def drain_mosquitto_sub(broker: MosquittoServer, n: int) -> float | None:
    exe = shutil.which("mosquitto_sub")
    if exe is None:
        return None
    t = time.perf_counter()
    subprocess.run(  # noqa: S603
        [exe, "-h", broker.host, "-p", str(broker.port), "-i", "bench-mosquitto-sub", "-c", "-q", "1",
         "-t", TOPIC_FILTER, "-C", str(n)], check=True, stdout=subprocess.DEVNULL, timeout=600,
    )
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=200_000)
    args = ap.parse_args()
    n = args.messages
    index = SiteIndex(load_site(SAMPLE_SITE))
    msgs = payloads(index, n)
    size = sum(len(b) for _, b in msgs) / n
    with tempfile.TemporaryDirectory() as tmp, MosquittoServer(max_inflight_messages=10_000) as broker:
        make_session(broker, "bench-gridwatch-4", 4)
        make_session(broker, "bench-gridwatch-5", 5)
        make_session(broker, "bench-paho", 4)
        make_session(broker, "bench-mosquitto-sub", 4)
        pub_rate = publish(broker, msgs)
        print(f"backlog: {n} QoS 1 messages of {size:.0f} bytes over {len(index.devices)} devices, "
              f"published at {pub_rate:,.0f} msg/s, queued once per subscriber")
        gw4, stored4 = drain_gridwatch(broker, index, n, Path(tmp), 4)
        paho = drain_paho(broker, n)
        gw5, stored5 = drain_gridwatch(broker, index, n, Path(tmp), 5)
        sub = drain_mosquitto_sub(broker, n)
    print(f"gridwatch ingest, MQTT 3.1.1 (decode+SQLite+rules+journal+alerts+ack): {gw4:10,.0f} msg/s  (stored {stored4})")
    print(f"gridwatch ingest, MQTT 5:                               {gw5:10,.0f} msg/s  (stored {stored5})")
    print(f"bare paho-mqtt subscriber, MQTT 3.1.1 (auto ack):       {paho:10,.0f} msg/s")
    if sub:
        print(f"mosquitto_sub -q 1 (C, libmosquitto):                   {sub:10,.0f} msg/s")
    print(f"gridwatch / bare paho: MQTT 3.1.1 {gw4 / paho:.2f}, MQTT 5 {gw5 / paho:.2f}")


if __name__ == "__main__":
    main()
