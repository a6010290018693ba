"""The ``rules:`` section of a site file: per-site, per-kind, per-place and per-device
overrides of the rule core's parameters.

Layer: pure core. Only the schema lives here; the defaults, the standards they come
from and the arrays the rule core builds out of this section live in
``alerts/rules/params.py`` (documented in ``alerts/rules/README.md``).

Resolution order for one device, later wins::

    built-in default (per kind) < defaults < kinds[<kind>] < places[<place id>] < devices[<id>]

``places`` keys may name any place on the device's chain: compound, grid,
micro-grid, building, unit or household (general to specific, the more specific
place wins).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sensors.fields import DeviceKind

PlaceId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]

Seconds = Annotated[float, Field(ge=0, description="seconds; .inf disables the rule")]
Pct = Annotated[float, Field(ge=0, le=100)]
Celsius = Annotated[float, Field(ge=-50, le=250)]
Ppm = Annotated[float, Field(ge=0, le=10_000)]


class RuleSet(BaseModel):
    """Rule parameters; every field is optional and only the given ones override."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # gas, %LEL
    gas_warn_lel: Pct | None = None
    gas_warn_hold_s: Seconds | None = None
    gas_crit_lel: Pct | None = None
    gas_crit_hold_s: Seconds | None = None
    gas_clear_lel: Pct | None = None
    gas_clear_hold_s: Seconds | None = None
    gas_evacuate_lel: Pct | None = None
    # carbon monoxide dose model
    co_alarm_dose: float | None = Field(default=None, gt=0, le=100)
    co_half_life_min: float | None = Field(default=None, gt=0, le=10_000)
    co_clear_ppm: Ppm | None = None
    co_clear_hold_s: Seconds | None = None
    # smoke
    smoke_hush_s: Seconds | None = None
    smoke_group_s: Seconds | None = None
    # heat (EN 54-5 A1 logic)
    heat_alarm_c: Celsius | None = None
    heat_prewarn_c: Celsius | None = None
    heat_ror_alarm_c: Celsius | None = None
    heat_ror_prewarn_c: Celsius | None = None
    heat_ror_c_per_min: float | None = Field(default=None, gt=0, le=1000)
    heat_ror_window_s: Seconds | None = None
    heat_clear_c: Celsius | None = None
    # water leak
    water_debounce_s: Seconds | None = None
    water_critical_s: Seconds | None = None
    # doors and welfare
    door_open_max_s: Seconds | None = None
    door_night_start_h: float | None = Field(default=None, ge=0, le=24)
    door_night_end_h: float | None = Field(default=None, ge=0, le=24)
    welfare_warn_s: Seconds | None = None
    welfare_crit_s: Seconds | None = None
    # sensor health
    offline_heartbeats: float | None = Field(default=None, gt=0, le=1000)
    offline_margin_s: Seconds | None = None
    unprotected_s: Seconds | None = None
    battery_low_pct: Pct | None = None
    battery_dead_pct: Pct | None = None
    battery_clear_margin_pct: Pct | None = None
    battery_remind_s: float | None = Field(default=None, gt=0)
    stuck_s: Seconds | None = None
    stuck_ignore_zero: bool | None = None
    # test / maintenance mode at start-up (GB/T 45839 5.8.4)
    maintenance: bool | None = None
    # intermittent hazards: spells of gas, CO or water each shorter than the hold
    intermittent_spells: float | None = Field(default=None, ge=2, le=100)
    intermittent_s: Seconds | None = None
    co_intermittent_ppm: Ppm | None = None

    def given(self) -> dict[str, float]:
        """The fields that were set, as floats (booleans as 0.0 / 1.0)."""
        return {k: float(v) for k, v in self.model_dump(exclude_none=True).items()}


class RuleOverrides(BaseModel):
    """The ``rules:`` section of a site file.

    Attributes:
        defaults: overrides for every device of the site.
        kinds: overrides per device kind.
        places: overrides per place id (compound, grid, micro-grid, building, unit, household).
        devices: overrides per device id.
        co_curve: the CO dose model's calibration, ``[ppm, minutes]`` pairs: a constant
            exposure at ``ppm`` from clean air alarms after ``minutes``; ``.inf`` minutes
            means the level must never alarm. Site-wide.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: RuleSet = Field(default_factory=RuleSet)
    kinds: dict[DeviceKind, RuleSet] = Field(default_factory=dict)
    places: dict[PlaceId, RuleSet] = Field(default_factory=dict)
    devices: dict[PlaceId, RuleSet] = Field(default_factory=dict)
    co_curve: list[tuple[Ppm, Annotated[float, Field(gt=0)]]] | None = Field(
        default=None, min_length=2, max_length=16
    )

    @model_validator(mode="after")
    def _curve_rises(self) -> RuleOverrides:
        if self.co_curve is not None:
            ppm = [p for p, _ in self.co_curve]
            minutes = [m for _, m in self.co_curve]
            if any(b <= a for a, b in zip(ppm, ppm[1:], strict=False)):
                raise ValueError("co_curve: ppm must increase")
            if any(b > a for a, b in zip(minutes, minutes[1:], strict=False)):
                raise ValueError("co_curve: minutes must not increase as ppm rises")
            if ppm[0] <= 0:
                raise ValueError("co_curve: the first ppm must be above 0")
        return self
