"""Zigbee2MQTT device formats: a real sensor's JSON state ↔ GridWatch's wire fields.

Layer: pure core. Like :mod:`sensors.wire`, every decoding function takes
untrusted bytes and returns a value or raises
:class:`sensors.errors.DecodeError`; nothing else escapes.

Zigbee2MQTT publishes each device's whole state as flat JSON on
``zigbee2mqtt/<friendly name>`` and its availability on
``zigbee2mqtt/<friendly name>/availability`` (``{"state": "online"}`` or a
plain ``online``, which :func:`sensors.wire.decode_availability` reads). The
site file maps a friendly name to a device with ``z2m_name``; the device's
``model`` picks the translation here.

How to add a device model
-------------------------
1. Find the model's "Exposes" list on zigbee2mqtt.io (``/devices/<MODEL>.html``):
   the JSON keys, their types and units.
2. Add a :class:`Z2MModel` to ``MODELS`` with one :class:`Z2MField` per key
   GridWatch understands. The conversions:

   - ``"bool"``: a true/false key to a boolean field (``water_leak``, ``smoke``);
   - ``"number"``: a number in our unit to a number field (``battery`` is
     already ``battery_pct``, ``gas_density`` is ``lel_pct``);
   - ``"invert"``: a boolean that means the opposite (``contact`` true = door
     CLOSED, our ``open`` is its negation);
   - ``"alarm"``: a boolean alarm with no concentration, reported as the
     number ``alarm_value`` (see :data:`GAS_ALARM_LEL_PCT`) when true and 0
     when false; a numeric field of the same model wins when present;
   - ``"voltage_mv"``: a battery voltage, used for ``battery_pct`` only when
     the payload has no ``battery`` percentage.
3. Add a payload captured from a real device to ``REAL`` in
   ``tests/unit/sensors/test_zigbee2mqtt.py``. The simulator and
   ``gridwatch site generate --z2m`` pick the new model up from ``MODELS``
   (the generator only installs the models it knows, see ``topology.generate``).

Keys not listed (``linkquality``, ``voltage`` where ``battery`` exists,
``device_temperature``, ``power_outage_count``...) are ignored. ``last_seen``
(when Zigbee2MQTT's ``advanced.last_seen`` is on, as epoch ms or ISO 8601)
becomes the reading's ``ts``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import orjson

from sensors.errors import DecodeError
from sensors.fields import FIELD_INDEX, FIELDS, DeviceKind
from sensors.wire import MAX_PAYLOAD_BYTES, StateMessage, decode_state

Z2M_BASE_TOPIC = "zigbee2mqtt"

# A detector that only says "gas!" is at or above its set point. Usable set
# points are 1-25 %LEL and GB/T 50493-2019 puts the first alarm at or below
# 25 %LEL (STANDARDS.md, "Gas"), so 25 is the lowest concentration an alarm
# certainly means; the rule core's gas level must not be above it.
GAS_ALARM_LEL_PCT = 25.0
# A CO alarm fires on dose; 300 ppm is the concentration EN 50291-1 requires
# an alarm for within 3 minutes (STANDARDS.md, "Carbon monoxide").
CO_ALARM_PPM = 300.0
# CR2032 / CR123A cells as Aqara reports them: 3.0 V full, 2.5 V empty.
BATTERY_FULL_MV = 3000.0
BATTERY_EMPTY_MV = 2500.0

Conversion = Literal["bool", "number", "invert", "alarm", "voltage_mv"]


@dataclass(frozen=True, slots=True)
class Z2MField:
    """One Zigbee2MQTT key and the wire field it becomes.

    Attributes:
        key: the Zigbee2MQTT JSON key.
        field: the GridWatch wire field (``sensors.fields.FIELDS``).
        conversion: how the value is translated (see the module docstring).
        alarm_value: for ``"alarm"``: the number reported while the alarm is on.
    """

    key: str
    field: str
    conversion: Conversion
    alarm_value: float = 0.0


@dataclass(frozen=True, slots=True)
class Z2MModel:
    """A device model Zigbee2MQTT supports, and how its state maps to ours."""

    model: str
    vendor: str
    description: str
    kind: DeviceKind
    fields: tuple[Z2MField, ...]


_BATTERY = (
    Z2MField("battery", "battery_pct", "number"),
    Z2MField("battery_low", "battery_low", "bool"),
    Z2MField("tamper", "tamper", "bool"),
)
_AQARA_BATTERY = (
    Z2MField("battery", "battery_pct", "number"),
    Z2MField("voltage", "battery_pct", "voltage_mv"),
)

MODELS: dict[str, Z2MModel] = {
    m.model: m
    for m in (
        Z2MModel(
            "HS1CG",
            "Heiman",
            "Combustible gas sensor",
            DeviceKind.GAS,
            (Z2MField("gas", "lel_pct", "alarm", GAS_ALARM_LEL_PCT), *_BATTERY),
        ),
        Z2MModel(
            "HS1SA",
            "Heiman",
            "Smoke detector",
            DeviceKind.SMOKE,
            (Z2MField("smoke", "smoke", "bool"), *_BATTERY),
        ),
        Z2MModel(
            "HS1CA",
            "Heiman",
            "Carbon monoxide sensor",
            DeviceKind.CO,
            (Z2MField("carbon_monoxide", "co_ppm", "alarm", CO_ALARM_PPM), *_BATTERY),
        ),
        Z2MModel(
            "SJCGQ11LM",
            "Aqara",
            "Water leak sensor",
            DeviceKind.WATER,
            (Z2MField("water_leak", "water_leak", "bool"), *_AQARA_BATTERY),
        ),
        Z2MModel(
            "MCCGQ11LM",
            "Aqara",
            "Door and window sensor",
            DeviceKind.DOOR,
            (Z2MField("contact", "open", "invert"), *_AQARA_BATTERY),
        ),
        Z2MModel(
            "JT-BZ-01AQ/A",
            "Aqara",
            "Smart natural gas detector (mains)",
            DeviceKind.GAS,
            (
                Z2MField("gas_density", "lel_pct", "number"),
                Z2MField("gas", "lel_pct", "alarm", GAS_ALARM_LEL_PCT),
            ),
        ),
    )
}


def z2m_state_topic(friendly_name: str, base: str = Z2M_BASE_TOPIC) -> str:
    """The topic Zigbee2MQTT publishes a device's state on."""
    return f"{base}/{friendly_name}"


