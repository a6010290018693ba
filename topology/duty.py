"""The ``duty:`` section of a site file: who is on duty for a grid, and when.

Layer: pure core (schema only; :mod:`alerts.routing` decides who is on duty at a
given time). Example::

    duty:
      shifts:                      # local time of the community's time zone
        - {grid: g1, worker: w-g1,  start: "08:00", end: "20:00"}
        - {grid: g1, worker: w-g1a, start: "20:00", end: "08:00"}      # overnight
        - {grid: g2, worker: w-g2,  weekdays: [1, 2, 3, 4, 5]}         # Mon-Fri, all day
      leave:
        - {worker: w-g1, start: "2026-11-20T00:00", end: "2026-11-23T00:00", stand_in: w-g2}
      stand_ins: {w-g2: w-g1}      # who stands in when a worker is away and leave names nobody

Without a section (or without shifts for a grid) the grid's full-time worker is on
duty around the clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

WorkerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Shift(_Model):
    """A worker on duty for a grid on some weekdays between two local times."""

    grid: WorkerId = Field(description="Grid id")
    worker: WorkerId
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], description="ISO weekdays, 1 = Monday"
    )
    start: ClockTime = "00:00"
    end: str = Field(default="24:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$",
                           description="HH:MM; before start means the shift runs overnight")


class Leave(_Model):
    """A worker away between two times (naive times are the community's local time)."""

    worker: WorkerId
    start: datetime
    end: datetime
    stand_in: WorkerId | None = Field(default=None, description="Who stands in; default: stand_ins, "
                                      "then the grid assistant, then the grid leader")
    reason: str | None = Field(default=None, max_length=128)


class Duty(_Model):
    """Duty schedules: shifts, leave and stand-ins."""

    shifts: list[Shift] = Field(default_factory=list)
    leave: list[Leave] = Field(default_factory=list)
    stand_ins: dict[WorkerId, WorkerId] = Field(default_factory=dict,
                                                description="worker id → default stand-in")
