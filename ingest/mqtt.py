"""The MQTT subscriber of the ingest: paho-mqtt driven directly, acknowledging each
message only after its batch is durable.

Layer: adapters. paho's network thread only appends messages to a buffer; one
worker thread drains the buffer in batches (as large as what arrived while the
previous batch was being handled), runs :class:`ingest.pipeline.IngestPipeline`
and then sends the PUBACKs. aiomqtt's per-message path runs at half paho's rate
here (shared/MEASURED.md), which is why this hot path is not asyncio.

Guarantees:
* QoS 1, a fixed client id and a persistent session (``clean_start=False`` with a
  long session expiry on MQTT 5, ``clean_session=False`` on 3.1.1), so messages
  published while the service is down are queued by the broker;
* a message is acknowledged only after its reading (or dead letter) is durable;
  a store failure leaves the batch unacknowledged and retries it with backoff;
* acknowledgements are sent only on the connection that delivered the message
  (after a reconnect the broker redelivers, and the store ignores the duplicate);
* reconnects with exponential backoff (paho's ``reconnect_delay_set``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.pipeline import IngestPipeline, RawMessage
from sensors.errors import StoreError
from store.state import DeadLetter

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where and how to connect."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "gridwatch-ingest"
    protocol: int = 5  # 5 or 4 (MQTT 3.1.1)
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    receive_maximum: int = 10_000  # MQTT 5: how many unacknowledged messages the broker may send


class MqttIngest:
    """Subscribes, batches, hands batches to the pipeline and acknowledges them."""

    def __init__(
        self,
        pipeline: IngestPipeline,
        target: MqttTarget,
        topics: list[str],
        *,
        batch_max: int = 5000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        pipeline: handles each batch.
        target: broker address and session settings.
        topics: topic filters to subscribe to at QoS 1.
        batch_max: the largest batch handed to the pipeline.
        clock: the service clock (receive times).
        """
        self.pipeline = pipeline
        self.target = target
        self.topics = topics
        self.batch_max = batch_max
        self.clock = clock
        self.connected = threading.Event()
        self._buf: deque[tuple[RawMessage, int]] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._client = self._make_client()
        self.acked = 0

    def _make_client(self) -> mqtt.Client:
        t = self.target
        if t.protocol == 5:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=t.client_id,
                                 protocol=mqtt.MQTTv5, manual_ack=True)
        else:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=t.client_id,
                                 clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        if t.username:
            client.username_pw_set(t.username, t.password)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- paho callbacks (network thread): keep them tiny and exception-free ------------

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("MQTT connection refused: %s", rc)
            return
        self._generation += 1
        client.subscribe([(t, 1) for t in self.topics])
        self.connected.set()
        log.info("MQTT connected to %s:%d", self.target.host, self.target.port)

    def _on_disconnect(self, _c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("MQTT disconnected (%s); reconnecting with backoff", rc)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = "<topic not UTF-8>"
        self._buf.append(
            (RawMessage(topic, msg.payload, self.clock(), msg.mid, msg.qos), self._generation)
        )
        if not self._wake.is_set():
            self._wake.set()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (in the background, retrying) and start the worker."""
        t = self.target
        props = None
        if t.protocol == 5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            props.ReceiveMaximum = t.receive_maximum
            self._client.connect_async(t.host, t.port, t.keepalive_s, clean_start=False,
                                       properties=props)
        else:
            self._client.connect_async(t.host, t.port, t.keepalive_s)
        self._client.loop_start()
        self._worker = threading.Thread(target=self._work, name="gridwatch-ingest", daemon=True)
        self._worker.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Handle what is buffered, acknowledge it, disconnect."""
        self._stopping.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()

    def backlog(self) -> int:
        """Messages received and not yet handled."""
        return len(self._buf)

    # -- worker ---------------------------------------------------------------------------

    def _drain(self) -> list[tuple[RawMessage, int]]:
        buf = self._buf
        n = min(len(buf), self.batch_max)
        return [buf.popleft() for _ in range(n)]

    def _work(self) -> None:
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            while self._buf:
                items = self._drain()
                try:
                    self._handle(items)
                except Exception:  # even the dead-letter store failed: leave unacknowledged
                    log.exception("batch of %d left unacknowledged", len(items))
            if self._stopping.is_set():
                return

    def _handle(self, items: list[tuple[RawMessage, int]]) -> None:
        msgs = [m for m, _ in items]
        delay = 0.2
        while True:
            try:
                self.pipeline.process(msgs)
                break
            except StoreError as exc:
                # Not durable: nothing is acknowledged; keep the batch and try again.
                st = self.pipeline.stats
                st.store_errors += 1
                st.last_error = str(exc)
                log.warning("store failed, batch of %d kept for retry: %s", len(msgs), exc)
                if self._stopping.is_set():
                    return  # unacknowledged: the broker redelivers after restart
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
            except Exception as exc:
                # A bug must not stop the ingest or lose the payloads: keep them as dead letters.
                log.exception("ingest batch failed; keeping its %d messages as dead letters", len(msgs))
                self.pipeline.state.add_dead_letters(
                    [DeadLetter(m.recv_ts, m.topic, "internal_error", repr(exc)[:200], m.payload)
                     for m in msgs]
                )
                self.pipeline.stats.dead["internal_error"] += len(msgs)
                break
        gen = self._generation
        client = self._client
        for m, g in items:
            if m.qos and g == gen:
                client.ack(m.mid, m.qos)
                self.acked += 1
