"""Routing: who is responsible for an alert at a place.

Layer: pure core. From the device's place upward (household → unit → building →
micro-grid → grid → community): the grid's full-time worker first, the assistant
as backup (DOMAIN.md, the Wuyang responsibility chain).
"""

from __future__ import annotations

from dataclasses import dataclass

from topology.index import DevicePlace, SiteIndex


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who an alert goes to.

    Attributes:
        assignee: worker id who owns the alert (the grid worker).
        backup: worker id of the assistant, or None.
        property_company: id of the company that fixes the place, or None.
    """

    assignee: str
    backup: str | None
    property_company: str | None


def route(index: SiteIndex, place: DevicePlace) -> Assignment:
    """The assignment for an alert on a device at ``place``."""
    grid = index.grids[place.grid_id]
    return Assignment(grid.worker, grid.assistant, place.property_company_id)
