"""InfluxDB line protocol for reading batches: GridWatch's time-series schema.

Layer: adapters (pure functions and one encoder class; no network).

Schema (the same on InfluxDB 1.x, 2.x and 3.x)::

    measurement  reading        one point per accepted reading
                 reading_1m     1-minute aggregates (see store.influx)
                 reading_1h     1-hour aggregates
    tags         community, grid, building, device, kind
                 (whatever ``series_tags[device_id]`` holds, sorted by key;
                 ``device`` is always the device id; empty values are left out)
    fields       seq            integer, the device's counter, -1 when unknown;
                                present on every raw point, so count(seq) is
                                the exact number of readings
                 lel_pct, co_ppm, smoke, ...   float, one per sensors.fields
                                name the reading carried (absent = no field);
                                flags are 0 / 1 floats so mean() gives the share
                                of a window they were true
    time         the event time in ns: microseconds from ``ts``, and the last
                 three digits ``seq % 1000`` (0 without seq)

A point is keyed by measurement + tag set + time, so the same reading written
twice (same device, event time and seq: an MQTT redelivery or a spool replay)
overwrites itself, and two readings of one device that share a timestamp but
not a seq both survive.

Escaping: tag keys and values escape comma, equals sign and space with a
backslash; Chinese and other UTF-8 text is written as is. Backslashes become
``/`` and control characters a space, because InfluxDB 1.x keeps ``\\\\`` literally
while 2.x and 3.x unescape it: no spelling reads back the same everywhere.

Encoding is vectorised: each row is laid out in a fixed-width byte matrix (the
cached per-series key prefix, then one column block per field, digits computed
with NumPy and padded with NUL bytes) and the NULs are dropped in one C pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from sensors.batch import ReadingBatch
from sensors.fields import FIELDS

MEASUREMENT = "reading"
ROLLUP_1M = "reading_1m"
ROLLUP_1H = "reading_1h"
TAG_KEYS = ("community", "grid", "building", "device", "kind")
SEQ_FIELD = "seq"

_TAG_ESCAPES = str.maketrans(
    {",": "\\,", "=": "\\=", " ": "\\ ", "\\": "/", "\n": " ", "\r": " ", "\t": " ", "\0": ""}
)
_MEASUREMENT_ESCAPES = str.maketrans(
    {",": "\\,", " ": "\\ ", "\\": "/", "\n": " ", "\r": " ", "\t": " ", "\0": ""}
)
_U8 = np.uint8
_ZERO, _MINUS, _DOT = 48, 45, 46
_FRAC_DIGITS = 6
_FRAC_SCALE = 10.0**_FRAC_DIGITS
# Above this a value is written with repr(): its scaled form would leave the exact int range.
_FIXED_LIMIT = 1e9


def escape_tag(text: str) -> str:
    """Escape a tag key or value (comma, equals sign, space; see the module docstring)."""
    return text.translate(_TAG_ESCAPES)


def escape_measurement(text: str) -> str:
    """Escape a measurement name (comma, space)."""
    return text.translate(_MEASUREMENT_ESCAPES)


def series_prefix(measurement: str, tags: Mapping[str, str]) -> str:
    """The series key of a point followed by the space before its fields.

    Args:
        measurement: the measurement name.
        tags: tag key → value; sorted by key (what InfluxDB stores), empty values left out.
    """
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        value = escape_tag(str(tags[key]))
        if value:
            parts.append(f"{escape_tag(key)}={value}")
    return ",".join(parts) + " "


def timestamps_ns(ts: npt.NDArray[np.float64], seq: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Point timestamps: event time in whole microseconds, ``seq % 1000`` in the last digits."""
    us = np.rint(ts * 1e6).astype(np.int64)
    return us * 1000 + np.where(seq >= 0, seq % 1000, 0)


