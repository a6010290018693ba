"""Daily life in a community: unit doors at rush hour, elderly residents' outings, cooking.

Layer: simulator, pure part. :func:`plan_hour` lays out one simulated hour of
events in simulated time; the engine turns them into reports. Local time is
the community's (China Standard Time, UTC+8, unless told otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sensors.fields import DeviceKind
from simulators.behaviour import SimDevice

# Unit-door openings per hour by local hour: busy 7-9 and 17-20, quiet at night.
UNIT_DOOR_OPENS_PER_HOUR = (
    0.5, 0.3, 0.2, 0.2, 0.3, 1.0, 6.0, 30.0, 30.0, 10.0, 8.0, 8.0,
    12.0, 8.0, 8.0, 8.0, 10.0, 30.0, 30.0, 20.0, 10.0, 6.0, 3.0, 1.0,
)  # fmt: skip
DOOR_HELD_S = (3.0, 12.0)  # a door closer shuts it again within seconds

# Elderly residents living alone: a morning errand most days, an afternoon walk some days.
OUTINGS = (
    # (local hour it is planned in, probability, leave window start/end h, away min/max h)
    (8, 0.8, 8.0, 10.0, 1.0, 3.0),
    (15, 0.5, 15.0, 16.5, 0.5, 1.5),
)

# Cooking: a few %LEL and a little CO near the stove for some minutes; never alarm levels.
MEALS = (
    # (local hour planned in, window start h, window length h, probability)
    (6, 6.5, 1.0, 0.35),
    (11, 11.5, 1.0, 0.35),
    (17, 17.5, 1.5, 0.45),
)
MEAL_LEL_PCT = (0.5, 3.0)
MEAL_CO_PPM = (3.0, 25.0)
MEAL_MINUTES = (2.0, 10.0)
# A gas water heater in the bathroom: evening showers bring a little CO.
SHOWER = (20, 20.0, 2.0, 0.2)
SHOWER_CO_PPM = (5.0, 20.0)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happens to a device at a simulated time.

    Attributes:
        sim_ts: simulated epoch seconds.
        device_idx: the device's position in the engine's device list.
        door_open: for a door event, the new position; None otherwise.
        blip: for a cooking/shower event, the extra readings (empty dict: it ends).
    """

    sim_ts: float
    device_idx: int
    door_open: bool | None = None
    blip: dict[str, float] | None = None


class RoutineIndex:
    """Which devices take part in which routine (computed once per site)."""

    def __init__(self, devices: Sequence[SimDevice]) -> None:
        self.unit_doors = [
            i
            for i, d in enumerate(devices)
            if d.kind == DeviceKind.DOOR and d.place_kind != "household"
        ]
        self.home_doors = [
            i
            for i, d in enumerate(devices)
            if d.kind == DeviceKind.DOOR and d.place_kind == "household"
        ]
        self.kitchens = [
            i
            for i, d in enumerate(devices)
            if d.kind == DeviceKind.GAS and d.place_kind == "household"
        ]
        self.co_alarms = [i for i, d in enumerate(devices) if d.kind == DeviceKind.CO]


def _door_pair(rng: np.random.Generator, t: float, idx: int) -> list[Event]:
    held = float(rng.uniform(*DOOR_HELD_S))
    return [Event(t, idx, door_open=True), Event(t + held, idx, door_open=False)]


def _unit_doors(
    routines: RoutineIndex, hour_start: float, hour: int, rng: np.random.Generator
) -> list[Event]:
    events: list[Event] = []
    if not routines.unit_doors:
        return events
    counts = rng.poisson(UNIT_DOOR_OPENS_PER_HOUR[hour], len(routines.unit_doors))
    for idx, n in zip(routines.unit_doors, counts.tolist(), strict=True):
        for t in rng.uniform(0.0, 3600.0, n).tolist():
            events += _door_pair(rng, hour_start + t, idx)
    return events


def _outings(
    routines: RoutineIndex, day_start: float, hour: int, rng: np.random.Generator
) -> list[Event]:
    events: list[Event] = []
    for planned_hour, p, leave_from, leave_to, away_min, away_max in OUTINGS:
        if hour != planned_hour:
            continue
        for idx in routines.home_doors:
            if rng.random() >= p:
                continue
            leave = day_start + rng.uniform(leave_from, leave_to) * 3600.0
            back = leave + rng.uniform(away_min, away_max) * 3600.0
            events += _door_pair(rng, float(leave), idx) + _door_pair(rng, float(back), idx)
    return events


def _blips(
    devices: list[int],
    day_start: float,
    window: tuple[float, float, float],
    rng: np.random.Generator,
    values: dict[str, tuple[float, float]],
) -> list[Event]:
    start_h, length_h, p = window
    events: list[Event] = []
    for idx in devices:
        if rng.random() >= p:
            continue
        start = day_start + (start_h + rng.uniform(0.0, length_h)) * 3600.0
        minutes = rng.uniform(*MEAL_MINUTES)
        blip = {name: round(float(rng.uniform(lo, hi)), 1) for name, (lo, hi) in values.items()}
        events += [
            Event(float(start), idx, blip=blip),
            Event(float(start + minutes * 60), idx, blip={}),
        ]
    return events


def plan_hour(
    routines: RoutineIndex, hour_start_sim: float, *, tz_offset_s: float, rng: np.random.Generator
) -> list[Event]:
    """Everything residents do in one simulated hour (outings may end hours later).

    Args:
        routines: who takes part.
        hour_start_sim: simulated epoch seconds at the start of a whole local hour.
        tz_offset_s: the community's offset from UTC (28800 for China).
        rng: randomness.

    Returns:
        Events in no particular order.
    """
    local = hour_start_sim + tz_offset_s
    hour = int(local // 3600) % 24
    day_start = hour_start_sim - hour * 3600.0
    events = _unit_doors(routines, hour_start_sim, hour, rng)
    events += _outings(routines, day_start, hour, rng)
    for planned_hour, start_h, length_h, p in MEALS:
        if hour == planned_hour:
            events += _blips(
                routines.kitchens,
                day_start,
                (start_h, length_h, p),
                rng,
                {"lel_pct": MEAL_LEL_PCT, "co_ppm": MEAL_CO_PPM},
            )
    if hour == SHOWER[0]:
        events += _blips(routines.co_alarms, day_start, SHOWER[1:], rng, {"co_ppm": SHOWER_CO_PPM})
    return events
