"""From raw MQTT messages to durable readings, rule transitions and dead letters.

Layer: adapters (uses the stores); the decoding itself is the pure
:mod:`sensors.wire`. One call of :meth:`IngestPipeline.process` handles one batch:
decode every message (a bad one becomes a dead letter, never an exception), write
the readings durably, then commit the batch's rule inputs, the alerts they cause
and the dead letters (one transaction of the alarm store). Only when ``process``
returns may the caller acknowledge the batch to the broker.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from ingest import failpoints
from sensors.batch import ReadingBatch, Row
from sensors.errors import DecodeError, StoreError
from sensors.fields import FIELD_INDEX, FIELDS, KIND_FIELDS, N_FIELDS
from sensors.registry import KIND_CODES, DeviceTable
from sensors.wire import (
    TOPIC_ROOT,
    ArrivalSeq,
    StateMessage,
    decode_availability,
    decode_state,
    parse_topic,
)
from sensors.zigbee2mqtt import Z2M_BASE_TOPIC, decode_z2m, parse_z2m_topic
from store.protocol import ReadingStore
from store.state import DeadLetter, StateStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RawMessage:
    """An MQTT message as received, before decoding."""

    topic: str
    payload: bytes
    recv_ts: float
    mid: int = 0
    qos: int = 0


@dataclass(slots=True)
class Decoded:
    """What a batch of raw messages became."""

    batch: ReadingBatch
    dead: list[DeadLetter]
    availability: list[tuple[int, bool, float]]  # (device row, online, recv_ts)
    skipped: int = 0  # messages that are ours to ignore (our own alert topic)


class Decoder:
    """Decodes raw messages against the device registry."""

    def __init__(
        self,
        table: DeviceTable,
        *,
        max_skew_s: float = 300.0,
        z2m: Mapping[str, tuple[int, str | None]] | None = None,
    ) -> None:
        """Args:
        table: the registry.
        max_skew_s: how far a device's ``ts`` may be from ours.
        z2m: Zigbee2MQTT friendly name → (device row, model), for devices that
            reach MQTT through Zigbee2MQTT (``z2m_name`` in the site file).
        """
        self.table = table
        self.max_skew_s = max_skew_s
        self.z2m = dict(z2m or {})
        self._topics: dict[str, tuple[int, bool]] = {}
        self._z2m_prefix = Z2M_BASE_TOPIC + "/"
        self._arrivals = ArrivalSeq()  # a key for messages without ts or seq
        self._ignored_topics = {f"{TOPIC_ROOT}/{table.community}/alerts"}
        # Per kind, the columns that kind can never report.
        self._foreign: dict[int, list[int]] = {}
        for code, kind in enumerate(KIND_CODES):
            allowed = {FIELD_INDEX[n] for n in KIND_FIELDS[kind]}
            self._foreign[code] = [c for c in range(N_FIELDS) if c not in allowed]

    def decode(self, msgs: Sequence[RawMessage]) -> Decoded:
        """Decode a batch; never raises for a bad message."""
        rows: list[Row] = []
        dead: list[DeadLetter] = []
        avail: list[tuple[int, bool, float]] = []
        skipped = 0
        kinds = self.table.kind
        for m in msgs:
            if m.topic in self._ignored_topics:
                skipped += 1
                continue
            try:
                if m.topic.startswith(self._z2m_prefix):
                    idx, msg = self._decode_z2m(m)
                else:
                    idx, msg = self._decode_native(m)
                if msg is None:
                    avail.append((idx, decode_availability(m.payload), m.recv_ts))
                    continue
                for col in self._foreign[int(kinds[idx])]:
                    if msg.values[col] == msg.values[col]:  # not NaN
                        raise DecodeError(
                            "kind_mismatch",
                            f"{self.table.ids[idx]} is registered as "
                            f"{KIND_CODES[int(kinds[idx])].value}, which does not report "
                            f"{FIELDS[col].name}",
                        )
                seq = self._arrivals.seq(idx, msg)
                rows.append(Row(self.table.ids[idx], idx, msg.ts, m.recv_ts, seq, msg.values))
            except DecodeError as exc:
                dead.append(DeadLetter(m.recv_ts, m.topic, exc.reason, exc.detail, m.payload))
        return Decoded(ReadingBatch.from_rows(rows), dead, avail, skipped)

    def _decode_native(self, m: RawMessage) -> tuple[int, StateMessage | None]:
        """(device row, state) of a native message; state None for availability."""
        known = self._topics.get(m.topic)
        if known is None:
            known = self._resolve(m.topic)
        idx, is_state = known
        if not is_state:
            return idx, None
        return idx, decode_state(m.payload, m.recv_ts, self.max_skew_s)

    def _resolve(self, topic: str) -> tuple[int, bool]:
        """Parse and check a topic; remember it when it names one of our devices
        (at most two topics per device, so the cache is bounded by the site)."""
        parts = parse_topic(topic)
        if parts.community != self.table.community:
            raise DecodeError("wrong_community", f"community {parts.community!r} is not ours")
        idx = self.table.index.get(parts.device_id)
        if idx is None:
            raise DecodeError("unknown_device", f"device {parts.device_id!r} is not in the site")
        known = (idx, parts.channel == "state")
        self._topics[topic] = known
        return known

    def _decode_z2m(self, m: RawMessage) -> tuple[int, StateMessage | None]:
        """(device row, state) of a Zigbee2MQTT message; state None for availability."""
        name, channel = parse_z2m_topic(m.topic)
        found = self.z2m.get(name)
        if found is None:
            raise DecodeError("unknown_device", f"no device has z2m_name {name[:80]!r}")
        idx, model = found
        if channel == "availability":
            return idx, None
        return idx, decode_z2m(model, m.payload, m.recv_ts)


@dataclass
class IngestStats:
    """Counters of the ingest, read by the console and ``/api/health``."""

    received: int = 0
    stored: int = 0
    batches: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    store_errors: int = 0
    last_error: str = ""


class DeadLetterLimiter:
    """Per-topic rate limit of the dead letters kept (every one is still counted):
    a token bucket per topic, ``burst`` deep, refilled at ``per_topic_per_s``, and one
    for all topics at ``total_per_s``. At most ``max_topics`` buckets are kept (the
    least recently refused topics go first), so random topics cannot grow memory."""

    def __init__(self, *, burst: float = 10.0, per_topic_per_s: float = 1 / 60,
                 total_per_s: float = 50.0, max_topics: int = 10_000) -> None:
        """Args: bucket depth, refill per topic, refill of all topics, topics tracked."""
        self.burst, self.rate, self.total_rate, self.max_topics = burst, per_topic_per_s, total_per_s, max_topics
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._total = (total_per_s, 0.0)

    def _take(self, level: float, last: float, rate: float, depth: float, now: float) -> tuple[bool, float]:
        level = min(depth, level + (now - last) * rate) if last else depth
        return (True, level - 1) if level >= 1 else (False, level)

    def admit(self, letters: Sequence[DeadLetter], now: float) -> tuple[list[DeadLetter], dict[str, int]]:
        """(the letters to keep, per reason the count of those not kept)."""
        keep: list[DeadLetter] = []
        dropped: Counter[str] = Counter()
        for d in letters:
            level, last = self._buckets.pop(d.topic, (self.burst, 0.0))
            ok, level = self._take(level, last, self.rate, self.burst, now)
            tl, tlast = self._total
            if ok:
                ok, tl = self._take(tl, tlast, self.total_rate, self.total_rate, now)
                self._total = (tl, now)
            self._buckets[d.topic] = (level, now)
            if len(self._buckets) > self.max_topics:
                self._buckets.popitem(last=False)
            if ok:
                keep.append(d)
            else:
                dropped[d.reason] += 1
        return keep, dict(dropped)


Commit = Callable[[ReadingBatch, list[tuple[int, bool, float]], Sequence[DeadLetter], dict[str, int], float],
                  "Future[int]"]


@dataclass(slots=True)
class Prepared:
    """A batch whose readings are durable, waiting for its alarm commit."""

    n_msgs: int
    decoded: Decoded
    now: float
    future: Future[int] | None = None


class IngestPipeline:
    """Decode → store readings → commit rules, alerts and dead letters, one batch at a
    time, in order (called from one ingest thread). :meth:`process` does it all;
    :meth:`prepare`, :meth:`submit` and :meth:`finish` let the caller prepare the next
    batch while one commits (the ingest acknowledges each when :meth:`finish` returns)."""

    def __init__(
        self,
        decoder: Decoder,
        readings: ReadingStore,
        state: StateStore,
        commit: Commit,
        clock: Callable[[], float],
    ) -> None:
        """Args:
        decoder: turns raw messages into a batch.
        readings: where readings go (must be durable when ``write`` returns).
        state: the alarm store (dead letters of a batch that failed on a bug).
        commit: queues the batch's rule inputs, the alerts they cause and its dead
            letters for one transaction (see :meth:`gridwatch.alarm.AlarmPath.submit_readings`);
            its future completes once committed, in the order queued.
        clock: the service clock.
        """
        self.decoder = decoder
        self.readings = readings
        self.state = state
        self.commit = commit
        self.clock = clock
        self.stats = IngestStats()
        self.limiter = DeadLetterLimiter()

    def process(self, msgs: Sequence[RawMessage]) -> None:
        """Handle a batch. Raises StoreError when it could not be made durable;
        then nothing may be acknowledged and the caller retries the same batch."""
        self.finish(self.submit(self.prepare(msgs)))

    def prepare(self, msgs: Sequence[RawMessage]) -> Prepared:
        """Decode and store the readings durably.

        Raises:
            StoreError: the readings store refused them (retry the same batch).
        """
        decoded = self.decoder.decode(msgs)
        if len(decoded.batch):
            self.readings.write(decoded.batch)
        failpoints.hit("readings_stored")
        return Prepared(len(msgs), decoded, self.clock())

    def submit(self, p: Prepared) -> Prepared:
        """Queue the batch's alarm commit (returns at once)."""
        dead, dropped = self.limiter.admit(p.decoded.dead, p.now)
        p.future = self.commit(p.decoded.batch, p.decoded.availability, dead, dropped, p.now)
        return p

    def finish(self, p: Prepared) -> None:
        """Wait for the batch's commit; then it may be acknowledged.

        Raises:
            StoreError: the alarm store did not commit it (the service is stopping).
        """
        assert p.future is not None
        try:
            p.future.result()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"the alarm store refused the batch: {exc}") from exc
        failpoints.hit("alarm_committed")
        # Counted once the batch committed: a driver that waits for ``received`` (the
        # manual clock's received_at_least) then sees its alerts.
        decoded = p.decoded
        s = self.stats
        s.received += p.n_msgs - decoded.skipped  # our own alert notices are not input
        s.stored += len(decoded.batch)
        s.batches += 1
        s.dead.update(d.reason for d in decoded.dead)
