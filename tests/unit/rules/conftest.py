"""Helpers for rule-core tests: a small device table and batches built by hand."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from alerts.rules.engine import RuleEngine
from alerts.rules.params import build_params
from alerts.rules.types import Hazard, Transition
from sensors.batch import NO_SEQ, ReadingBatch, Row
from sensors.fields import FIELD_INDEX, N_FIELDS, DeviceKind
from sensors.registry import KIND_CODE, DeviceTable
from topology.rules import RuleOverrides

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC = 08:00 in Shanghai
# The fields each kind sends in random streams, and the ones every kind may send.
KIND_FIELDS = {
    DeviceKind.GAS: ["lel_pct", "co_ppm"], DeviceKind.CO: ["co_ppm"],
    DeviceKind.SMOKE: ["smoke", "temp_c"], DeviceKind.HEAT: ["temp_c"],
    DeviceKind.WATER: ["water_leak"], DeviceKind.DOOR: ["open"],
}
COMMON = ["battery_pct", "battery_low", "tamper", "rssi_dbm"]


def make_table(devices: Sequence[tuple[DeviceKind, int, int, bool]],
               heartbeat_s: float = 600.0) -> DeviceTable:
    """Devices as (kind, household row, unit row, elderly_alone)."""
    ids = [f"d{i}" for i in range(len(devices))]
    return DeviceTable(
        community="c1",
        ids=ids,
        index={d: i for i, d in enumerate(ids)},
        kind=np.array([KIND_CODE[k] for k, *_ in devices], dtype=np.int8),
        heartbeat_s=np.full(len(devices), heartbeat_s),
        household=np.array([h for _, h, _, _ in devices], dtype=np.int32),
        unit=np.array([u for _, _, u, _ in devices], dtype=np.int32),
        elderly_alone=np.array([e for *_, e in devices], dtype=np.bool_),
    )


def batch(*rows: tuple[int, float, dict[str, float]], seq: int = NO_SEQ) -> ReadingBatch:
    """A batch of (device_idx, ts, {field: value}) rows."""
    out = []
    for dev, ts, fields in rows:
        values = [np.nan] * N_FIELDS
        for k, v in fields.items():
            values[FIELD_INDEX[k]] = float(v)
        out.append(Row(f"d{dev}", dev, ts, ts, seq, values))
    return ReadingBatch.from_rows(out)


def of(trs: Sequence[Transition], hazard: Hazard) -> list[tuple[int, str | None, float, str]]:
    """(device, severity, ts, detail) of the transitions of one hazard."""
    return [(t.device_idx, t.severity and t.severity.value, t.ts, t.detail)
            for t in trs if t.hazard is hazard]


@pytest.fixture
def engine_for():
    def make(devices: Sequence[tuple[DeviceKind, int, int, bool]],
             overrides: RuleOverrides | None = None, heartbeat_s: float = 600.0) -> RuleEngine:
        table = make_table(devices, heartbeat_s)
        return RuleEngine(table, build_params(table, overrides))
    return make
