"""Flat lookups over a validated site: where each device is and who is responsible.

Layer: pure core. Built once at start-up from a :class:`topology.model.Site`;
everything the hot paths need (device kinds, heartbeats, places) is precomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.fields import DeviceKind
from sensors.registry import KIND_CODE, DeviceTable
from topology.model import Building, Device, Household, Site, Unit, Worker


@dataclass(frozen=True, slots=True)
class DevicePlace:
    """A device with its place resolved up the chain.

    ``place_id`` is the household, unit or building the device is listed under;
    the chain is household → unit → building → micro-grid → grid → community.
    """

    device: Device
    place_id: str
    place_kind: str  # "household" | "unit" | "building"
    household_id: str | None
    room: str | None
    unit_id: str | None
    unit_name: str | None
    building_id: str
    building_name: str
    compound_id: str
    micro_grid_id: str | None
    grid_id: str
    property_company_id: str | None
    elderly_alone: bool

    @property
    def id(self) -> str:
        """The device id."""
        return self.device.id

    @property
    def kind(self) -> DeviceKind:
        """The device kind."""
        return self.device.kind


class SiteIndex:
    """Lookups over a site.

    Attributes:
        site: the site this index was built from.
        devices: every device's place, in file order (the registry order).
        device_index: device id → position in ``devices``.
    """

    def __init__(self, site: Site) -> None:
        self.site = site
        self.workers: dict[str, Worker] = {w.id: w for w in site.workers}
        self.grids = {g.id: g for g in site.grids}
        self.micro_grids = {m.id: m for m in site.micro_grids}
        self.compounds = {c.id: c for c in site.compounds}
        self.property_companies = {p.id: p for p in site.property_companies}
        self.buildings = {b.id: b for b in site.buildings}
        self.units: dict[str, tuple[Building, Unit]] = {}
        self.households: dict[str, tuple[Building, Unit, Household]] = {}
        self.devices: list[DevicePlace] = []
        for b in site.buildings:
            self._add_building(b)
        self.device_index = {p.device.id: i for i, p in enumerate(self.devices)}

    def _pc(self, b: Building) -> str | None:
        if b.property_company:
            return b.property_company
        c = self.compounds.get(b.compound)
        return c.property_company if c else None

    def _add_building(self, b: Building) -> None:
        pc = self._pc(b)
        for d in b.devices:
            self.devices.append(
                DevicePlace(d, b.id, "building", None, None, None, None, b.id, b.name,
                            b.compound, None, b.grid, pc, False)
            )
        for u in b.units:
            self.units[u.id] = (b, u)
            for d in u.devices:
                self.devices.append(
                    DevicePlace(d, u.id, "unit", None, None, u.id, u.name, b.id, b.name,
                                b.compound, u.micro_grid, b.grid, pc, False)
                )
            for h in u.households:
                self.households[h.id] = (b, u, h)
                mg = h.micro_grid or u.micro_grid
                for d in h.devices:
                    self.devices.append(
                        DevicePlace(d, h.id, "household", h.id, h.room, u.id, u.name, b.id,
                                    b.name, b.compound, mg, b.grid, pc, h.elderly_alone)
                    )

    def z2m_names(self) -> dict[str, tuple[int, str | None]]:
        """Zigbee2MQTT friendly name → (device row, model) for devices that have one."""
        return {p.device.z2m_name: (i, p.device.model)
                for i, p in enumerate(self.devices) if p.device.z2m_name}

    def place_of(self, device_id: str) -> DevicePlace | None:
        """The place of a device, or None when it is not in the site."""
        i = self.device_index.get(device_id)
        return None if i is None else self.devices[i]

    def grid_worker(self, grid_id: str) -> str:
        """The worker id of the full-time grid worker of a grid."""
        return self.grids[grid_id].worker

    def address(self, place: DevicePlace, *, lang: str = "zh") -> str:
        """A human address: compound, building, unit, room."""
        compound = self.compounds.get(place.compound_id)
        parts = [compound.name if compound else place.compound_id, place.building_name]
        if place.unit_name:
            parts.append(place.unit_name)
        if place.room:
            parts.append(place.room + ("室" if lang == "zh" else ""))
        if place.device.location:
            parts.append(place.device.location)
        return " ".join(parts)


def device_table(index: SiteIndex) -> DeviceTable:
    """The registry arrays for a site, rows in ``index.devices`` order."""
    households: dict[str, int] = {}
    units: dict[str, int] = {}
    hh = []
    un = []
    for p in index.devices:
        hh.append(households.setdefault(p.household_id, len(households)) if p.household_id else -1)
        un.append(units.setdefault(p.unit_id, len(units)) if p.unit_id else -1)
    return DeviceTable(
        community=index.site.community.id,
        ids=[p.device.id for p in index.devices],
        index=dict(index.device_index),
        kind=np.array([KIND_CODE[p.device.kind] for p in index.devices], dtype=np.int8),
        heartbeat_s=np.array([p.device.heartbeat_s for p in index.devices], dtype=np.float64),
        household=np.array(hh, dtype=np.int32),
        unit=np.array(un, dtype=np.int32),
        elderly_alone=np.array([p.elderly_alone for p in index.devices], dtype=np.bool_),
    )
