"""Routing: who is responsible for an alert at a place, at a given time.

Layer: pure core (``now`` is passed in). From the alert's place upward
(household → unit → building → micro-grid → grid → community) the people are,
after DOMAIN.md's Wuyang responsibility chain:

* the grid worker **on duty** for the grid (the site's ``duty:`` shifts, leave
  and stand-ins), with the grid assistant as backup;
* the property company's staff for what they fix (water leaks, doors, device
  faults, batteries, patrol findings about pipes, doors and wiring);
* the emergency contacts of an elderly-alone household for welfare and
  life-safety alerts;
* up the chain for escalation: micro-grid leader, grid leader (else the
  compound's party branch secretary), the deputy, the community head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from topology.duty import Leave, Shift
from topology.index import DevicePlace, SiteIndex

# Hazards and patrol categories the property company fixes (DOMAIN.md: "the property
# company removes them"; GB/T 45839 5.12: faults become repair tickets).
PROPERTY_FIXES = frozenset({
    "water_leak", "door_open", "offline", "unprotected", "tamper", "battery_low", "stuck",
    "implausible", "illegal_wiring", "broken_unit_door", "leaking_pipe", "gas_pipe",
    "blocked_fire_exit",
})
# Alerts the emergency contacts of an elderly-alone household hear about.
CONTACT_HAZARDS = frozenset({"welfare", "door_night", "gas", "co", "smoke", "heat"})


@dataclass(frozen=True, slots=True)
class Place:
    """A place on the chain (household, unit or building), with an optional device."""

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
    device_id: str | None = None
    location: str | None = None


def place_of_device(p: DevicePlace) -> Place:
    """The :class:`Place` of a device."""
    return Place(p.place_id, p.place_kind, p.household_id, p.room, p.unit_id, p.unit_name,
                 p.building_id, p.building_name, p.compound_id, p.micro_grid_id, p.grid_id,
                 p.property_company_id, p.elderly_alone, p.device.id, p.device.location)


def place_of_id(index: SiteIndex, place_id: str) -> Place | None:
    """The :class:`Place` of a household, unit or building id; None when unknown."""
    if place_id in index.households:
        b, u, h = index.households[place_id]
        return Place(h.id, "household", h.id, h.room, u.id, u.name, b.id, b.name, b.compound,
                     h.micro_grid or u.micro_grid, b.grid, _pc(index, b.id), h.elderly_alone)
    if place_id in index.units:
        b, u = index.units[place_id]
        return Place(u.id, "unit", None, None, u.id, u.name, b.id, b.name, b.compound,
                     u.micro_grid, b.grid, _pc(index, b.id), False)
    building = index.buildings.get(place_id)
    if building is None:
        return None
    b = building
    return Place(b.id, "building", None, None, None, None, b.id, b.name, b.compound, None,
                 b.grid, _pc(index, b.id), False)


def _pc(index: SiteIndex, building_id: str) -> str | None:
    b = index.buildings[building_id]
    if b.property_company:
        return b.property_company
    c = index.compounds.get(b.compound)
    return c.property_company if c else None


def address(index: SiteIndex, place: Place, *, lang: str = "zh") -> str:
    """Compound, building, unit, room (and where in it), for a person to read."""
    compound = index.compounds.get(place.compound_id)
    parts = [compound.name if compound else place.compound_id, place.building_name]
    if place.unit_name:
        parts.append(place.unit_name)
    if place.room:
        parts.append(place.room + ("室" if lang == "zh" else ""))
    if place.location:
        parts.append(place.location)
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to notify: a worker or an emergency contact.

    Attributes:
        id: worker id, or ``contact:<household>:<n>`` for an emergency contact.
        name: for the record.
        role: the worker's role or ``contact``.
        urls: apprise URLs, in order of preference.
        language: ``zh`` or ``en``.
    """

    id: str
    name: str
    role: str
    urls: tuple[str, ...]
    language: str = "zh"


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who an alert goes to.

    Attributes:
        assignee: worker id who owns the alert (the grid worker on duty).
        backup: worker id of the backup (the assistant), or None.
        property_company: id of the company that fixes the place, or None.
        property_staff: the company's staff ids when the fix is theirs, else empty.
        contacts: emergency contacts to tell (elderly-alone household, welfare or
            life-safety alert).
        duty_note: why the assignee is who it is (``shift``, ``stand-in for w-g1``...).
    """

    assignee: str
    backup: str | None
    property_company: str | None
    property_staff: tuple[str, ...] = ()
    contacts: tuple[Recipient, ...] = ()
    duty_note: str = "grid worker"


def _tz(index: SiteIndex) -> ZoneInfo:
    try:
        return ZoneInfo(index.site.community.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _covers(shift: Shift, local: datetime) -> bool:
    start, end = _minutes(shift.start), _minutes(shift.end)
    minute = local.hour * 60 + local.minute
    if start < end:
        return local.isoweekday() in shift.weekdays and start <= minute < end
    # overnight (or 24 h when start == end): the part before midnight belongs to the
    # shift's weekday, the part after midnight to the day before
    if minute >= start:
        return local.isoweekday() in shift.weekdays
    yesterday = (local - timedelta(days=1)).isoweekday()
    return minute < end and yesterday in shift.weekdays


def _aware(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def on_leave(index: SiteIndex, worker_id: str, now: float) -> Leave | None:
    """The leave entry covering ``now`` for a worker, if any."""
    tz = _tz(index)
    for lv in index.site.duty.leave:
        if lv.worker == worker_id and (
            _aware(lv.start, tz).timestamp() <= now < _aware(lv.end, tz).timestamp()
        ):
            return lv
    return None


def on_duty(index: SiteIndex, grid_id: str, now: float) -> tuple[str, str]:
    """The worker on duty for a grid at ``now`` and why: (worker id, note).

    The first shift of the grid covering the local time wins; without one, the
    grid's full-time worker. A worker on leave is replaced by the leave's stand-in,
    the worker's default stand-in, the grid assistant or the grid leader, the first
    of them not on leave themselves.
    """
    grid = index.grids[grid_id]
    local = datetime.fromtimestamp(now, _tz(index))
    worker, note = grid.worker, "grid worker"
    for shift in index.site.duty.shifts:
        if shift.grid == grid_id and _covers(shift, local):
            worker, note = shift.worker, f"shift {shift.start}-{shift.end}"
            break
    leave = on_leave(index, worker, now)
    if leave is None:
        return worker, note
    for candidate in (leave.stand_in, index.site.duty.stand_ins.get(worker), grid.assistant,
                      grid.leader, grid.worker):
        if candidate and candidate != worker and on_leave(index, candidate, now) is None:
            return candidate, f"stand-in for {worker}"
    return worker, note  # everybody is away: the rostered worker still owns it


def route(index: SiteIndex, place: DevicePlace | Place, *, hazard: str | None = None,
          now: float | None = None) -> Assignment:
    """The assignment for an alert of ``hazard`` at ``place`` at time ``now``.

    Without ``now`` the duty schedule is not consulted (the grid's worker owns it).
    """
    grid = index.grids[place.grid_id]
    if now is None:
        assignee, note = grid.worker, "grid worker"
    else:
        assignee, note = on_duty(index, place.grid_id, now)
    backup = grid.assistant if grid.assistant != assignee else grid.worker
    if now is not None and backup and on_leave(index, backup, now) is not None:
        backup = None
    staff: tuple[str, ...] = ()
    if hazard in PROPERTY_FIXES and place.property_company_id:
        pc = index.property_companies.get(place.property_company_id)
        staff = tuple(pc.staff) if pc else ()
    contacts: tuple[Recipient, ...] = ()
    if hazard in CONTACT_HAZARDS and place.elderly_alone and place.household_id:
        contacts = household_contacts(index, place.household_id)
    return Assignment(assignee, backup, place.property_company_id, staff, contacts, note)


def household_contacts(index: SiteIndex, household_id: str) -> tuple[Recipient, ...]:
    """A household's emergency contacts as recipients."""
    found = index.households.get(household_id)
    if found is None:
        return ()
    return tuple(
        Recipient(f"contact:{household_id}:{i}", c.name, "contact", tuple(c.notify))
        for i, c in enumerate(found[2].contacts)
    )


def level_ids(index: SiteIndex, place: DevicePlace | Place, assignment: Assignment,
              level: str) -> list[str]:
    """Worker ids (or contact ids) for one escalation level at a place."""
    grid = index.grids[place.grid_id]
    compound = index.compounds.get(place.compound_id)
    community = index.site.community
    mg = index.micro_grids.get(place.micro_grid_id) if place.micro_grid_id else None
    by_level: dict[str, Iterable[str | None]] = {
        "worker": [assignment.assignee],
        "assistant": [assignment.backup],
        "micro_grid_leader": [mg.leader if mg else None],
        "grid_leader": [grid.leader or (compound.branch_secretary if compound else None)],
        "branch_secretary": [compound.branch_secretary if compound else None],
        "deputy": [community.deputy],
        "head": [community.head],
        "property": assignment.property_staff,
        "contacts": [c.id for c in assignment.contacts],
    }
    return [i for i in by_level.get(level, ()) if i]


def recipients(index: SiteIndex, ids: Sequence[str], assignment: Assignment) -> list[Recipient]:
    """Recipients for worker and contact ids (unknown ids are left out)."""
    contacts = {c.id: c for c in assignment.contacts}
    out: list[Recipient] = []
    for i in ids:
        if i in contacts:
            out.append(contacts[i])
            continue
        w = index.workers.get(i)
        if w is not None:
            out.append(Recipient(w.id, w.name, w.role.value, tuple(w.notify), w.language))
    return out


def local_time(index: SiteIndex, ts: float) -> datetime:
    """An epoch time in the community's time zone."""
    return datetime.fromtimestamp(ts, _tz(index))


__all__ = ["PROPERTY_FIXES", "Assignment", "Place", "Recipient", "address", "household_contacts",
           "level_ids", "local_time", "on_duty", "on_leave", "place_of_device", "place_of_id",
           "recipients", "route"]
