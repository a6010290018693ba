"""Rule families and which devices are quiet in each, for the engine's fast path.

Layer: pure core. A *family* is the set of rules one group of fields drives (gas on
``lel_pct``, the CO dose on ``co_ppm``, ...). A device is quiet in a family when
nothing of that family is raised or running for it; a reading whose fields are
calm (plausible and below every floor of the family, :func:`calm_bounds`) cannot
change a quiet family, so the engine runs a family's rules only on the rows of
devices that are not quiet in it or that bring a rough value. The engine keeps
one bit per family and device (set: not known to be quiet) and recomputes them
with :func:`family_bits` after the rules ran.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.rules import health
from alerts.rules.ctx import (
    BATTERY,
    CO,
    DOOR_NIGHT,
    DOOR_OPEN,
    F64,
    GAS,
    HEAT,
    IMPLAUSIBLE,
    OFFLINE,
    SMOKE,
    TAMPER,
    UNPROTECTED,
    WATER,
    Idx,
)
from alerts.rules.params import RuleParams
from alerts.rules.state import State
from sensors.fields import (
    BATTERY_LOW,
    BATTERY_PCT,
    CO_PPM,
    LEL_PCT,
    N_FIELDS,
    OPEN,
    TEMP_C,
    WATER_LEAK,
)
from sensors.fields import SMOKE as SMOKE_COL
from sensors.fields import TAMPER as TAMPER_COL

Bits = npt.NDArray[np.uint16]

# Static families first, so the static bits fit a byte.
B_DOOR, B_WELFARE, B_SEEN, B_IMPLAUSIBLE, B_BATTERY, B_TAMPER, B_GAS, B_CO, B_HEAT, B_WATER, \
    B_SMOKE = (1 << i for i in range(11))
DYNAMIC = ((1 << 11) - 1) & ~B_WELFARE  # every bit a device's state can set
MULTI = 1 << 15  # scratch: the device has more than one row in the batch

# The family a rough value of each field concerns (0: none but plausibility).
COL_BITS = np.zeros(N_FIELDS, dtype=np.uint16)
for _col, _bit in ((LEL_PCT, B_GAS), (CO_PPM, B_CO), (SMOKE_COL, B_SMOKE), (TEMP_C, B_HEAT),
                   (WATER_LEAK, B_WATER), (OPEN, B_DOOR), (BATTERY_PCT, B_BATTERY),
                   (BATTERY_LOW, B_BATTERY), (TAMPER_COL, B_TAMPER)):
    COL_BITS[_col] = _bit
# The value families (bit, field) in the order a round applies them (see the engine).
VALUE_FAMILIES = ((B_GAS, LEL_PCT), (B_CO, CO_PPM), (B_HEAT, TEMP_C), (B_WATER, WATER_LEAK),
                  (B_DOOR, OPEN))


def calm_bounds(p: RuleParams) -> tuple[F64, F64]:
    """Per field, the range ``[lo, hi)`` of values that are plausible and below every
    rule's floor over all profiles, so a row inside it (or NaN) can raise nothing in a
    quiet family. Flags are calm only when 0, except ``open`` (0 or 1)."""
    lo = health.LO.copy()
    hi = np.nextafter(health.HI, np.inf)
    zero_only = np.nextafter(0.0, 1.0)
    for col, boolean in enumerate(health.BOOLEAN.tolist()):
        if boolean and col != OPEN:
            hi[col] = zero_only
    hi[CO_PPM] = zero_only  # any ppm moves the dose
    hi[LEL_PCT] = min(hi[LEL_PCT], p.floor["gas"])
    hi[TEMP_C] = min(hi[TEMP_C], p.floor["heat"])
    lo[BATTERY_PCT] = max(lo[BATTERY_PCT], np.nextafter(p.floor["battery"], np.inf))
    return lo, hi


def static_bits(welfare_dev: npt.NDArray[np.bool_], p: RuleParams) -> npt.NDArray[np.uint8]:
    """Families every reading of a device runs: the welfare check and the night rule of
    elderly-alone households' doors, doors with a held-open limit."""
    limited = np.isfinite(p.values["door_open_max_s"].take(p.profile))
    out = np.where(limited | welfare_dev, B_DOOR, 0) | np.where(welfare_dev, B_WELFARE, 0)
    return out.astype(np.uint8)


def family_bits(st: State, static: npt.NDArray[np.uint8], d: Idx) -> Bits:
    """The bit of every family in which devices ``d`` are not quiet."""
    cd = st.cond.take(d, axis=1)
    b = static.take(d).astype(np.uint16)

    def add(mask: npt.NDArray[np.bool_], bit: int) -> None:
        b[mask] |= np.uint16(bit)

    add((cd[OFFLINE] > 0) | (cd[UNPROTECTED] > 0), B_SEEN)
    add(cd[IMPLAUSIBLE] > 0, B_IMPLAUSIBLE)
    add(cd[BATTERY] > 0, B_BATTERY)
    add(cd[TAMPER] > 0, B_TAMPER)
    add((cd[GAS] > 0) | ~np.isnan(st.gas_ws.take(d)) | ~np.isnan(st.gas_cs.take(d))
        | ~np.isnan(st.gas_clr.take(d)), B_GAS)
    add((cd[CO] > 0) | (st.co_ppm.take(d) > 0.0) | ~np.isnan(st.co_clr.take(d)), B_CO)
    add(cd[HEAT] > 0, B_HEAT)
    add((cd[WATER] > 0) | ~np.isnan(st.wet_since.take(d)) | st.water_ack.take(d), B_WATER)
    add((cd[DOOR_OPEN] > 0) | (cd[DOOR_NIGHT] > 0), B_DOOR)
    add(cd[SMOKE] > 0, B_SMOKE)
    return b


