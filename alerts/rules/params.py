"""Rule parameters: the defaults (each citing its STANDARDS.md row), and the per-device
arrays the rule core reads, built from the site file's ``rules:`` section.

Layer: pure core. Devices that resolve to the same parameters share one *profile*;
the core keeps one int32 profile number per device and one small array per
parameter, so a million devices cost 4 bytes each here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from alerts.rules.kernel import PARAM_NAMES
from sensors.errors import SiteError
from sensors.fields import DeviceKind
from sensors.registry import KIND_CODES, DeviceTable
from topology.index import SiteIndex
from topology.rules import RuleOverrides, RuleSet

INF = math.inf
DAY_S = 86_400.0

# name -> (default, source). Sources are STANDARDS.md rows or the issue text.
DEFAULTS: dict[str, tuple[float, str]] = {
    "gas_warn_lel": (5.0, "issue 3 example; field practice 1-25 %LEL set points"),
    "gas_warn_hold_s": (60.0, "issue 3 example"),
    "gas_crit_lel": (10.0, "issue 3 example; GB/T 50493-2019 first alarm <= 25 %LEL"),
    "gas_crit_hold_s": (15.0, "GB 15322.2 alarm 15-60 s after exposure; GB/T 34004 within 30 s"),
    "gas_clear_lel": (3.0, "issue 3 example (hysteresis)"),
    "gas_clear_hold_s": (300.0, "issue 3 example (clear below 3 %LEL for 5 min)"),
    "gas_evacuate_lel": (25.0, "GB/T 50493-2019 first alarm at or below 25 %LEL"),
    "co_alarm_dose": (1.0, "dose units: 1.0 = the co_curve alarm point"),
    "co_half_life_min": (320.0, "COHb dose models: COHb half-life in air about 320 min"),
    "co_clear_ppm": (30.0, "EN 50291-1 / UL 2034: no alarm at 30 ppm"),
    "co_clear_hold_s": (300.0, "house choice, same hysteresis as gas"),
    "smoke_hush_s": (600.0, "manufacturers: hush lasts 8-10 min; issue 3: re-arm after 10 min"),
    "smoke_group_s": (120.0, "issue 3: two detectors within 2 min make one incident"),
    "heat_alarm_c": (56.0, "EN 54-5 A1 logic (EBL128): rise < 4 C/min alarm 56 C"),
    "heat_prewarn_c": (46.0, "EN 54-5 A1 logic (EBL128): rise < 4 C/min pre-warning 46 C"),
    "heat_ror_alarm_c": (46.0, "EN 54-5 A1 logic (EBL128): rise > 4 C/min alarm 46 C"),
    "heat_ror_prewarn_c": (36.0, "EN 54-5 A1 logic (EBL128): rise > 4 C/min pre-warning 36 C"),
    "heat_ror_c_per_min": (4.0, "EN 54-5 A1 logic (EBL128): 4 C/min"),
    "heat_ror_window_s": (300.0, "house choice: readings further apart give no rate"),
    "heat_clear_c": (35.0, "house choice: below the lowest pre-warning"),
    "water_debounce_s": (10.0, "house choice (no standard)"),
    "water_critical_s": (600.0, "issue 3: critical when still wet after 10 min unacknowledged"),
    "door_open_max_s": (600.0, "house choice; unit and building doors only"),
    "door_night_start_h": (0.0, "issue 3: 00:00-05:00"),
    "door_night_end_h": (5.0, "issue 3: 00:00-05:00"),
    "welfare_warn_s": (DAY_S, "Chongqing door sensors: 24 h; Taicang 24 h"),
    "welfare_crit_s": (2 * DAY_S, "Shanghai Zhenru / Hong Kong Lok Wah: 48 h"),
    "offline_heartbeats": (2.0, "Zigbee / Z-Wave manuals: heartbeats 2 min to hours"),
    "offline_margin_s": (120.0, "house choice; GB/T 45839 5.5.2 asks within 24 h"),
    "unprotected_s": (DAY_S, "GB/T 45839-2025 5.5.2: lost communication, fault within 24 h"),
    "battery_low_pct": (20.0, "GB/T 45839-2025 5.7.1 low-voltage fault; level house choice"),
    "battery_dead_pct": (5.0, "house choice: below this the device may stop reporting"),
    "battery_clear_margin_pct": (10.0, "house choice (hysteresis)"),
    "battery_remind_s": (DAY_S, "GB/T 45839-2025 5.7.1: battery checked every 24 h"),
    "stuck_s": (3 * DAY_S, "issue 3: the same analog value for days"),
    "stuck_ignore_zero": (0.0, "gas and CO read 0 in clean air; see KIND_DEFAULTS"),
    "maintenance": (0.0, "GB/T 45839-2025 5.8.4"),
    "intermittent_spells": (3.0, "house choice (no standard): three short spells make a run"),
    "intermittent_s": (600.0, "house choice (no standard): each spell within 10 min of the last"),
    "co_intermittent_ppm": (100.0, "EN 50291-1: 100 ppm must alarm within 10-40 min"),
}

# Built-in defaults that differ by kind.
KIND_DEFAULTS: dict[DeviceKind, dict[str, float]] = {
    DeviceKind.GAS: {"stuck_ignore_zero": 1.0},
    DeviceKind.CO: {"stuck_ignore_zero": 1.0},
    DeviceKind.SMOKE: {},
    DeviceKind.HEAT: {},
    DeviceKind.WATER: {"unprotected_s": INF},
    DeviceKind.DOOR: {"unprotected_s": INF},
    DeviceKind.GATEWAY: {"unprotected_s": INF},
}
# A household's own door is opened and closed by its residents: no held-open rule.
HOUSEHOLD_DEFAULTS: dict[str, float] = {"door_open_max_s": INF}

# (ppm, minutes from clean air to alarm); inf = must never alarm.
CO_CURVE: tuple[tuple[float, float], ...] = (
    (30.0, INF),  # EN 50291-1 no alarm before 120 min; UL 2034 none for 30 days
    (50.0, 78.0),  # EN 50291-1 60-90 min
    (70.0, 66.0),  # UL 2034 60-240 min; GB 15322.2 not in 60 min, within 240 min
    (100.0, 25.0),  # EN 50291-1 10-40 min
    (150.0, 14.0),  # UL 2034 10-50 min
    (300.0, 1.6),  # EN 50291-1 within 3 min
    (400.0, 1.2),  # UL 2034 4-15 min: earlier than 4 min, the safer side (README)
    (1000.0, 0.5),
)

# the columns of the kernel's parameter matrix, in its order
NAMES: tuple[str, ...] = PARAM_NAMES
assert set(NAMES) == set(DEFAULTS), "params.DEFAULTS and kernel.PARAM_NAMES differ"
assert set(NAMES) == set(RuleSet.model_fields), "params.DEFAULTS and topology.rules.RuleSet differ"


@dataclass(slots=True)
class RuleParams:
    """Per-device rule parameters, as profiles.

    Attributes:
        profile: int32 profile number of each device.
        values: parameter name → float64 array with one value per profile.
        co_ppm: the CO curve's concentrations (first is 0 ppm).
        co_rate: (profiles, len(co_ppm)) dose gained per second at each concentration.
        tz_offset_s: the site's offset from UTC (night rules), seconds.
    """

    profile: npt.NDArray[np.int32]
    values: dict[str, npt.NDArray[np.float64]]
    co_ppm: npt.NDArray[np.float64]
    co_rate: npt.NDArray[np.float64]
    tz_offset_s: float
    floor: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        v = self.values
        # Below these (over every profile) a reading of a quiet device changes nothing:
        # the kernel skips such rows (see alerts/rules/kernel.py).
        self.floor = {
            "gas": float(np.min([v["gas_warn_lel"], v["gas_crit_lel"], v["gas_evacuate_lel"]])),
            "heat": float(np.min([v["heat_alarm_c"], v["heat_prewarn_c"], v["heat_ror_alarm_c"],
                                  v["heat_ror_prewarn_c"]])),
            "battery": float(np.max([v["battery_low_pct"], v["battery_dead_pct"]])),
        }

    def of(self, name: str, prof: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        """Parameter ``name`` for the devices whose profiles are ``prof``."""
        return self.values[name].take(prof)

    def device(self, name: str, device_idx: int) -> float:
        """Parameter ``name`` of one device."""
        return float(self.values[name][self.profile[device_idx]])


def co_rates(
    curve: Sequence[tuple[float, float]], half_life_min: float, alarm_dose: float
) -> list[float]:
    """Dose per second at 0 ppm and at each curve point, so that a constant exposure
    from zero dose crosses ``alarm_dose`` after the curve's minutes.

    With ``dD/dt = r - D/tau``: ``D(T) = r tau (1 - exp(-T/tau))``.
    """
    tau = half_life_min * 60.0 / math.log(2.0)
    rates = [0.0]
    for _, minutes in curve:
        if math.isinf(minutes):
            rates.append(alarm_dose / (2.0 * tau))  # equilibrium at half the alarm dose
        else:
            rates.append(alarm_dose / (tau * -math.expm1(-minutes * 60.0 / tau)))
    return rates


def _place_kind_defaults(household: int) -> dict[str, float]:
    return HOUSEHOLD_DEFAULTS if household >= 0 else {}


def build_params(
    table: DeviceTable,
    overrides: RuleOverrides | None = None,
    places: Sequence[Sequence[str]] | None = None,
    tz_offset_s: float = 8 * 3600.0,
) -> RuleParams:
    """Resolve the ``rules:`` section for every device of ``table``.

    Args:
        table: the device registry.
        overrides: the site file's ``rules:`` section (None: defaults only).
        places: per device, the ids of its places from general to specific
            (see :func:`place_chains`); needed only for ``places`` overrides.
        tz_offset_s: the site's UTC offset (Asia/Shanghai: +8 h, no DST).
    """
    ov = overrides or RuleOverrides()
    base = {k: v for k, (v, _) in DEFAULTS.items()}
    kind_sets: dict[int, dict[str, float]] = {}
    for code, kind in enumerate(KIND_CODES):
        kind_sets[code] = KIND_DEFAULTS[kind]
    place_sets: Mapping[str, dict[str, float]] = {k: v.given() for k, v in ov.places.items()}
    dev_sets: Mapping[str, dict[str, float]] = {k: v.given() for k, v in ov.devices.items()}
    kind_over = {kind: rs.given() for kind, rs in ov.kinds.items()}

    profiles: dict[tuple[float, ...], int] = {}
    cache: dict[tuple[object, ...], int] = {}
    prof = np.empty(len(table), dtype=np.int32)
    kinds = table.kind.tolist()
    hh = table.household.tolist()
    for i, dev_id in enumerate(table.ids):
        chain = tuple(p for p in places[i] if p in place_sets) if places and place_sets else ()
        key = (kinds[i], hh[i] >= 0, chain, dev_id if dev_id in dev_sets else None)
        p = cache.get(key)
        if p is None:
            kind = KIND_CODES[kinds[i]]
            merged = base | kind_sets[kinds[i]] | _place_kind_defaults(hh[i])
            merged |= ov.defaults.given()
            merged |= kind_over.get(kind, {})
            for place in chain:
                merged |= place_sets[place]
            if key[3] is not None:
                merged |= dev_sets[dev_id]
            vec = tuple(merged[n] for n in NAMES)
            p = profiles.setdefault(vec, len(profiles))
            cache[key] = p
        prof[i] = p
    vecs = list(profiles) or [tuple(base[n] for n in NAMES)]
    mat = np.array(vecs, dtype=np.float64).reshape(len(vecs), len(NAMES))
    values = {n: mat[:, j].copy() for j, n in enumerate(NAMES)}
    curve = tuple(ov.co_curve) if ov.co_curve else CO_CURVE
    rates = [
        co_rates(curve, values["co_half_life_min"][j], values["co_alarm_dose"][j])
        for j in range(len(vecs))
    ]
    return RuleParams(
        profile=prof,
        values=values,
        co_ppm=np.array([0.0, *(c for c, _ in curve)], dtype=np.float64),
        co_rate=np.array(rates, dtype=np.float64),
        tz_offset_s=float(tz_offset_s),
    )


def place_chains(index: SiteIndex) -> list[tuple[str, ...]]:
    """Per device (registry order), its place ids from general to specific:
    compound, grid, micro-grid, building, unit, household."""
    return [
        tuple(p for p in (d.compound_id, d.grid_id, d.micro_grid_id, d.building_id, d.unit_id,
                          d.household_id) if p)
        for d in index.devices
    ]


def utc_offset_s(timezone: str) -> float:
    """The UTC offset of an IANA time zone, seconds (taken in January; China has no DST)."""
    tz = ZoneInfo(timezone)
    offset = datetime(2026, 1, 15, 12, tzinfo=tz).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def params_for_site(index: SiteIndex, table: DeviceTable) -> RuleParams:
    """Build the parameters of a loaded site (its ``rules:`` section, places and time zone).

    Raises:
        SiteError: the ``rules:`` section names a place or device the site does not have.
    """
    rules = index.site.rules
    chains = place_chains(index)
    known = {p for chain in chains for p in chain} | {
        *(g.id for g in index.site.grids),
        *(m.id for m in index.site.micro_grids), *(c.id for c in index.site.compounds),
        *index.households, *index.units, *index.buildings}
    problems = [f"rules.places.{k}: unknown place" for k in rules.places if k not in known]
    problems += [f"rules.devices.{k}: unknown device" for k in rules.devices
                 if k not in index.device_index]
    if problems:
        raise SiteError("; ".join(problems))
    return build_params(table, index.site.rules, place_chains(index),
                        utc_offset_s(index.site.community.timezone))
