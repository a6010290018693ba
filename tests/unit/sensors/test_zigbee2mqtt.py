"""Zigbee2MQTT payloads ↔ wire fields: real payloads, round trips, and hostile input."""

from __future__ import annotations

import contextlib
import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.errors import DecodeError
from sensors.fields import FIELD_INDEX
from sensors.zigbee2mqtt import (
    CO_ALARM_PPM,
    GAS_ALARM_LEL_PCT,
    MODELS,
    decode_z2m,
    encode_z2m,
    parse_z2m_topic,
    z2m_availability_topic,
    z2m_state_topic,
)

NOW = 1_760_000_000.0


def _values(msg) -> dict[str, float]:
    return {name: msg.values[i] for name, i in FIELD_INDEX.items() if not math.isnan(msg.values[i])}


# Payloads as Zigbee2MQTT 1.x/2.x publishes them for these models.
REAL = [
    (
        "HS1CG",
        b'{"battery_low":false,"gas":false,"linkquality":120,"tamper":false}',
        {"lel_pct": 0.0, "battery_low": 0.0, "tamper": 0.0},
    ),
    (
        "HS1CG",
        b'{"battery_low":false,"gas":true,"linkquality":116,"tamper":false}',
        {"lel_pct": GAS_ALARM_LEL_PCT, "battery_low": 0.0, "tamper": 0.0},
    ),
    (
        "HS1SA",
        b'{"battery":83,"battery_low":false,"linkquality":87,"smoke":true,"tamper":false}',
        {"smoke": 1.0, "battery_pct": 83.0, "battery_low": 0.0, "tamper": 0.0},
    ),
    (
        "HS1CA",
        b'{"battery":100,"battery_low":false,"carbon_monoxide":true,"linkquality":90}',
        {"co_ppm": CO_ALARM_PPM, "battery_pct": 100.0, "battery_low": 0.0},
    ),
    (
        "SJCGQ11LM",
        b'{"battery":91,"device_temperature":24,"linkquality":63,'
        b'"power_outage_count":3,"voltage":2995,"water_leak":true}',
        {"water_leak": 1.0, "battery_pct": 91.0},
    ),
    (
        "MCCGQ11LM",
        b'{"battery":100,"contact":true,"device_temperature":22,"linkquality":102,'
        b'"power_outage_count":1,"voltage":3025}',
        {"open": 0.0, "battery_pct": 100.0},
    ),
    ("MCCGQ11LM", b'{"contact":false,"linkquality":99}', {"open": 1.0}),
    (
        "JT-BZ-01AQ/A",
        b'{"gas":true,"gas_density":12.5,"gas_sensitivity":"15%LEL",'
        b'"linkquality":160,"self_test_result":"preparation","state":"work"}',
        {"lel_pct": 12.5},
    ),
    ("JT-BZ-01AQ/A", b'{"gas":true,"linkquality":160}', {"lel_pct": GAS_ALARM_LEL_PCT}),
]


@pytest.mark.parametrize(("model", "payload", "expected"), REAL)
def test_real_payloads(model, payload, expected):
    msg = decode_z2m(model, payload, NOW)
    assert _values(msg) == expected
    assert msg.ts == NOW and msg.seq == -1


def test_voltage_gives_battery_only_without_a_percentage():
    assert _values(decode_z2m("SJCGQ11LM", b'{"water_leak":false,"voltage":2750}', NOW)) == {
        "water_leak": 0.0,
        "battery_pct": 50.0,
    }


def test_last_seen_becomes_the_reading_time():
    msg = decode_z2m(
        "HS1SA", orjson.dumps({"smoke": False, "last_seen": int((NOW - 5) * 1000)}), NOW
    )
    assert msg.ts == NOW - 5
    msg = decode_z2m("HS1SA", b'{"smoke":false,"last_seen":"2025-10-09T16:53:15+08:00"}', NOW)
    assert msg.device_ts == 1760000000 - 5 and msg.skewed is False


def test_nulls_are_unknown_values():
    assert _values(decode_z2m("HS1SA", b'{"smoke":null,"battery":null}', NOW)) == {}


@pytest.mark.parametrize(
    ("model", "payload", "reason"),
    [
        ("HS1CG", b'{"gas":"yes"}', "wrong_type"),
        ("MCCGQ11LM", b'{"contact":1}', "wrong_type"),
        ("HS1SA", b'{"battery":"83"}', "wrong_type"),
        ("HS1SA", b'{"battery":130}', "out_of_range"),
        ("JT-BZ-01AQ/A", b'{"gas_density":-1}', "out_of_range"),
        ("HS1SA", b"[]", "not_object"),
        ("HS1SA", b"{", "not_json"),
        ("HS1SA", b'{"last_seen":[1]}', "wrong_type"),
        ("XYZ", b"{}", "unknown_model"),
        (None, b"{}", "unknown_model"),
        ("HS1SA", b"{" + b" " * 5000 + b"}", "oversize"),
    ],
)
def test_bad_payloads_raise_decode_error_with_a_reason(model, payload, reason):
    with pytest.raises(DecodeError) as info:
        decode_z2m(model, payload, NOW)
    assert info.value.reason == reason


def test_topics():
    assert z2m_state_topic("kitchen/gas") == "zigbee2mqtt/kitchen/gas"
    assert parse_z2m_topic("zigbee2mqtt/kitchen/gas") == ("kitchen/gas", "state")
    assert parse_z2m_topic(z2m_availability_topic("k1")) == ("k1", "availability")
    for bad in ("zigbee2mqtt/bridge/state", "zigbee2mqtt/k1/set", "other/k1", "zigbee2mqtt/"):
        with pytest.raises(DecodeError):
            parse_z2m_topic(bad)


STATE = st.fixed_dictionaries(
    {},
    optional={
        "lel_pct": st.floats(0, 100),
        "co_ppm": st.floats(0, 10_000),
        "smoke": st.booleans(),
        "water_leak": st.booleans(),
        "open": st.booleans(),
        "battery_pct": st.integers(0, 100),
        "battery_low": st.booleans(),
        "tamper": st.booleans(),
    },
)


@given(model=st.sampled_from(sorted(MODELS)), state=STATE)
def test_encode_then_decode_keeps_what_the_model_can_say(model, state):
    decoded = _values(decode_z2m(model, encode_z2m(model, state), NOW))
    for field in {f.field for f in MODELS[model].fields}:
        if field not in state:
            continue
        conversions = {f.conversion for f in MODELS[model].fields if f.field == field}
        want = float(state[field])
        if conversions == {"alarm"}:
            alarm = next(f.alarm_value for f in MODELS[model].fields if f.field == field)
            want = alarm if want >= alarm else 0.0
        assert decoded[field] == pytest.approx(want, abs=0.05), (field, state)


@settings(max_examples=300)
@given(model=st.sampled_from([*sorted(MODELS), "nope"]), payload=st.binary(max_size=300))
def test_random_bytes_only_raise_decode_error(model, payload):
    with contextlib.suppress(DecodeError):
        decode_z2m(model, payload, NOW)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = sorted({f.key for m in MODELS.values() for f in m.fields} | {"last_seen", "linkquality"})


@settings(max_examples=300)
@given(
    model=st.sampled_from(sorted(MODELS)),
    obj=st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), JSON_VALUES, max_size=6),
)
def test_random_json_objects_only_raise_decode_error(model, obj):
    try:
        payload = orjson.dumps(obj)
    except TypeError:  # integers beyond 64 bits: not JSON orjson can write
        payload = str(obj).encode()
    with contextlib.suppress(DecodeError):
        decode_z2m(model, payload, NOW)