def z2m_availability_topic(friendly_name: str, base: str = Z2M_BASE_TOPIC) -> str:
    """The topic Zigbee2MQTT publishes a device's availability on."""
    return f"{base}/{friendly_name}/availability"


def parse_z2m_topic(topic: str, base: str = Z2M_BASE_TOPIC) -> tuple[str, str]:
    """Split a Zigbee2MQTT topic into (friendly name, ``"state"`` | ``"availability"``).

    Raises:
        DecodeError: ``bad_topic`` for topics that are not a device's state or
            availability (``bridge/...``, ``.../set``, ``.../get``).
    """
    prefix = base + "/"
    if not topic.startswith(prefix) or len(topic) > 300:
        raise DecodeError("bad_topic", f"not a Zigbee2MQTT topic: {topic[:200]!r}")
    name = topic[len(prefix) :]
    channel = "state"
    if name.endswith("/availability"):
        name, channel = name[: -len("/availability")], "availability"
    if (
        not name
        or name.startswith("bridge/")
        or name == "bridge"
        or name.endswith(("/set", "/get"))
    ):
        raise DecodeError("bad_topic", f"not a Zigbee2MQTT device topic: {topic[:200]!r}")
    return name, channel


def model_of(model: str | None) -> Z2MModel:
    """The translation for a device model.

    Raises:
        DecodeError: ``unknown_model`` when the model is not in :data:`MODELS`.
    """
    found = MODELS.get(model or "")
    if found is None:
        raise DecodeError("unknown_model", f"no Zigbee2MQTT mapping for model {model!r}")
    return found