@dataclass(slots=True)
class Bad:
    """Rows (in round order) with a physically impossible value, the first such field
    and its raw value."""

    rows: Idx
    first: Idx
    raw: F64


def mark_rough(v: F64, rows: Idx, d: Idx, bits: Bits, lo: F64, hi: F64) -> tuple[F64, Bad | None]:
    """Set the family bits of devices with a rough value in rows ``rows`` of the batch's
    values ``v`` (column-major); return the values with impossible entries as NaN (a copy
    only when there are some) and where they were."""
    rough = v < lo
    rough |= v >= hi
    rough_row = rough.any(axis=1)
    opened = v[:, OPEN]
    rough_row |= (opened > 0.0) & (opened < 1.0)
    rr = rough_row.take(rows).nonzero()[0]  # rows (in order) with a rough value
    if not len(rr):
        return v, None
    br = rows[rr]
    sub = v[br]
    bad = (sub < health.LO) | (sub > health.HI)
    bad |= health.BOOLEAN & (sub * (sub - 1.0) < 0.0)
    badrow: npt.NDArray[np.bool_] = np.asarray(bad.any(axis=1))
    rb = np.bitwise_or.reduce(np.where(rough[br], COL_BITS, np.uint16(0)), axis=1)
    rb[badrow] |= np.uint16(B_IMPLAUSIBLE)
    np.bitwise_or.at(bits, d[rr], rb)
    if not badrow.any():
        return v, None
    bi = badrow.nonzero()[0]
    first = bad[bi].argmax(axis=1)
    out = Bad(rr[bi], first, sub[bi, first])
    v = np.array(v, order="F")  # impossible values read as absent
    v[br[bi]] = np.where(bad[bi], np.nan, sub[bi])
    return v, out


def _split(r: Idx, cuts: list[int]) -> list[Idx]:
    """Rows ``r`` (ascending, in round order) split by round."""
    if not cuts or not len(r) or r[-1] < cuts[0]:
        return [r] + [r[:0]] * len(cuts)
    at = [0, *np.searchsorted(r, cuts).tolist(), len(r)]
    return [r[a:b] for a, b in itertools.pairwise(at)]


@dataclass(slots=True)
class Plan:
    """Which rows (in round order, split by round) each rule family runs on in one batch.

    Attributes:
        hot: rows of devices not quiet in some family (their bits are recomputed after).
        values: per value family of the engine's table (gas, CO, heat, water, door).
        heat_cold, door_cold: rows of quiet devices that only move the last temperature
            or the door's state; ``temp`` and ``opened`` are those fields for every row.
        stuck: rows with the device's main analog value ``main``.
        any_bad, first, raw: per row, the implausible rule's inputs (empty when no row
            runs it).
    """

    flat: F64
    nb: int
    rows: Idx
    hot: Idx
    seen: list[Idx]
    implausible: list[Idx]
    battery: list[Idx]
    tamper: list[Idx]
    values: list[list[Idx]]
    smoke: list[Idx]
    welfare: list[Idx]
    heat_cold: list[Idx]
    temp: F64
    door_cold: list[Idx]
    opened: F64
    stuck: list[Idx]
    main: F64
    any_bad: npt.NDArray[np.bool_]
    first: Idx
    raw: F64

    def col(self, r: Idx, col: int) -> F64:
        """Field ``col`` of rows ``r``."""
        return self.flat.take(self.rows.take(r) + col * self.nb)

    @classmethod
    def of(cls, v: F64, rows: Idx, d: Idx, hb: Bits, cuts: list[int], bad: Bad | None,
           prim: Idx) -> Plan:
        """The plan of rows ``rows`` of values ``v`` whose devices ``d`` have bits ``hb``;
        ``prim`` is each row's main analog field (-1: none)."""
        flat = v.ravel(order="F")  # a view: field j of batch row r is flat[j * nb + r]
        nb = len(v)
        hot = hb.nonzero()[0]
        hbh = hb.take(hot)

        def family(bit: int, col: int = -1) -> list[Idx]:
            r = hot[(hbh & bit) != 0]
            if col >= 0 and len(r):
                r = r[~np.isnan(flat.take(rows.take(r) + col * nb))]
            return _split(r, cuts)

        def cold(bit: int, col: int) -> tuple[list[Idx], F64]:
            x = flat.take(rows + col * nb)
            return _split((~np.isnan(x) & ((hb & bit) == 0)).nonzero()[0], cuts), x

        heat_cold, temp = cold(B_HEAT, TEMP_C)
        door_cold, opened = cold(B_DOOR, OPEN)
        main = np.where(prim >= 0, flat.take(rows + np.maximum(prim, 0) * nb), np.nan)
        implausible = family(B_IMPLAUSIBLE)
        n = len(d) if any(len(r) for r in implausible) else 0
        any_bad = np.zeros(n, dtype=np.bool_)
        first = np.zeros(n, dtype=np.intp)
        raw = flat.take(rows) if n else np.zeros(0)  # a good row's "first" field is field 0
        if n and bad is not None:
            any_bad[bad.rows] = True
            first[bad.rows] = bad.first
            raw[bad.rows] = bad.raw
        return cls(
            flat=flat, nb=nb, rows=rows, hot=hot, seen=family(B_SEEN), implausible=implausible,
            battery=family(B_BATTERY), tamper=family(B_TAMPER, TAMPER_COL),
            values=[family(bit, col) for bit, col in VALUE_FAMILIES],
            smoke=family(B_SMOKE, SMOKE_COL), welfare=family(B_WELFARE),
            heat_cold=heat_cold, temp=temp, door_cold=door_cold, opened=opened,
            stuck=_split((~np.isnan(main)).nonzero()[0], cuts), main=main,
            any_bad=any_bad, first=first, raw=raw,
        )
