import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.errors import DecodeError
from sensors.fields import FIELD_INDEX, LEL_PCT, OPEN
from sensors.wire import MAX_PAYLOAD_BYTES, decode_availability, decode_state, parse_topic

NOW = 1_790_000_000.0


def test_state_with_ts_and_seq():
    m = decode_state(b'{"lel_pct": 12.5, "open": true, "ts": 1790000001, "seq": 7}', NOW)
    assert m.ts == 1_790_000_001.0 and m.seq == 7 and not m.skewed
    assert m.values[LEL_PCT] == 12.5 and m.values[OPEN] == 1.0
    assert math.isnan(m.values[FIELD_INDEX["co_ppm"]])


def test_rfc3339_and_millisecond_ts():
    m = decode_state(b'{"ts": "2026-09-21T21:33:21+08:00"}', 1_790_000_000.0, max_skew_s=1e9)
    assert m.device_ts == pytest.approx(1_790_084_001.0 - 86400 + 0, abs=86400)
    ms = decode_state(b'{"ts": 1790000001500}', NOW)
    assert ms.ts == pytest.approx(1_790_000_001.5)


def test_skewed_device_clock_falls_back_to_receive_time():
    m = decode_state(b'{"ts": 1000000000, "co_ppm": 5}', NOW, max_skew_s=300)
    assert m.ts == NOW and m.skewed and m.device_ts == 1e9


def test_empty_object_is_a_heartbeat():
    m = decode_state(b"{}", NOW)
    assert m.ts == NOW and all(math.isnan(v) for v in m.values)


def test_unknown_keys_are_ignored():
    assert decode_state(b'{"firmware": "1.2", "co_ppm": 3}', NOW).values[FIELD_INDEX["co_ppm"]] == 3


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'"online"', "not_object"),
        (b'{"lel_pct": "high"}', "wrong_type"),
        (b'{"lel_pct": true}', "wrong_type"),
        (b'{"smoke": 1}', "wrong_type"),
        (b'{"lel_pct": 120}', "out_of_range"),
        (b'{"temp_c": -300}', "out_of_range"),
        (b'{"rssi_dbm": 5}', "out_of_range"),
        (b'{"seq": -1}', "wrong_type"),
        (b'{"seq": 1.5}', "wrong_type"),
        (b'{"ts": "yesterday"}', "wrong_type"),
        (b'{"ts": "2026-01-01T00:00:00"}', "wrong_type"),
        (b'{"ts": -5}', "out_of_range"),
        (b'{"ts": true}', "wrong_type"),
        (b"{" + b'"a": 1,' * 1000 + b'"b": 2}', "oversize"),
    ],
)
def test_bad_payloads_raise_decode_error_with_reason(payload, reason):
    with pytest.raises(DecodeError) as e:
        decode_state(payload, NOW)
    assert e.value.reason == reason


@settings(max_examples=300)
@given(st.binary(max_size=MAX_PAYLOAD_BYTES + 10))
def test_random_bytes_only_ever_raise_decode_error(payload):
    with contextlib.suppress(DecodeError):
        decode_state(payload, NOW)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from([*FIELD_INDEX, "ts", "seq", "x"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                 st.text(max_size=5), st.lists(st.integers(), max_size=2))))
def test_random_objects_only_ever_raise_decode_error(obj):
    import json

    try:
        m = decode_state(json.dumps(obj).encode(), NOW)
    except DecodeError:
        return
    assert len(m.values) == len(FIELD_INDEX)


def test_topics():
    p = parse_topic("gridwatch/wuyang/gas-1/state")
    assert (p.community, p.device_id, p.channel) == ("wuyang", "gas-1", "state")
    for bad in ("gridwatch/wuyang/gas-1", "other/wuyang/gas-1/state", "gridwatch/wuyang/gas-1/foo",
                "gridwatch//gas-1/state", "gridwatch/wuyang/" + "x" * 100 + "/state"):
        with pytest.raises(DecodeError) as e:
            parse_topic(bad)
        assert e.value.reason == "bad_topic"


def test_availability_forms():
    assert decode_availability(b"online") is True
    assert decode_availability(b"offline") is False
    assert decode_availability(b'{"state": "online"}') is True
    assert decode_availability(b'"offline"') is False
    for bad in (b"up", b"{}", b"1"):
        with pytest.raises(DecodeError):
            decode_availability(bad)
