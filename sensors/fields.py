"""The reading fields of the MQTT wire contract, their types and physical ranges.

Layer: pure core. The order of ``FIELDS`` is the column order of
:class:`sensors.batch.ReadingBatch.values`; booleans are stored as 0.0 / 1.0 and
an absent field as NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeviceKind(StrEnum):
    """What a device is; decides which rules apply and who fixes it."""

    GAS = "gas"  # combustible gas, %LEL; often also CO ppm
    CO = "co"  # carbon monoxide alarm, ppm
    SMOKE = "smoke"  # smoke alarm, maybe density and temperature
    HEAT = "heat"  # heat detector, temperature
    WATER = "water"  # water leak, wet / dry
    DOOR = "door"  # door contact, open / closed
    GATEWAY = "gateway"  # a hub or gateway that other devices talk through


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One reading field of the wire contract.

    Attributes:
        name: the JSON key, which carries its unit (``lel_pct``, ``co_ppm``).
        boolean: True for a flag (JSON ``true`` / ``false``).
        lo: lowest physically possible value (numbers only).
        hi: highest physically possible value (numbers only).
    """

    name: str
    boolean: bool = False
    lo: float = 0.0
    hi: float = 0.0


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("lel_pct", lo=0.0, hi=100.0),
    FieldSpec("co_ppm", lo=0.0, hi=10_000.0),
    FieldSpec("smoke", boolean=True),
    FieldSpec("smoke_density_dbm", lo=0.0, hi=50.0),  # obscuration, dB/m
    FieldSpec("temp_c", lo=-50.0, hi=250.0),
    FieldSpec("water_leak", boolean=True),
    FieldSpec("open", boolean=True),
    FieldSpec("battery_pct", lo=0.0, hi=100.0),
    FieldSpec("battery_low", boolean=True),
    FieldSpec("tamper", boolean=True),
    FieldSpec("rssi_dbm", lo=-150.0, hi=0.0),
)

N_FIELDS = len(FIELDS)
FIELD_INDEX: dict[str, int] = {f.name: i for i, f in enumerate(FIELDS)}

# Column indices, for code that reads the value matrix directly.
LEL_PCT = FIELD_INDEX["lel_pct"]
CO_PPM = FIELD_INDEX["co_ppm"]
SMOKE = FIELD_INDEX["smoke"]
SMOKE_DENSITY_DBM = FIELD_INDEX["smoke_density_dbm"]
TEMP_C = FIELD_INDEX["temp_c"]
WATER_LEAK = FIELD_INDEX["water_leak"]
OPEN = FIELD_INDEX["open"]
BATTERY_PCT = FIELD_INDEX["battery_pct"]
BATTERY_LOW = FIELD_INDEX["battery_low"]
TAMPER = FIELD_INDEX["tamper"]
RSSI_DBM = FIELD_INDEX["rssi_dbm"]

# Which fields each kind is expected to send (others are accepted and stored).
KIND_FIELDS: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.GAS: ("lel_pct", "co_ppm", "battery_pct", "battery_low", "tamper", "rssi_dbm"),
    DeviceKind.CO: ("co_ppm", "battery_pct", "battery_low", "tamper", "rssi_dbm"),
    DeviceKind.SMOKE: (
        "smoke", "smoke_density_dbm", "temp_c", "battery_pct", "battery_low", "tamper", "rssi_dbm",
    ),
    DeviceKind.HEAT: ("temp_c", "battery_pct", "battery_low", "tamper", "rssi_dbm"),
    DeviceKind.WATER: ("water_leak", "battery_pct", "battery_low", "tamper", "rssi_dbm"),
    DeviceKind.DOOR: ("open", "battery_pct", "battery_low", "tamper", "rssi_dbm"),
    DeviceKind.GATEWAY: ("rssi_dbm",),
}