def _translate(spec: Z2MModel, obj: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    alarms: list[tuple[str, float]] = []
    voltage: float | None = None
    for f in spec.fields:
        raw = obj.get(f.key)
        if raw is None:  # absent, or null while Zigbee2MQTT does not know the value yet
            continue
        if f.conversion in ("bool", "invert", "alarm"):
            if not isinstance(raw, bool):
                raise DecodeError("wrong_type", f"{f.key} must be true or false")
            if f.conversion == "alarm":
                alarms.append((f.field, f.alarm_value if raw else 0.0))
            else:
                out[f.field] = raw if f.conversion == "bool" else not raw
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise DecodeError("wrong_type", f"{f.key} must be a number")
        if f.conversion == "voltage_mv":
            voltage = float(raw)
        else:
            out[f.field] = raw
    for name, value in alarms:
        out.setdefault(name, value)
    if voltage is not None and "battery_pct" not in out:
        span = BATTERY_FULL_MV - BATTERY_EMPTY_MV
        out["battery_pct"] = round(min(100.0, max(0.0, (voltage - BATTERY_EMPTY_MV) / span * 100)))
    last_seen = obj.get("last_seen")
    if last_seen is not None:
        out["ts"] = last_seen
    return out


def decode_z2m(model: str | None, payload: bytes, recv_ts: float) -> StateMessage:
    """Decode a Zigbee2MQTT state payload of a device of ``model``.

    Args:
        model: the device's model in the site file (``HS1CG``, ``MCCGQ11LM``, ...).
        payload: the raw MQTT payload.
        recv_ts: when it was received (epoch s); the reading's time unless the
            payload carries a plausible ``last_seen``.

    Returns:
        The same :class:`sensors.wire.StateMessage` a native payload gives
        (``seq`` is -1: Zigbee2MQTT has no counter).

    Raises:
        DecodeError: ``unknown_model``, ``oversize``, ``not_json``, ``not_object``,
            ``wrong_type`` or ``out_of_range``.
    """
    spec = model_of(model)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError("oversize", f"{len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise DecodeError("not_json", "payload is not valid UTF-8 JSON") from None
    if not isinstance(obj, dict):
        raise DecodeError("not_object", f"payload is JSON {type(obj).__name__}, not an object")
    try:
        native = orjson.dumps(_translate(spec, obj))
    except TypeError:  # pragma: no cover - _translate only passes JSON values through
        raise DecodeError("wrong_type", "last_seen is not a time") from None
    return decode_state(native, recv_ts)


def encode_z2m(
    model: str, state: Mapping[str, float | bool | None], *, ts: float | None = None
) -> bytes:
    """A Zigbee2MQTT payload a device of ``model`` in ``state`` would publish (for simulators).

    Args:
        model: one of :data:`MODELS`.
        state: wire field → value (``lel_pct``, ``open``, ``battery_pct``, ...);
            missing or None fields are left out.
        ts: when given, sent as ``last_seen`` in epoch milliseconds.

    Raises:
        DecodeError: ``unknown_model``.
    """
    spec = model_of(model)
    out: dict[str, object] = {}
    for f in spec.fields:
        value = state.get(f.field)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if f.conversion == "bool":
            out[f.key] = bool(value)
        elif f.conversion == "invert":
            out[f.key] = not value
        elif f.conversion == "alarm":
            out[f.key] = float(value) >= f.alarm_value
        elif f.conversion == "voltage_mv":
            span = BATTERY_FULL_MV - BATTERY_EMPTY_MV
            out[f.key] = round(BATTERY_EMPTY_MV + float(value) / 100.0 * span)
        else:
            out[f.key] = _number(f.field, float(value))
    if ts is not None:
        out["last_seen"] = round(ts * 1000)
    return orjson.dumps(out)


def _number(field: str, value: float) -> float | int:
    """Integers where the device sends integers (battery %), one decimal otherwise."""
    spec = FIELDS[FIELD_INDEX[field]]
    value = min(spec.hi, max(spec.lo, value))
    return round(value) if field == "battery_pct" else round(value, 1)
