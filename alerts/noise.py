"""Noise control that people set or the topology implies: silences and maintenance
windows, and inhibition by a gateway outage.

Layer: pure core (no I/O, no clock: every call takes ``now``).

A **silence** (or a maintenance window: a silence that starts later) matches alerts by
place (any level: compound, grid, micro-grid, building, unit, household), device and
kind, each optional but at least one given; it has an author, a reason, a start and an
expiry. A matching alert is still raised, recorded and shown: only its notices are held
(by the mute stage of :mod:`alerts.mute`), and when the silence ends while the alert is
still open and unacknowledged, the people it concerns hear of it then.

**Inhibition**: a device that reaches the network through a gateway (``via`` in the site
file; by default the only gateway of its building) cannot be heard while that gateway is
offline. Its offline or unprotected alert's notices are then held by the gateway's
alert (:class:`alerts.mute.Inhibitor`), whose notice already says the whole building is
unheard; when the gateway is back and the device still is not, the device's own alert
speaks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alerts.model import Alert
from topology.index import DevicePlace, SiteIndex

# The conditions a gateway outage explains.
INHIBITED_HAZARDS = frozenset({"offline", "unprotected"})


@dataclass(slots=True)
class Silence:
    """A silence or maintenance window.

    Attributes:
        id: its number (0 until stored).
        author: who set it (worker id or login).
        reason: why (shown on every alert it holds).
        starts_at, ends_at: when it holds notices, epoch s.
        place_id: a compound, grid, micro-grid, building, unit or household id.
        device_ids: these devices only.
        hazards: these alert kinds only (``gas``, ``offline``, ...).
        device_kinds: devices of these kinds only (``smoke``, ``door``, ...).
        created_at: when it was set.
        ended_at, ended_by: when and by whom it was lifted early.
    """

    id: int
    author: str
    reason: str
    starts_at: float
    ends_at: float
    place_id: str | None = None
    device_ids: list[str] = field(default_factory=list)
    hazards: list[str] = field(default_factory=list)
    device_kinds: list[str] = field(default_factory=list)
    created_at: float = 0.0
    ended_at: float | None = None
    ended_by: str | None = None

    def active(self, now: float) -> bool:
        """Holding notices now."""
        end = self.ends_at if self.ended_at is None else min(self.ends_at, self.ended_at)
        return self.starts_at <= now < end

    def over(self, now: float) -> bool:
        """Expired or lifted."""
        return self.ended_at is not None or now >= self.ends_at

    def state(self, now: float) -> str:
        """``active``, ``scheduled`` or ``expired``."""
        return "active" if self.active(now) else "expired" if self.over(now) else "scheduled"

    def matches(self, alert: Alert, place: DevicePlace | None, chain: Iterable[str]) -> bool:
        """Whether it covers an alert (``chain``: the ids of the alert's place and every
        place above it)."""
        if self.device_ids and alert.device_id not in self.device_ids:
            return False
        if self.hazards and alert.hazard not in self.hazards:
            return False
        if self.device_kinds and (place is None or place.device.kind.value not in self.device_kinds):
            return False
        return not (self.place_id and self.place_id not in set(chain))

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        """Its JSON form (with ``state`` when ``now`` is given)."""
        out: dict[str, Any] = {
            "id": self.id, "author": self.author, "reason": self.reason,
            "starts_at": self.starts_at, "ends_at": self.ends_at, "place_id": self.place_id,
            "device_ids": self.device_ids, "hazards": self.hazards,
            "device_kinds": self.device_kinds, "created_at": self.created_at,
            "ended_at": self.ended_at, "ended_by": self.ended_by,
        }
        if now is not None:
            out["state"] = self.state(now)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Silence:
        """The inverse of :meth:`to_dict`."""
        return cls(
            id=int(d["id"]), author=str(d["author"]), reason=str(d["reason"]),
            starts_at=float(d["starts_at"]), ends_at=float(d["ends_at"]),
            place_id=d.get("place_id"), device_ids=list(d.get("device_ids") or []),
            hazards=list(d.get("hazards") or []), device_kinds=list(d.get("device_kinds") or []),
            created_at=float(d.get("created_at") or 0.0), ended_at=d.get("ended_at"),
            ended_by=d.get("ended_by"),
        )


def place_chain(index: SiteIndex, alert: Alert) -> list[str]:
    """The alert's place and every place above it, up to the community."""
    dp = index.place_of(alert.device_id) if alert.device_id else None
    if dp is not None:
        ids = [dp.household_id, dp.unit_id, dp.building_id, dp.micro_grid_id, dp.grid_id,
               dp.compound_id]
        return [i for i in ids if i]
    out = [alert.place_id, alert.grid_id]
    if alert.place_id in index.households:
        b, u, _h = index.households[alert.place_id]
        out += [u.id, b.id, b.compound]
    elif alert.place_id in index.units:
        b, u = index.units[alert.place_id]
        out += [b.id, b.compound]
    elif alert.place_id in index.buildings:
        out.append(index.buildings[alert.place_id].compound)
    return [i for i in out if i]


def silence_for(silences: Iterable[Silence], index: SiteIndex, alert: Alert,
                now: float) -> Silence | None:
    """The active silence that covers an alert (the one that ends last), if any."""
    dp = index.place_of(alert.device_id) if alert.device_id else None
    chain = place_chain(index, alert)
    best: Silence | None = None
    for s in silences:
        if s.active(now) and s.matches(alert, dp, chain) and (best is None or s.ends_at > best.ends_at):
            best = s
    return best


def gateways_of(index: SiteIndex) -> dict[str, str]:
    """Device id → the gateway it reaches the network through: its ``via`` in the site
    file, else the only gateway of its building (none when the building has several)."""
    by_building: dict[str, list[str]] = {}
    for p in index.devices:
        if p.device.kind.value == "gateway":
            by_building.setdefault(p.building_id, []).append(p.device.id)
    out: dict[str, str] = {}
    for p in index.devices:
        if p.device.kind.value == "gateway":
            continue
        via = getattr(p.device, "via", None)
        if via:
            out[p.device.id] = via
        elif len(by_building.get(p.building_id, [])) == 1:
            out[p.device.id] = by_building[p.building_id][0]
    return out


def validate_window(starts_at: float, ends_at: float, now: float, max_s: float) -> str | None:
    """A problem with a silence's times, or None."""
    if not (math.isfinite(starts_at) and math.isfinite(ends_at)):
        return "times must be finite"
    if ends_at <= starts_at:
        return "it must end after it starts"
    if ends_at <= now:
        return "it would already be over"
    if ends_at - max(starts_at, now) > max_s:
        return f"a silence lasts at most {max_s / 86400:g} days"
    return None


__all__ = ["INHIBITED_HAZARDS", "Silence", "gateways_of", "place_chain", "silence_for",
           "validate_window"]
