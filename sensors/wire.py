"""The MQTT wire contract: topics and JSON payloads in, decoded readings out.

Layer: pure core. Every function here takes untrusted bytes and either returns
a value or raises :class:`sensors.errors.DecodeError` with a reason that ingest
counts and keeps in the dead-letter record; nothing else escapes.

Topics::

    gridwatch/<community>/<device_id>/state         flat JSON object
    gridwatch/<community>/<device_id>/availability  "online" | "offline"
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import orjson

from sensors.errors import DecodeError
from sensors.fields import FIELDS, N_FIELDS

TOPIC_ROOT = "gridwatch"
MAX_PAYLOAD_BYTES = 4096
MAX_ID_LEN = 64
# Epoch values above this are taken as milliseconds (year 2286 in seconds).
_MS_THRESHOLD = 1e10

# Hot-path lookups: flag name → column; number name → (column, lo, hi).
_BOOL_COL = {f.name: i for i, f in enumerate(FIELDS) if f.boolean}
_NUM_SPEC = {f.name: (i, f.lo, f.hi) for i, f in enumerate(FIELDS) if not f.boolean}
_NAN = math.nan


@dataclass(frozen=True, slots=True)
class TopicParts:
    """A parsed device topic."""

    community: str
    device_id: str
    channel: str  # "state" or "availability"


@dataclass(slots=True)
class StateMessage:
    """A decoded state payload.

    Attributes:
        ts: event time chosen for the reading (epoch s).
        device_ts: the time the device claimed, or None.
        seq: the device's counter, or -1.
        values: one float per field (NaN when absent; booleans 0.0 / 1.0).
        skewed: True when the device's ``ts`` was outside the allowed skew and
            the receive time was used instead.
    """

    ts: float
    device_ts: float | None
    seq: int
    values: list[float]
    skewed: bool


class ArrivalSeq:
    """Keys for messages that carry no key of their own.

    A reading is keyed by (device, event time, ``seq``) everywhere: the rule core drops
    a repeated key, the stores keep its first copy. A message without ``seq`` whose
    event time is its receive time (no ``ts``, or one outside the allowed skew) has no
    key of its own: two such messages of one device at the same clock instant (a
    manual test clock, a coarse one) would share one and count once. This gives each
    such message the device's next arrival number as ``seq`` (0, 1, 2, ... per device
    and process), so they never merge; a message with ``ts`` and no ``seq`` keeps
    ``seq`` -1, so its redeliveries do merge. Not thread-safe: one decoder owns it.
    """

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def seq(self, device_idx: int, msg: StateMessage) -> int:
        """The ``seq`` to store and apply ``msg`` of device ``device_idx`` with."""
        if msg.seq >= 0 or (msg.device_ts is not None and not msg.skewed):
            return msg.seq
        n = self._next.get(device_idx, 0)
        self._next[device_idx] = n + 1
        return n


def state_topic(community: str, device_id: str) -> str:
    """The topic a device publishes its state on."""
    return f"{TOPIC_ROOT}/{community}/{device_id}/state"


def availability_topic(community: str, device_id: str) -> str:
    """The topic a device (or its gateway) publishes availability on."""
    return f"{TOPIC_ROOT}/{community}/{device_id}/availability"


def parse_topic(topic: str) -> TopicParts:
    """Split a device topic into its parts.

    Raises:
        DecodeError: ``bad_topic`` when the topic is not a device topic.
    """
    parts = topic.split("/")
    if (
        len(parts) != 4
        or parts[0] != TOPIC_ROOT
        or parts[3] not in ("state", "availability")
        or not parts[1]
        or not parts[2]
        or len(parts[2]) > MAX_ID_LEN
    ):
        raise DecodeError("bad_topic", f"not a device topic: {topic[:200]!r}")
    return TopicParts(parts[1], parts[2], parts[3])


def _parse_ts(raw: object) -> float:
    if isinstance(raw, bool):
        raise DecodeError("wrong_type", "ts must be epoch seconds or an RFC 3339 string")
    if isinstance(raw, int | float):
        ts = float(raw)
        if ts > _MS_THRESHOLD:
            ts /= 1000.0
        if not (0.0 < ts < 1e10):
            raise DecodeError("out_of_range", f"ts {raw!r} is not a plausible time")
        return ts
    if isinstance(raw, str):
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise DecodeError("wrong_type", f"ts {raw[:40]!r} is not RFC 3339") from None
        if when.tzinfo is None:
            raise DecodeError("wrong_type", "ts has no time zone offset")
        return when.timestamp()
    raise DecodeError("wrong_type", "ts must be epoch seconds or an RFC 3339 string")


def decode_state(payload: bytes, recv_ts: float, max_skew_s: float = 300.0) -> StateMessage:
    """Decode a state payload.

    Args:
        payload: the raw MQTT payload.
        recv_ts: when it was received (epoch s); used as the event time when
            the payload has no ``ts`` or one further than ``max_skew_s`` away.
        max_skew_s: how far a device clock may be from ours.

    Raises:
        DecodeError: ``oversize``, ``not_json``, ``not_object``, ``wrong_type``
            or ``out_of_range``.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError("oversize", f"{len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise DecodeError("not_json", "payload is not valid UTF-8 JSON") from None
    if not isinstance(obj, dict):
        raise DecodeError("not_object", f"payload is JSON {type(obj).__name__}, not an object")
    values = [_NAN] * N_FIELDS
    device_ts: float | None = None
    seq = -1
    for key, raw in obj.items():
        col = _BOOL_COL.get(key)
        if col is not None:
            if raw is True:
                values[col] = 1.0
            elif raw is False:
                values[col] = 0.0
            else:
                raise DecodeError("wrong_type", f"{key} must be true or false")
            continue
        spec = _NUM_SPEC.get(key)
        if spec is not None:
            t = type(raw)  # exact types: bool is an int subclass and must not pass
            if t is not float and t is not int:
                raise DecodeError("wrong_type", f"{key} must be a number")
            col, lo, hi = spec
            if not (lo <= raw <= hi):
                raise DecodeError("out_of_range", f"{key}={raw!r} outside [{lo:g}, {hi:g}]")
            values[col] = float(raw)
        elif key == "ts":
            if raw is not None:
                device_ts = _parse_ts(raw)
        elif key == "seq":
            if type(raw) is not int or not (0 <= raw < 2**63):
                raise DecodeError("wrong_type", "seq must be a non-negative integer")
            seq = raw
        # Unknown keys are ignored: devices add fields over firmware versions.
    if device_ts is not None and abs(device_ts - recv_ts) <= max_skew_s:
        return StateMessage(device_ts, device_ts, seq, values, False)
    return StateMessage(recv_ts, device_ts, seq, values, device_ts is not None)


def decode_availability(payload: bytes) -> bool:
    """Decode an availability payload: ``online`` / ``offline``.

    Also accepts the JSON forms ``"online"`` and ``{"state": "online"}``.

    Raises:
        DecodeError: ``bad_availability``.
    """
    if len(payload) > 256:
        raise DecodeError("oversize", f"{len(payload)} bytes for an availability message")
    text = payload.strip()
    if text in (b"online", b"offline"):
        return text == b"online"
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        obj = obj.get("state")
    if obj in ("online", "offline"):
        return bool(obj == "online")
    raise DecodeError("bad_availability", "availability must be 'online' or 'offline'")
