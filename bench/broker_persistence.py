"""Benchmark: what the deploy Mosquitto's persistence costs. Mosquitto 2.0 writes its
whole store at each autosave, so keeping every acknowledged message through a crash
(``autosave_on_changes true`` + ``autosave_interval 1``, deploy/mosquitto/mosquitto.conf)
means a store write after every message; the setting it replaced saved every 60 s.

    .venv/bin/python -m bench.broker_persistence [--messages 20000] [--backlog 5000]

Two figures per setting, each on its own fresh broker (Debian ``mosquitto``):
* online: a QoS 1 publisher and an online persistent-session subscriber (paho), from
  the first publish to the last message received;
* backlog: QoS 1 publishes to a persistent session whose subscriber is offline (the
  store grows with every message: the slow case), until all are acknowledged.
"""

from __future__ import annotations

import argparse
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers import MosquittoServer

SETTINGS = {
    "deploy (save after every change)": {"autosave_interval_s": 1,
                                         "extra_config": ("autosave_on_changes true",)},
    "before (save every 60 s)": {"autosave_interval_s": 60, "extra_config": ()},
}


def _client(broker: MosquittoServer, client_id: str, *, clean: bool) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    c.max_inflight_messages_set(1000)
    c.connect(broker.host, broker.port)
    return c


def _subscribe_then(broker: MosquittoServer, *, stay: bool) -> tuple[mqtt.Client, list[int]]:
    got = [0]
    done = threading.Event()
    sub = _client(broker, "bench-sub", clean=False)
    sub.on_message = lambda *_a: got.__setitem__(0, got[0] + 1)
    sub.on_subscribe = lambda *_a: done.set()
    sub.subscribe("bench/#", 1)
    sub.loop_start()
    done.wait(10)
    if not stay:
        sub.disconnect()
        sub.loop_stop()
    return sub, got


def _publish(broker: MosquittoServer, n: int) -> float:
    pub = _client(broker, "bench-pub", clean=True)
    pub.loop_start()
    t0 = time.perf_counter()
    infos = [pub.publish("bench/x", b'{"seq": %d}' % i, qos=1) for i in range(n)]
    for info in infos:
        info.wait_for_publish(600)
    took = time.perf_counter() - t0
    pub.disconnect()
    pub.loop_stop()
    return took


def online(n: int, **kw: object) -> float:
    with MosquittoServer(**kw) as broker:  # type: ignore[arg-type]
        sub, got = _subscribe_then(broker, stay=True)
        t0 = time.perf_counter()
        _publish(broker, n)
        while got[0] < n and time.perf_counter() - t0 < 600:
            time.sleep(0.005)
        took = time.perf_counter() - t0
        sub.disconnect()
        sub.loop_stop()
        return n / took


def backlog(n: int, **kw: object) -> float:
    with MosquittoServer(**kw) as broker:  # type: ignore[arg-type]
        _subscribe_then(broker, stay=False)
        return n / _publish(broker, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--backlog", type=int, default=5_000)
    args = ap.parse_args()
    rates = {}
    for name, kw in SETTINGS.items():
        rates[name] = (online(args.messages, **kw), backlog(args.backlog, **kw))
        print(f"{name:34} online {rates[name][0]:8,.0f} msg/s   "
              f"backlog of {args.backlog:,}: {rates[name][1]:8,.0f} msg/s", flush=True)
    new, old = rates.values()
    print(f"ratio deploy/before: online {new[0] / old[0]:.2f}x, backlog {new[1] / old[1]:.2f}x")


if __name__ == "__main__":
    main()
