"""The MosquittoServer test helper: starts, listens, keeps a persistent session across a restart."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from tests.servers import MosquittoServer

pytestmark = pytest.mark.integration


class _Session:
    """A paho client that connects, waits for CONNACK, and always closes its socket."""

    def __init__(
        self, broker: MosquittoServer, client_id: str, *, clean: bool, on_message=None
    ) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean,
            protocol=mqtt.MQTTv311,
        )
        if on_message is not None:
            self.client.on_message = on_message
        self.connected = threading.Event()
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.connected.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_start_restart_and_queued_messages_survive():
    with MosquittoServer() as broker:
        assert broker.running
        sub = _Session(broker, "gw-test-sub", clean=False)
        subscribed = threading.Event()
        sub.client.on_subscribe = lambda *a: subscribed.set()
        sub.client.subscribe("t/#", qos=1)
        assert subscribed.wait(5)
        sub.close()

        pub = _Session(broker, "gw-test-pub", clean=True)
        for info in [pub.client.publish("t/x", str(i).encode(), qos=1) for i in range(50)]:
            info.wait_for_publish(5)
        pub.close()

        broker.restart()  # a clean stop saves the queue of the offline session
        assert broker.running

        got: list[bytes] = []
        done = threading.Event()

        def on_message(client, userdata, msg):
            got.append(msg.payload)
            if len(got) == 50:
                done.set()

        sub = _Session(broker, "gw-test-sub", clean=False, on_message=on_message)
        try:
            assert done.wait(10), f"got {len(got)} of 50; log:\n{broker.log_tail()}"
        finally:
            sub.close()
        assert [int(p) for p in got] == list(range(50))
    assert not broker.workdir.exists()


def test_kill_then_start_on_the_same_port():
    with MosquittoServer() as broker:
        port = broker.port
        broker.kill()
        assert not broker.running
        broker.start()
        assert broker.running and broker.port == port
        assert "mosquitto version" in broker.log_tail(50)
