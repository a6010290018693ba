"""What one simulated device reports: its readings now, battery, signal, and injected hazards.

Layer: simulator, pure part. No clock, no network: every function takes ``now``
(epoch seconds) and draws randomness from the caller's NumPy ``Generator``, so
a unit test can run a day of a device in microseconds.

Hazards a test or a scenario can inject (``HAZARDS``):

============  ==================  ============================================
name          devices             what the device reports
============  ==================  ============================================
gas_leak      gas                 %LEL rising 2 %LEL/s up to 30, every second
co            gas, co             CO steady at 150 ppm
smoke         smoke               smoke alarm on, obscuration 0.3 dB/m
fire          smoke, heat         smoke at once, then temperature rising
water_leak    water               wet
door_open     door                held open
silent        any                 nothing at all (a dead battery, a lost link)
tamper        any battery device  tamper switch open (removed from its base)
battery_low   any battery device  8 %, low-battery flag
============  ==================  ============================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sensors.fields import FIELDS, KIND_FIELDS, DeviceKind

MAINS_HEARTBEAT_MAX_S = 300.0  # devices reporting this often are taken as mains powered
BATTERY_LOW_PCT = 20.0
AMBIENT_TEMP_C = (16.0, 26.0)
SMOKE_DENSITY_ALARM_DBM = 0.3  # above GB 4715-2024's 0.05 dB/m response threshold

_FIELD_SPEC = {f.name: f for f in FIELDS}


@dataclass(frozen=True, slots=True)
class SimDevice:
    """The fixed facts of a simulated device, taken from the site file.

    Attributes:
        id: device id.
        kind: device kind.
        heartbeat_s: its reporting interval in the site file.
        place_kind: ``household``, ``unit`` or ``building``.
        elderly_alone: installed in an elderly-alone household.
        model: device model (decides the Zigbee2MQTT format).
        z2m_name: Zigbee2MQTT friendly name, when it speaks that format.
        location: where in the place (``厨房``, ``单元门``).
    """

    id: str
    kind: DeviceKind
    heartbeat_s: float
    place_kind: str = "household"
    elderly_alone: bool = False
    model: str | None = None
    z2m_name: str | None = None
    location: str | None = None

    @property
    def mains(self) -> bool:
        """True for mains-powered devices (gateways, plug-in detectors): no battery fields."""
        return self.kind == DeviceKind.GATEWAY or self.heartbeat_s <= MAINS_HEARTBEAT_MAX_S


@dataclass(frozen=True, slots=True)
class Hazard:
    """An injected condition and when it started (wall-clock epoch seconds)."""

    name: str
    started_ts: float


@dataclass(slots=True)
class DeviceState:
    """What a device currently measures; changed by routines and hazards."""

    battery_start_pct: float
    drain_pct_per_day: float
    rssi_base_dbm: float
    ambient_temp_c: float
    skew_s: float = 0.0
    seq: int = 0
    open: bool = False
    lel_pct: float = 0.0
    co_ppm: float = 0.0
    water_leak: bool = False
    tamper: bool = False
    hazard: Hazard | None = None
    extra: dict[str, float] = field(default_factory=dict)  # meal-time blips
    link_down_until: float = float("-inf")  # wall time a lost radio link comes back


def initial_state(device: SimDevice, rng: np.random.Generator, seq0: int) -> DeviceState:
    """A device as found on the first day: a used battery, its own signal strength."""
    weak = rng.random() < 0.01  # a few batteries are already near the end
    battery = rng.uniform(15.0, 30.0) if weak else rng.uniform(45.0, 100.0)
    skew = rng.uniform(-2.0, 2.0) if rng.random() < 0.05 else 0.0
    return DeviceState(
        battery_start_pct=100.0 if device.mains else float(battery),
        drain_pct_per_day=0.0 if device.mains else float(rng.uniform(0.08, 0.15)),
        rssi_base_dbm=float(rng.uniform(-88.0, -50.0)),
        ambient_temp_c=float(rng.uniform(*AMBIENT_TEMP_C)),
        skew_s=float(skew),
        seq=seq0,
    )


# --- hazards ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HazardSpec:
    """How an injected hazard changes a device's readings.

    Attributes:
        kinds: device kinds it applies to (empty: any kind).
        battery_only: only for battery-powered devices.
        report_every_s: how often the device reports while it lasts (wall
            seconds; None: only the usual heartbeats).
        values: ``(elapsed_s, device, state) -> readings`` while it lasts.
    """

    kinds: frozenset[DeviceKind]
    battery_only: bool
    report_every_s: float | None
    values: Callable[[float, SimDevice, DeviceState], dict[str, float | bool]]


GAS_LEAK_LEL_PCT_PER_S = 2.0
GAS_LEAK_MAX_LEL_PCT = 30.0
CO_HAZARD_PPM = 150.0
FIRE_HEAT_DELAY_S = 20.0
FIRE_TEMP_C_PER_S = 1.5
FIRE_MAX_TEMP_C = 95.0


def _fire(elapsed_s: float, device: SimDevice, state: DeviceState) -> dict[str, float | bool]:
    delay = FIRE_HEAT_DELAY_S if device.kind == DeviceKind.SMOKE else 0.0
    temp = state.ambient_temp_c + max(0.0, elapsed_s - delay) * FIRE_TEMP_C_PER_S
    out: dict[str, float | bool] = {"temp_c": min(FIRE_MAX_TEMP_C, temp)}
    if device.kind == DeviceKind.SMOKE:
        out["smoke"] = True
        out["smoke_density_dbm"] = min(2.0, 0.1 + 0.05 * elapsed_s)
    return out


HAZARDS: dict[str, HazardSpec] = {
    "gas_leak": HazardSpec(
        frozenset({DeviceKind.GAS}),
        False,
        1.0,
        lambda t, d, s: {"lel_pct": min(GAS_LEAK_MAX_LEL_PCT, GAS_LEAK_LEL_PCT_PER_S * t)},
    ),
    "co": HazardSpec(
        frozenset({DeviceKind.GAS, DeviceKind.CO}),
        False,
        5.0,
        lambda t, d, s: {"co_ppm": CO_HAZARD_PPM},
    ),
    "smoke": HazardSpec(
        frozenset({DeviceKind.SMOKE}),
        False,
        5.0,
        lambda t, d, s: {"smoke": True, "smoke_density_dbm": SMOKE_DENSITY_ALARM_DBM},
    ),
    "fire": HazardSpec(frozenset({DeviceKind.SMOKE, DeviceKind.HEAT}), False, 1.0, _fire),
    "water_leak": HazardSpec(
        frozenset({DeviceKind.WATER}), False, 10.0, lambda t, d, s: {"water_leak": True}
    ),
    "door_open": HazardSpec(
        frozenset({DeviceKind.DOOR}), False, 60.0, lambda t, d, s: {"open": True}
    ),
    "silent": HazardSpec(frozenset(), False, None, lambda t, d, s: {}),
    "tamper": HazardSpec(frozenset(), True, 30.0, lambda t, d, s: {"tamper": True}),
    "battery_low": HazardSpec(
        frozenset(), True, 60.0, lambda t, d, s: {"battery_pct": 8.0, "battery_low": True}
    ),
}


def check_hazard(hazard: str, device: SimDevice) -> HazardSpec:
    """The spec of a hazard that can happen on ``device``.

    Raises:
        ValueError: an unknown hazard, or one this kind of device cannot report
            (a gas leak on a door contact).
    """
    spec = HAZARDS.get(hazard)
    if spec is None:
        raise ValueError(f"unknown hazard {hazard!r}; known: {', '.join(HAZARDS)}")
    if spec.kinds and device.kind not in spec.kinds:
        kinds = " or ".join(sorted(k.value for k in spec.kinds))
        raise ValueError(f"{hazard} needs a {kinds} device; {device.id} is {device.kind.value}")
    if spec.battery_only and device.mains:
        raise ValueError(f"{hazard} needs a battery device; {device.id} is mains powered")
    return spec


# --- readings --------------------------------------------------------------


def battery_pct(device: SimDevice, state: DeviceState, sim_elapsed_s: float) -> float:
    """Battery left after ``sim_elapsed_s`` of simulated time."""
    drained = state.drain_pct_per_day * sim_elapsed_s / 86400.0
    return max(0.0, state.battery_start_pct - drained)


def readings(
    device: SimDevice,
    state: DeviceState,
    *,
    now: float,
    sim_elapsed_s: float,
    rng: np.random.Generator,
) -> dict[str, float | bool]:
    """Every field the device reports at ``now``, rounded as a device sends them.

    Args:
        device: the device.
        state: its current state (routines and blips already applied).
        now: wall-clock time (epoch s), for hazards.
        sim_elapsed_s: simulated time since the start, for battery drain.
        rng: noise for signal strength and temperature.
    """
    names = KIND_FIELDS[device.kind]
    temp = state.ambient_temp_c + float(rng.normal(0.0, 0.2))
    base: dict[str, float | bool] = {
        "lel_pct": state.lel_pct + state.extra.get("lel_pct", 0.0),
        "co_ppm": state.co_ppm + state.extra.get("co_ppm", 0.0),
        "smoke": False,
        "smoke_density_dbm": 0.0,
        "temp_c": temp,
        "water_leak": state.water_leak,
        "open": state.open,
        "tamper": state.tamper,
        "rssi_dbm": state.rssi_base_dbm + float(rng.normal(0.0, 2.0)),
    }
    if not device.mains:
        pct = battery_pct(device, state, sim_elapsed_s)
        base["battery_pct"] = pct
        base["battery_low"] = pct < BATTERY_LOW_PCT
    if state.hazard is not None:
        spec = HAZARDS[state.hazard.name]
        base.update(spec.values(now - state.hazard.started_ts, device, state))
    return {name: _round(name, base[name]) for name in names if name in base}


def _round(name: str, value: float | bool) -> float | bool:
    spec = _FIELD_SPEC[name]
    if spec.boolean:
        return bool(value)
    clipped = min(spec.hi, max(spec.lo, float(value)))
    if name in ("battery_pct", "rssi_dbm"):
        return round(clipped)  # devices send whole percent and dBm
    return round(clipped, 1)