def ts_from_ns(ns: int) -> float:
    """Event time (epoch s) of a raw point from its timestamp (drops the seq digits)."""
    return (ns // 1000) / 1e6


def format_field_value(value: float | int | bool) -> str:
    """One field value in line protocol (int → ``5i``, float → repr, bool → 0/1 float)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return f"{value}i"
    if not math.isfinite(value):
        raise ValueError(f"InfluxDB cannot store {value!r}")
    return repr(float(value))


def format_point(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, float | int | bool], ts_ns: int
) -> str:
    """One point as a line (no newline); the slow path for rollups and tests."""
    body = ",".join(f"{escape_tag(k)}={format_field_value(v)}" for k, v in fields.items())
    return f"{series_prefix(measurement, tags)}{body} {ts_ns}"


class LineEncoder:
    """Encodes reading batches to line protocol with cached per-series key prefixes.

    Args:
        series_tags: device id → tags (community, grid, building, device, kind).
            A device missing from it gets only the ``device`` tag.
        measurement: the measurement raw readings go to.
    """

    def __init__(
        self, series_tags: Mapping[str, Mapping[str, str]], *, measurement: str = MEASUREMENT
    ) -> None:
        self._series_tags = series_tags
        self._measurement = measurement
        self._code: dict[str, int] = {}
        self._prefixes: list[bytes] = []
        self._prefix_arr: npt.NDArray[np.bytes_] = np.array([], dtype="S1")
        self._field_names = [f",{escape_tag(f.name)}=".encode() for f in FIELDS]
        self._names_cache: dict[tuple[int, ...], npt.NDArray[np.uint8]] = {}

    def prefix(self, device_id: str) -> str:
        """The cached series key (plus trailing space) of a device's raw points."""
        self._codes([device_id])
        return self._prefixes[self._code[device_id]].decode()

    def encode(self, batch: ReadingBatch, start: int = 0, stop: int | None = None) -> bytes:
        """Rows ``start:stop`` of a batch as newline-terminated line protocol.

        Rows come out grouped by the set of fields they carry (a kind's rows
        together); the order of points in one write does not matter to InfluxDB.
        """
        stop = len(batch) if stop is None else min(stop, len(batch))
        n = stop - start
        if n <= 0:
            return b""
        codes = self._codes(batch.device_ids[start:stop])
        values = batch.values[start:stop]
        finite = np.isfinite(values)
        seq = batch.seq[start:stop]
        head = np.hstack(
            [
                _as_matrix(self._prefix_arr[codes], n),
                _const(b"seq=", n),
                *_int_block(seq),
                _const(b"i", n),
            ]
        )
        tail = np.hstack(
            [
                _const(b" ", n),
                *_ts_block(timestamps_ns(batch.ts[start:stop], seq)),
                _const(b"\n", n),
            ]
        )
        # Rows grouped by which fields they carry, so every field column of a group is dense.
        pattern = finite @ (1 << np.arange(finite.shape[1], dtype=np.int64))
        kinds, group = np.unique(pattern, return_inverse=True)
        parts = []
        for k, kind in enumerate(kinds.tolist()):
            rows = np.flatnonzero(group == k) if len(kinds) > 1 else np.arange(n)
            cols = [c for c in range(finite.shape[1]) if kind >> c & 1]
            fields = self._fields(values[np.ix_(rows, np.array(cols, dtype=np.intp))], cols)
            parts.append(np.hstack([head[rows], fields, tail[rows]]).tobytes())
        return b"".join(parts).translate(None, b"\0")

    def _fields(self, v: npt.NDArray[np.float64], cols: list[int]) -> npt.NDArray[np.uint8]:
        """``,name=value`` for every cell of a dense (rows, fields) block, one NumPy pass per digit."""
        m, k = v.shape
        if not k:
            return np.empty((m, 0), _U8)
        mag = np.abs(v)
        small = mag < _FIXED_LIMIT
        scaled = np.rint(np.where(small, mag, 0.0) * _FRAC_SCALE)
        if not (small & (scaled / _FRAC_SCALE == mag)).all():
            every = np.ones(m, dtype=np.bool_)
            return np.hstack(
                [
                    b
                    for j, c in enumerate(cols)
                    for b in _field_block(self._field_names[c], v[:, j], every)
                ]
            )
        whole, frac = np.divmod(scaled.astype(np.int64), 10**_FRAC_DIGITS)
        names = self._names_matrix(tuple(cols))
        parts = [np.broadcast_to(names, (m, *names.shape))]
        neg = (v < 0) & ((whole != 0) | (frac != 0))
        if neg.any():
            parts.append(np.where(neg, _MINUS, 0).astype(_U8)[..., None])
        parts.append(_digits(whole, _int_width(int(whole.max())), keep_leading=False))
        if frac.any():
            parts.extend(_frac_block(frac))
        return np.concatenate(parts, axis=2).reshape(m, -1)

    def _names_matrix(self, cols: tuple[int, ...]) -> npt.NDArray[np.uint8]:
        names = self._names_cache.get(cols)
        if names is None:
            texts = [self._field_names[c] for c in cols]
            width = max(len(t) for t in texts)
            names = _as_matrix(np.array(texts, dtype=f"S{width}"), len(texts))
            self._names_cache[cols] = names
        return names

    def _codes(self, device_ids: list[str]) -> npt.NDArray[np.intp]:
        try:
            return np.fromiter(map(self._code.__getitem__, device_ids), np.intp, len(device_ids))
        except KeyError:
            for device_id in device_ids:
                if device_id not in self._code:
                    self._add(device_id)
            return np.fromiter(map(self._code.__getitem__, device_ids), np.intp, len(device_ids))

    def _add(self, device_id: str) -> None:
        tags = dict(self._series_tags.get(device_id, {}))
        tags["device"] = device_id
        prefix = series_prefix(self._measurement, tags).encode().replace(b"\0", b"")
        self._code[device_id] = len(self._prefixes)
        self._prefixes.append(prefix)
        width = max(len(p) for p in self._prefixes)
        self._prefix_arr = np.array(self._prefixes, dtype=f"S{width}")


def _as_matrix(strings: npt.NDArray[np.bytes_], n: int) -> npt.NDArray[np.uint8]:
    return np.ascontiguousarray(strings).view(_U8).reshape(n, strings.dtype.itemsize)


def _const(text: bytes, n: int) -> npt.NDArray[np.uint8]:
    return np.broadcast_to(np.frombuffer(text, _U8), (n, len(text)))


def _digits(x: npt.NDArray[np.int64], width: int, *, keep_leading: bool) -> npt.NDArray[np.uint8]:
    """Decimal digits of non-negative ints on a new last axis; leading zeros NUL unless kept."""
    out = np.empty((*x.shape, width), _U8)
    rest = x
    for j in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[..., j] = digit
    out += _ZERO
    if not keep_leading:
        for j in range(width - 1):
            np.multiply(out[..., j], x >= 10 ** (width - 1 - j), out=out[..., j])
    return out


def _int_width(x_max: int) -> int:
    return max(1, len(str(x_max)))


def _int_block(x: npt.NDArray[np.int64]) -> list[npt.NDArray[np.uint8]]:
    """Signed ints as decimal text (NUL-padded)."""
    neg = x < 0
    mag = np.abs(x)
    digits = _digits(mag, _int_width(int(mag.max())), keep_leading=False)
    if not neg.any():
        return [digits]
    return [np.where(neg, _MINUS, 0).astype(_U8)[..., None], digits]


def _ts_block(ns: npt.NDArray[np.int64]) -> list[npt.NDArray[np.uint8]]:
    """Timestamps: digits shared by every row are written once (broadcast), the rest computed."""
    lo, hi = int(ns.min()), int(ns.max())
    if lo <= 0:
        return _int_block(ns)
    k = 1
    while lo // 10**k != hi // 10**k:
        k += 1
    head = lo // 10**k
    if head == 0:
        return _int_block(ns)
    return [_const(str(head).encode(), len(ns)), _digits(ns - head * 10**k, k, keep_leading=True)]


def _field_block(
    name: bytes, v: npt.NDArray[np.float64], finite: npt.NDArray[np.bool_]
) -> list[npt.NDArray[np.uint8]]:
    """``,name=value`` for every row, all NUL where the value is absent."""
    n = len(v)
    mag = np.abs(np.where(finite, v, 0.0))
    small = mag < _FIXED_LIMIT
    scaled = np.rint(np.where(small, mag, 0.0) * _FRAC_SCALE)
    exact = small & (scaled / _FRAC_SCALE == mag)
    fixed_rows = finite & exact
    scaled_int = np.where(fixed_rows, scaled, 0.0).astype(np.int64)
    whole, frac = np.divmod(scaled_int, 10**_FRAC_DIGITS)
    blocks = []
    neg = (v < 0) & (scaled_int != 0)
    if neg.any():
        blocks.append(np.where(neg, _MINUS, 0).astype(_U8)[:, None])
    blocks.append(_digits(whole, _int_width(int(whole.max())), keep_leading=False))
    if frac.any():
        blocks.extend(_frac_block(frac))
    odd_rows = finite & ~exact
    if odd_rows.any():
        for block in blocks:
            np.multiply(block, fixed_rows[:, None], out=block)
        blocks.append(_repr_block(v, odd_rows))
    if finite.all():
        return [_const(name, n), *blocks]
    for block in blocks:
        np.multiply(block, finite[:, None], out=block)
    return [np.where(finite[:, None], np.frombuffer(name, _U8), 0).astype(_U8), *blocks]


def _frac_block(frac: npt.NDArray[np.int64]) -> list[npt.NDArray[np.uint8]]:
    """``.`` and the fraction digits, trailing zeros (and the dot for whole numbers) NUL."""
    width = _FRAC_DIGITS
    while width > 1 and not (frac % 10 ** (_FRAC_DIGITS - width + 1)).any():
        width -= 1
    short = frac // 10 ** (_FRAC_DIGITS - width)
    digits = _digits(short, width, keep_leading=True)
    for j in range(width):
        np.multiply(digits[..., j], short % 10 ** (width - j) != 0, out=digits[..., j])
    return [np.where(short != 0, _DOT, 0).astype(_U8)[..., None], digits]


def _repr_block(v: npt.NDArray[np.float64], rows: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """repr() of the values the fixed-point path cannot write exactly (rare)."""
    idx = np.flatnonzero(rows)
    texts = [repr(x).encode() for x in v[idx].tolist()]
    width = max(len(t) for t in texts)
    out = np.zeros((len(v), width), _U8)
    out[idx] = _as_matrix(np.array(texts, dtype=f"S{width}"), len(idx))
    return out
