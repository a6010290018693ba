"""The MQTT subscriber of the ingest: paho-mqtt driven directly, acknowledging each
message only after its batch is durable.

Layer: adapters. One thread runs paho's network loop *and* the batches: it
reads whatever the broker has sent (up to ``batch_max`` messages, or until the
socket is momentarily empty, or ``max_delay_s`` after the first message), hands
that batch to :class:`ingest.pipeline.IngestPipeline`, then sends the PUBACKs.
Keeping it on one thread matters: a PUBACK sent from another thread wakes
paho's loop through a socketpair, and that per-message GIL ping-pong cost more
than the whole pipeline (bench/ingest.py). aiomqtt's per-message path runs at
half paho's rate here (shared/MEASURED.md), which is why this hot path is not
asyncio.

Guarantees:
* QoS 1, a fixed client id nobody can guess (:func:`ingest_client_id`) and a
  persistent session (``clean_session=False`` on MQTT 3.1.1, the default;
  ``clean_start=False`` with a 7-day session expiry on MQTT 5), so messages
  published while the service is down are queued by the broker. 3.1.1 is the
  default because paho builds a ``Properties`` object for every MQTT 5 PUBLISH: 21k against 15.6k msg/s here (bench/ingest.py);
* a message is acknowledged only after its reading is durable and its batch's alarm
  commit (rule inputs, alerts, dead letters) is done; the next batch is read and
  stored while one commits, and acknowledgements keep the batches' order;
  a store failure leaves the batch unacknowledged and retries it with backoff;
* acknowledgements are sent only on the connection that delivered the message
  (after a reconnect the broker redelivers, and the store ignores the duplicate);
* reconnects with exponential backoff (0.5 s doubling to 30 s).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest import failpoints
from ingest.connection import MqttTls
from ingest.pipeline import IngestPipeline, Prepared, RawMessage
from sensors.errors import StoreError
from store.state import DeadLetter

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
# Batches whose alarm commit may be pending while the next one is read and stored.
PIPELINE_DEPTH = 2
CLIENT_ID_FILE = "mqtt-client-id"


def ingest_client_id(data_dir: Path, community: str) -> str:
    """The ingest's client id: ``gridwatch-ingest-<community>-<random>``, drawn once and
    kept in ``data_dir`` so the broker's persistent session survives restarts.

    A broker disconnects a client when another connects with the same id; an id
    nobody can guess keeps a device's credentials from cutting the ingest off.
    """
    path = data_dir / CLIENT_ID_FILE
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    client_id = f"gridwatch-ingest-{community}-{secrets.token_hex(12)}"
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(client_id + "\n")
    return client_id


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where and how to connect."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "gridwatch-ingest"
    protocol: int = 4  # 4 (MQTT 3.1.1, the default: faster in paho) or 5
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    receive_maximum: int = 10_000  # MQTT 5: how many unacknowledged messages the broker may send
    tls: MqttTls | None = None  # None: plain TCP


class MqttIngest:
    """Subscribes, batches, hands batches to the pipeline and acknowledges them."""

    def __init__(
        self,
        pipeline: IngestPipeline,
        target: MqttTarget,
        topics: list[str],
        *,
        batch_max: int = 5000,
        max_delay_s: float = 0.05,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        pipeline: handles each batch.
        target: broker address and session settings.
        topics: topic filters to subscribe to at QoS 1.
        batch_max: the largest batch handed to the pipeline.
        max_delay_s: the longest a message waits for its batch to fill.
        clock: the service clock (receive times).
        """
        self.pipeline = pipeline
        self.target = target
        self.topics = topics
        self.batch_max = batch_max
        self.clock = clock
        self.max_delay_s = max_delay_s
        # Set once the broker granted every subscription on the current connection,
        # cleared as soon as that connection is gone (also when another client took
        # over the session): readers may trust it, the health endpoint shows it.
        self.connected = threading.Event()
        self.refused_topics: list[str] = []
        self._subscribe_mid = -1
        self._buf: list[tuple[RawMessage, int]] = []
        # Batches stored and queued for their alarm commit, oldest first, with their
        # messages; acknowledged in this order once committed.
        self._waiting: deque[tuple[Prepared, list[tuple[RawMessage, int]]]] = deque()
        self._stopping = threading.Event()
        self._socket_open = False
        self._ever_connected = False
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
        if t.tls is not None:
            t.tls.apply(client)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    # -- paho callbacks (run inside client.loop() on our thread) -----------------------------

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("MQTT connection refused: %s", rc)
            return
        self._generation += 1
        _, mid = client.subscribe([(t, 1) for t in self.topics])
        self._subscribe_mid = -1 if mid is None else mid
        log.info("MQTT connected to %s:%d", self.target.host, self.target.port)

    def _on_subscribe(self, _c: mqtt.Client, _u: object, mid: int, codes: list[ReasonCode],
                      _p: Properties) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [t for t, rc in zip(self.topics, codes, strict=False) if rc.is_failure]
        self.refused_topics = refused
        if refused:  # connected but deaf is not connected: say so and stay down
            log.error("MQTT broker refused the subscription to %s (check its ACL)", refused)
            return
        self.connected.set()

    def _on_disconnect(self, _c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("MQTT disconnected (%s); reconnecting with backoff", rc)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = "<topic not UTF-8>"
        self._buf.append((RawMessage(topic, bytes(msg.payload), self.clock(), msg.mid, msg.qos),
                          self._generation))

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the ingest thread (it connects, and reconnects, by itself)."""
        self._worker = threading.Thread(target=self._run, name="gridwatch-ingest", daemon=True)
        self._worker.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Handle and acknowledge what was received, then disconnect."""
        self._stopping.set()
        if self._worker is not None:
            self._worker.join(timeout_s)

    def backlog(self) -> int:
        """Messages received and not yet handled."""
        return len(self._buf)

    # -- the loop ---------------------------------------------------------------------------

    def _connect(self) -> bool:
        t = self.target
        try:
            if self._ever_connected:
                self._client.reconnect()
            elif t.protocol == 5:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = SESSION_EXPIRY_S
                props.ReceiveMaximum = t.receive_maximum
                self._client.connect(t.host, t.port, t.keepalive_s, clean_start=False,
                                     properties=props)
            else:
                self._client.connect(t.host, t.port, t.keepalive_s)
        except (OSError, mqtt.WebsocketConnectionError) as exc:
            log.warning("MQTT %s:%d unreachable (%s); retrying", t.host, t.port, exc)
            return False
        self._ever_connected = True
        return True

    def _run(self) -> None:
        backoff = 0.5
        client = self._client
        while not self._stopping.is_set():
            if not self._socket_open and not self._connect():
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self._socket_open = True
            rc = self._read()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                self._socket_open = False
                self.connected.clear()
                if self._buf or self._waiting:
                    self._flush(settle=True)  # stored, but unacknowledged: redelivered after reconnect
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if self.connected.is_set():
                backoff = 0.5
        if self._buf or self._waiting:
            self._flush(settle=True)
        if self._socket_open:
            client.disconnect()
            client.loop(0.1)

    def _read(self) -> int:
        """Read until a batch is due, then handle it; returns paho's result code."""
        client = self._client
        buf = self._buf
        first = 0.0
        while True:
            before = len(buf)
            if not buf and self._waiting:
                self._settle()  # nothing new: acknowledge what committed before waiting
            rc = client.loop(0.0 if buf else 0.2)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                return int(rc)
            if not buf:
                if self._stopping.is_set():
                    return int(rc)
                continue
            if not first:
                first = time.monotonic()
            idle = len(buf) == before
            if idle or len(buf) >= self.batch_max or time.monotonic() - first >= self.max_delay_s:
                self._flush()
                return int(rc)

    def _flush(self, *, settle: bool = False) -> None:
        items, self._buf[:] = list(self._buf), []
        try:
            if items:
                self._handle(items)
            if settle:
                self._settle()
        except Exception:  # even the dead-letter store failed: leave unacknowledged
            log.exception("batch of %d left unacknowledged", len(items))

    def _handle(self, items: list[tuple[RawMessage, int]]) -> None:
        """Store a batch's readings, queue its alarm commit, and acknowledge the batches
        whose commit is done: the next batch is read and stored while one commits
        (at most ``PIPELINE_DEPTH`` wait), and acknowledgements keep their order."""
        msgs = [m for m, _ in items]
        delay = 0.2
        while True:
            try:
                prepared = self.pipeline.submit(self.pipeline.prepare(msgs))
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
                self._internal_error(items, exc)
                return
        self._waiting.append((prepared, items))
        self._settle(keep=PIPELINE_DEPTH - 1)

    def _settle(self, keep: int = 0) -> None:
        """Acknowledge every batch whose commit is done, in order; wait for the oldest
        until at most ``keep`` are left waiting."""
        while self._waiting:
            prepared, items = self._waiting[0]
            assert prepared.future is not None
            if len(self._waiting) <= keep and not prepared.future.done():
                return
            self._waiting.popleft()
            try:
                self.pipeline.finish(prepared)
            except StoreError as exc:  # the service is stopping: leave the rest unacknowledged
                log.warning("alarm commit not done, %d batches left unacknowledged: %s",
                            len(self._waiting) + 1, exc)
                self._waiting.clear()
                return
            except Exception as exc:
                self._internal_error(items, exc)
                continue
            self._ack(items)

    def _internal_error(self, items: list[tuple[RawMessage, int]], exc: Exception) -> None:
        """A bug must not stop the ingest or lose the payloads: keep them as dead letters."""
        log.exception("ingest batch failed; keeping its %d messages as dead letters", len(items))
        self.pipeline.state.add_dead_letters(
            [DeadLetter(m.recv_ts, m.topic, "internal_error", repr(exc)[:200], m.payload)
             for m, _ in items]
        )
        self.pipeline.stats.dead["internal_error"] += len(items)
        self._ack(items)

    def _ack(self, items: list[tuple[RawMessage, int]]) -> None:
        """PUBACK on the connection that delivered each message (after a reconnect the
        broker redelivers, and the store ignores the duplicate)."""
        gen = self._generation
        client = self._client
        for m, g in items:
            if m.qos and g == gen:
                client.ack(m.mid, m.qos)
                self.acked += 1
        failpoints.hit("acked")
