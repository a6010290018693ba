"""Line protocol encoding: the vectorised encoder against a plain parser of its output."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.batch import ReadingBatch
from sensors.fields import FIELDS, N_FIELDS
from store.lineprotocol import (
    LineEncoder,
    escape_tag,
    format_point,
    series_prefix,
    timestamps_ns,
    ts_from_ns,
)

_UNESCAPED = {
    "space": re.compile(r"(?<!\\) "),
    "comma": re.compile(r"(?<!\\),"),
    "eq": re.compile(r"(?<!\\)="),
}


def unescape(text: str) -> str:
    return re.sub(r"\\([, =])", r"\1", text)


def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, str], int]:
    """A small line-protocol reader (enough for what the encoder writes)."""
    key, fields, ts = _UNESCAPED["space"].split(line)
    measurement, *tag_parts = _UNESCAPED["comma"].split(key)
    tags = dict(
        tuple(unescape(x) for x in _UNESCAPED["eq"].split(p, maxsplit=1)) for p in tag_parts
    )
    field_map = dict(f.split("=", 1) for f in fields.split(","))
    return measurement, tags, field_map, int(ts)


def parse_value(text: str) -> float | int:
    return int(text[:-1]) if text.endswith("i") else float(text)


def make_batch(
    device_ids: list[str], ts: list[float], seq: list[int], values: list[list[float]]
) -> ReadingBatch:
    n = len(device_ids)
    return ReadingBatch(
        device_ids=device_ids,
        device_idx=np.zeros(n, np.int32),
        ts=np.array(ts, dtype=np.float64),
        recv_ts=np.array(ts, dtype=np.float64),
        seq=np.array(seq, dtype=np.int64),
        values=np.array(values, dtype=np.float64).reshape(n, N_FIELDS),
    )


def check_round_trip(
    encoder: LineEncoder, b: ReadingBatch, tags: dict[str, dict[str, str]]
) -> None:
    text = encoder.encode(b).decode()
    assert text.endswith("\n") or not len(b)
    lines = text.splitlines()
    assert len(lines) == len(b)
    got = {}
    for line in lines:
        measurement, line_tags, fields, ts = parse_line(line)
        assert measurement == "reading"
        got[(line_tags["device"], ts)] = (line_tags, {k: parse_value(v) for k, v in fields.items()})
    ns = timestamps_ns(b.ts, b.seq)
    for i, device in enumerate(b.device_ids):
        line_tags, fields = got[(device, int(ns[i]))]
        want_tags = {k: v for k, v in {**tags.get(device, {}), "device": device}.items() if v}
        assert line_tags == want_tags
        want = {"seq": int(b.seq[i])}
        want |= {
            f.name: float(b.values[i, c])
            for c, f in enumerate(FIELDS)
            if math.isfinite(b.values[i, c])
        }
        assert fields == want
        assert isinstance(fields["seq"], int)


def test_known_line() -> None:
    tags = {"d1": {"community": "幸福 社区", "grid": "g=1", "building": "1,2", "kind": "gas"}}
    values = [math.nan] * N_FIELDS
    values[0], values[2], values[10] = 2.5, 1.0, -71.0
    b = make_batch(["d1"], [1_700_000_000.25], [7], [values])
    assert (
        LineEncoder(tags).encode(b)
        == (
            "reading,building=1\\,2,community=幸福\\ 社区,device=d1,grid=g\\=1,kind=gas "
            "seq=7i,lel_pct=2.5,smoke=1,rssi_dbm=-71 1700000000250000007\n"
        ).encode()
    )


def test_escaping() -> None:
    assert escape_tag("a b,c=d") == "a\\ b\\,c\\=d"
    assert escape_tag("东区\\1\n") == "东区/1 "
    assert series_prefix("reading", {"kind": "", "device": "x y"}) == "reading,device=x\\ y "


def test_format_point_matches_encoder() -> None:
    tags = {"d": {"community": "c", "kind": "co"}}
    values = [math.nan] * N_FIELDS
    values[1] = 35.125
    b = make_batch(["d"], [1_700_000_000.0], [-1], [values])
    line = format_point(
        "reading",
        {**tags["d"], "device": "d"},
        {"seq": -1, "co_ppm": 35.125},
        1_700_000_000 * 10**9,
    )
    assert LineEncoder(tags).encode(b).decode() == line + "\n"


def test_timestamps_keep_microseconds_and_seq() -> None:
    ns = timestamps_ns(np.array([1_700_000_000.123456, 1.5]), np.array([1234, -1]))
    assert ns.tolist() == [1_700_000_000_123_456_234, 1_500_000_000]
    assert ts_from_ns(int(ns[0])) == 1_700_000_000.123456


def test_empty_and_slices() -> None:
    enc = LineEncoder({})
    values = [[float(i)] + [math.nan] * (N_FIELDS - 1) for i in range(5)]
    b = make_batch(
        [f"d{i}" for i in range(5)], [100.0 + i for i in range(5)], list(range(5)), values
    )
    assert enc.encode(b, 5) == b""
    assert enc.encode(b, 1, 3).count(b"\n") == 2
    assert enc.encode(b, 3, 99).count(b"\n") == 2


@pytest.mark.parametrize(
    "value", [0.1 + 0.2, 1e-7, 123456789012.5, -0.0, 5e-324, 1.7976931348623157e308, -42.000001]
)
def test_awkward_floats_round_trip_exactly(value: float) -> None:
    values = [math.nan] * N_FIELDS
    values[4] = value
    b = make_batch(["d"], [10.0], [1], [values])
    check_round_trip(LineEncoder({}), b, {})


names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: "\\" not in s and s.strip() == s and s != ""
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
rounded = st.integers(-(10**7), 10**7).map(lambda x: x / 1000)
cell = st.one_of(st.just(math.nan), finite, rounded, st.sampled_from([0.0, 1.0]))


rows = st.lists(
    st.tuples(st.integers(0, 3), st.lists(cell, min_size=N_FIELDS, max_size=N_FIELDS)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(
    devices=st.lists(names, min_size=4, max_size=4, unique=True),
    community=names,
    rows=rows,
    step_s=st.sampled_from([0.001, 0.5, 3600.0]),
)
def test_encoder_round_trips_random_batches(
    devices: list[str], community: str, rows: list[tuple[int, list[float]]], step_s: float
) -> None:
    tags = {d: {"community": community, "kind": "gas", "grid": ""} for d in devices[:-1]}
    n = len(rows)
    b = make_batch(
        device_ids=[devices[d] for d, _ in rows],
        ts=[1_600_000_000.0 + i * step_s for i in range(n)],
        seq=list(range(-1, n - 1)),
        values=[v for _, v in rows],
    )
    check_round_trip(LineEncoder(tags), b, tags)
