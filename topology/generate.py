"""Generate a plausible site file for a community of any size.

Layer: pure core. :func:`generate_site` returns plain data (dicts and lists)
that validates as :class:`topology.model.Site`; the same arguments and seed
always give the same site. The bundled sample ``topology/samples/wuyang.yaml``
is generated from the Wuyang figures in DOMAIN.md with :data:`WUYANG`.

What a generated community looks like:

- a community head and a deputy in charge;
- per compound a property company (a manager and one or two maintenance
  staff) and a party branch secretary;
- buildings split over the compounds, units over the buildings, households
  over the units, two or three flats a floor (rooms ``501``, ``502``);
- grids made of whole buildings, each with a full-time grid worker and an
  assistant; one grid leader for every three grids;
- micro-grids of 20-30 neighbouring households, each led by a volunteer;
- about 10 % of households flagged elderly living alone with one or two
  emergency contacts;
- devices: a gas detector in every kitchen, smoke alarms in ~60 % of flats,
  CO alarms in ~20 %, water-leak sensors in ~30 %, heat detectors in ~5 %, a
  door contact in every elderly-alone flat, a contact on every unit door, and a
  mains-powered gateway in every building.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensors.zigbee2mqtt import MODELS
from topology.names import (
    COMPOUND_NAMES,
    PROPERTY_COMPANY_NAMES,
    RELATIONS,
    NameMaker,
    chinese_number,
)

# Heartbeats by device kind and power source (STANDARDS.md "Sensor health":
# Zigbee manuals give 2 min for mains devices up to hours for battery ones).
HEARTBEAT_S: dict[str, int] = {
    "gas": 1800,
    "smoke": 3600,
    "co": 3600,
    "water": 3600,
    "door": 3600,
    "heat": 3600,
    "gateway": 120,
}
MAINS_HEARTBEAT_S = 120

# Share of households with each optional device.
SMOKE_SHARE = 0.60
CO_SHARE = 0.20
WATER_SHARE = 0.30
HEAT_SHARE = 0.05
MAINS_GAS_SHARE = 0.05  # plug-in gas detectors (Aqara JT-BZ-01AQ/A), 120 s heartbeat
ELDERLY_SHARE = 0.10

# Models sensors.zigbee2mqtt can translate; only these get a Zigbee2MQTT friendly name.
Z2M_MODEL_NAMES = frozenset(MODELS)

MICRO_GRID_MIN = 20
MICRO_GRID_MAX = 30
MICRO_GRID_TARGET = 25
GRIDS_PER_LEADER = 3


@dataclass(frozen=True, slots=True)
class SiteFigures:
    """The size of a community, as DOMAIN.md gives it."""

    compounds: int
    buildings: int
    units: int
    households: int
    grids: int


WUYANG = SiteFigures(compounds=5, buildings=68, units=267, households=3592, grids=9)
WUYANG_SEED = 2024


def split_count(total: int, parts: int, rng: np.random.Generator, spread: float = 0.3) -> list[int]:
    """Split ``total`` into ``parts`` positive integers of roughly equal size.

    Args:
        total: what to split; at least ``parts``.
        parts: how many pieces.
        rng: randomness for the uneven sizes.
        spread: how uneven: weights are drawn from ``1 ± spread``.

    Raises:
        ValueError: ``total < parts`` or ``parts < 1``.
    """
    if parts < 1 or total < parts:
        raise ValueError(f"cannot split {total} into {parts} non-empty parts")
    weights = rng.uniform(1.0 - spread, 1.0 + spread, size=parts)
    spare = total - parts  # everyone gets one, the rest by weight
    raw = weights / weights.sum() * spare
    sizes = np.floor(raw).astype(int)
    short = spare - int(sizes.sum())
    for i in np.argsort(-(raw - sizes))[:short]:
        sizes[i] += 1
    return [int(s) + 1 for s in sizes]


def _rooms(households: int) -> list[str]:
    """Room numbers for a stairwell: floor then door (``501``, ``502``, ``1203``)."""
    per_floor = 2 if households <= 36 else math.ceil(households / 18)
    return [f"{i // per_floor + 1}{i % per_floor + 1:02d}" for i in range(households)]


def _notify_base(url: str) -> str:
    base = url.rstrip("/")
    for plain, apprise in (("http://", "json://"), ("https://", "jsons://")):
        if base.startswith(plain):
            return apprise + base[len(plain) :]
    if base.startswith(("json://", "jsons://")):
        return base
    return "json://" + base


class _Builder:
    """Accumulates the site while walking compounds → buildings → units → households."""

    def __init__(self, rng: np.random.Generator, notify_base_url: str | None, z2m: bool) -> None:
        self.rng = rng
        self.names = NameMaker(rng)
        self.notify_base = _notify_base(notify_base_url) if notify_base_url else None
        self.z2m = z2m
        self.workers: list[dict[str, Any]] = []

    def worker(self, wid: str, role: str) -> str:
        w: dict[str, Any] = {
            "id": wid,
            "name": self.names.person(),
            "role": role,
            "phone": self.names.phone(),
            "notify": [f"{self.notify_base}/{wid}"] if self.notify_base else [],
        }
        self.workers.append(w)
        return wid

    def device(
        self, did: str, kind: str, model: str | None, location: str, heartbeat_s: int | None = None
    ) -> dict[str, Any]:
        d: dict[str, Any] = {"id": did, "kind": kind}
        if model:
            d["model"] = model
        d["location"] = location
        d["heartbeat_s"] = heartbeat_s or HEARTBEAT_S[kind]
        if self.z2m and model in Z2M_MODEL_NAMES:
            d["z2m_name"] = did
        return d

    def household_devices(self, hid: str, elderly: bool) -> list[dict[str, Any]]:
        rng = self.rng
        devs = []
        if rng.random() < MAINS_GAS_SHARE:
            devs.append(self.device(f"{hid}-gas", "gas", "JT-BZ-01AQ/A", "厨房", MAINS_HEARTBEAT_S))
        else:
            devs.append(self.device(f"{hid}-gas", "gas", "HS1CG", "厨房"))
        if rng.random() < SMOKE_SHARE:
            devs.append(self.device(f"{hid}-smoke", "smoke", "HS1SA", "客厅"))
        if rng.random() < CO_SHARE:
            devs.append(self.device(f"{hid}-co", "co", "HS1CA", "卫生间"))  # gas water heater
        if rng.random() < WATER_SHARE:
            devs.append(self.device(f"{hid}-water", "water", "SJCGQ11LM", "卫生间"))
        if rng.random() < HEAT_SHARE:
            devs.append(self.device(f"{hid}-heat", "heat", None, "厨房"))
        if elderly:
            devs.append(self.device(f"{hid}-door", "door", "MCCGQ11LM", "入户门"))
        return devs

    def household(self, hid: str, room: str) -> dict[str, Any]:
        elderly = bool(self.rng.random() < ELDERLY_SHARE)
        h: dict[str, Any] = {"id": hid, "room": room}
        if elderly:
            h["elderly_alone"] = True
            h["contacts"] = [self.contact(hid, k) for k in range(int(self.rng.integers(1, 3)))]
        h["devices"] = self.household_devices(hid, elderly)
        return h

    def contact(self, hid: str, k: int) -> dict[str, Any]:
        c: dict[str, Any] = {
            "name": self.names.person(),
            "relation": str(self.rng.choice(RELATIONS)),
            "phone": self.names.phone(),
        }
        if self.notify_base:
            c["notify"] = [f"{self.notify_base}/contact/{hid}-{k + 1}"]
        return c


def _micro_grid_groups(units: Sequence[tuple[dict[str, Any], int]]) -> list[list[tuple[int, int]]]:
    """Cut a grid's units into groups of 20-30 households, keeping units whole where possible.

    Args:
        units: (unit, household count) in walking order.

    Returns:
        One list per micro-grid of (unit position, household position) pairs.
    """
    groups: list[list[tuple[int, int]]] = [[]]
    for ui, (_, n) in enumerate(units):
        rest = list(range(n))
        while rest:
            cur = len(groups[-1])
            if cur + len(rest) <= MICRO_GRID_MAX:
                groups[-1].extend((ui, hi) for hi in rest)
                rest = []
            elif cur >= MICRO_GRID_MIN:
                groups.append([])
            else:
                take = max(1, MICRO_GRID_TARGET - cur)
                groups[-1].extend((ui, hi) for hi in rest[:take])
                rest = rest[take:]
                groups.append([])
    groups = [g for g in groups if g]
    if len(groups) > 1 and len(groups[-1]) < MICRO_GRID_MIN:
        groups = _rebalance_tail(groups)
    return groups


def _rebalance_tail(groups: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Share a small last group with its neighbours: pool the last two or three, cut evenly.

    Any pool of at least 40 households cuts into pieces of 20-30 (``ceil(n / 30)`` pieces).
    """
    take = 2 if len(groups) == 2 or len(groups[-2]) + len(groups[-1]) >= 2 * MICRO_GRID_MIN else 3
    pool = [key for g in groups[-take:] for key in g]
    pieces = max(1, math.ceil(len(pool) / MICRO_GRID_MAX))
    if len(pool) < pieces * MICRO_GRID_MIN:  # too few to cut well: one group
        pieces = max(1, len(pool) // MICRO_GRID_MIN)
    bounds = [round(i * len(pool) / pieces) for i in range(pieces + 1)]
    return groups[:-take] + [pool[bounds[i] : bounds[i + 1]] for i in range(pieces)]


def _assign_micro_grids(
    b: _Builder, grid_id: str, grid_no: int, units: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Set ``micro_grid`` on units (or on households of split units); return the micro-grids."""
    sizes = [(u, len(u["households"])) for u in units]
    micro_grids = []
    owner: dict[tuple[int, int], str] = {}
    for k, group in enumerate(_micro_grid_groups(sizes), start=1):
        mid = f"{grid_id}-m{k:02d}"
        leader = b.worker(f"vol-{mid}", "volunteer")
        micro_grids.append(
            {
                "id": mid,
                "name": f"第{chinese_number(grid_no)}网格第{k}微网格",
                "grid": grid_id,
                "leader": leader,
            }
        )
        for key in group:
            owner[key] = mid
    for ui, u in enumerate(units):
        mids = {owner[(ui, hi)] for hi in range(len(u["households"]))}
        if len(mids) == 1:
            _put_after(u, "name", "micro_grid", mids.pop())
            continue
        for hi, h in enumerate(u["households"]):
            _put_after(h, "room", "micro_grid", owner[(ui, hi)])
    return micro_grids


def _put_after(row: dict[str, Any], after: str, key: str, value: object) -> None:
    """Insert ``key`` right after ``after`` so the YAML reads in a natural order."""
    items = list(row.items())
    row.clear()
    for k, v in items:
        row[k] = v
        if k == after:
            row[key] = value


def _unit(b: _Builder, bid: str, no: int, households: int) -> dict[str, Any]:
    uid = f"{bid}-u{no}"
    return {
        "id": uid,
        "name": f"{no}单元",
        "households": [b.household(f"{uid}-{room}", room) for room in _rooms(households)],
        "devices": [b.device(f"{uid}-door", "door", "MCCGQ11LM", "单元门")],
    }


def _check_figures(f: SiteFigures) -> None:
    if min(f.compounds, f.buildings, f.units, f.households, f.grids) < 1:
        raise ValueError("every figure must be at least 1")
    if not f.compounds <= f.buildings <= f.units <= f.households:
        raise ValueError("need compounds <= buildings <= units <= households")
    if f.grids > f.buildings:
        raise ValueError("grids are made of whole buildings: need grids <= buildings")


def generate_site(
    *,
    compounds: int,
    buildings: int,
    units: int,
    households: int,
    grids: int,
    seed: int,
    community_id: str = "wuyang",
    community_name: str = "五阳社区",
    notify_base_url: str | None = None,
    z2m: bool = False,
) -> dict[str, Any]:
    """A plausible community of the given size, as plain data that validates as a Site.

    Args:
        compounds: number of compounds (小区).
        buildings: number of buildings, spread over the compounds.
        units: number of units (stairwells), spread over the buildings.
        households: number of households, spread over the units.
        grids: number of grids, each made of whole neighbouring buildings.
        seed: the same seed and figures always give the same site.
        community_id: the community's id (the second MQTT topic level).
        community_name: its display name.
        notify_base_url: when given, every worker's (and emergency contact's)
            ``notify`` is ``[json://<base>/<worker id>]``; an ``http://`` base
            becomes ``json://``, ``https://`` becomes ``jsons://``. Without it
            ``notify`` is empty (apprise URLs are site specific).
        z2m: give every device of a known Zigbee model a Zigbee2MQTT friendly
            name (its id), so the simulator speaks the Zigbee2MQTT format.

    Raises:
        ValueError: figures that cannot make a community (fewer buildings than grids, ...).
    """
    figures = SiteFigures(compounds, buildings, units, households, grids)
    _check_figures(figures)
    rng = np.random.default_rng(seed)
    b = _Builder(rng, notify_base_url, z2m)
    head = b.worker("head", "community_head")
    deputy = b.worker("deputy", "deputy")

    per_compound = split_count(buildings, compounds, rng)
    per_building = split_count(units, buildings, rng, spread=0.4)
    per_unit = split_count(households, units, rng, spread=0.15)
    company_names = b.names.pick(PROPERTY_COMPANY_NAMES, compounds, "分公司")
    compound_names = b.names.pick(COMPOUND_NAMES, compounds, "期")

    compound_rows: list[dict[str, Any]] = []
    companies: list[dict[str, Any]] = []
    building_rows: list[dict[str, Any]] = []
    unit_cursor = 0
    for ci in range(compounds):
        cid = f"c{ci + 1}"
        pcid = f"pc{ci + 1}"
        staff = [b.worker(f"{pcid}-manager", "property_manager")]
        staff += [
            b.worker(f"{pcid}-maint{k + 1}", "maintenance") for k in range(int(rng.integers(1, 3)))
        ]
        companies.append({"id": pcid, "name": company_names[ci], "staff": staff})
        compound_rows.append(
            {
                "id": cid,
                "name": compound_names[ci],
                "property_company": pcid,
                "branch_secretary": b.worker(f"{cid}-secretary", "branch_secretary"),
            }
        )
        for bi in range(per_compound[ci]):
            bid = f"{cid}-b{bi + 1:02d}"
            n_units = per_building[len(building_rows)]
            unit_rows = [_unit(b, bid, k + 1, per_unit[unit_cursor + k]) for k in range(n_units)]
            unit_cursor += n_units
            building_rows.append(
                {
                    "id": bid,
                    "name": f"{bi + 1}号楼",
                    "compound": cid,
                    "grid": "",
                    "units": unit_rows,
                    "devices": [b.device(f"{bid}-gw", "gateway", "ZB-GW", "弱电井")],
                }
            )

    grid_rows, micro_grids = _make_grids(b, building_rows, grids)
    return {
        "version": 1,
        "community": {
            "id": community_id,
            "name": community_name,
            "timezone": "Asia/Shanghai",
            "head": head,
            "deputy": deputy,
        },
        "workers": b.workers,
        "property_companies": companies,
        "compounds": compound_rows,
        "grids": grid_rows,
        "micro_grids": micro_grids,
        "buildings": building_rows,
    }


def _make_grids(
    b: _Builder, building_rows: list[dict[str, Any]], grids: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cut the buildings (in walking order) into grids; each grid into micro-grids."""
    per_grid = split_count(len(building_rows), grids, b.rng, spread=0.15)
    leaders = [
        b.worker(f"leader{k + 1}", "grid_leader")
        for k in range(math.ceil(grids / GRIDS_PER_LEADER))
    ]
    grid_rows: list[dict[str, Any]] = []
    micro_grids: list[dict[str, Any]] = []
    start = 0
    for gi in range(grids):
        gid = f"g{gi + 1}"
        grid_rows.append(
            {
                "id": gid,
                "name": f"第{chinese_number(gi + 1)}网格",
                "worker": b.worker(f"{gid}-worker", "grid_worker"),
                "assistant": b.worker(f"{gid}-assistant", "grid_assistant"),
                "leader": leaders[gi // GRIDS_PER_LEADER],
            }
        )
        members = building_rows[start : start + per_grid[gi]]
        start += per_grid[gi]
        for row in members:
            row["grid"] = gid
        grid_units = [u for row in members for u in row["units"]]
        micro_grids += _assign_micro_grids(b, gid, gi + 1, grid_units)
    return grid_rows, micro_grids


def generate_wuyang(*, notify_base_url: str | None = None) -> dict[str, Any]:
    """The bundled sample: the Wuyang community's figures with a fixed seed."""
    f = WUYANG
    return generate_site(
        compounds=f.compounds,
        buildings=f.buildings,
        units=f.units,
        households=f.households,
        grids=f.grids,
        seed=WUYANG_SEED,
        notify_base_url=notify_base_url,
    )


def dump_site_yaml(data: dict[str, Any]) -> str:
    """A generated site as YAML text, Chinese kept readable, keys in model order."""
    import yaml  # noqa: PLC0415 - only the writers need it

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    header = (
        "# GridWatch site file. Schema: topology/schema/site.schema.json\n"
        "# Generated by `gridwatch site generate`; edit freely.\n"
    )
    body: str = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=120)
    return header + body
