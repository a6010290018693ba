"""Who is calling and which places they may see: the one place scopes are decided.

Layer: adapters (reads the site index and the user records; no I/O of its own).

Every route that shows or changes devices, alerts, households or statistics
asks a :class:`Principal`. Places form one set of ids (buildings, units and
households) so that a device, an alert or a household is in scope exactly when
its place is::

    admin, leader          everywhere (a leader may be limited to compounds)
    grid_worker            the buildings of their grids (as worker, assistant, leader)
    property_manager       the buildings their company serves
    maintenance            the same, acting only on device faults (GB/T 45839 5.12)
    resident               their own household, read-only

Residents' personal data (elderly-alone flag, emergency contacts) is shown only
to those responsible for the household: admin, leaders and its grid workers (and
the resident themself). Property staff fix things; they do not get the files.
Alerts that exist only for elderly-alone households (welfare, door at night) are
personal data too: others do not see them at all. :func:`redact` removes contact
recipients from what an alert carries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from alerts.model import Alert
from alerts.rules.types import FAULTS, Hazard
from store.users import User, UserStore
from topology.index import DevicePlace, SiteIndex
from topology.model import Role, Site, UserRole

log = logging.getLogger(__name__)

_FAULT_HAZARDS = frozenset(h.value for h in FAULTS)
# Raised only for elderly-alone households: seeing one tells who lives alone.
PERSONAL_HAZARDS = frozenset({Hazard.WELFARE.value, Hazard.DOOR_NIGHT.value})
# Recipient ids of emergency contacts (alerts.routing.household_contacts).
CONTACT_PREFIX = "contact:"

# Site worker role → web-app role; volunteers get no login from the site file.
WORKER_ROLES: dict[Role, UserRole] = {
    Role.COMMUNITY_HEAD: UserRole.LEADER,
    Role.DEPUTY: UserRole.LEADER,
    Role.BRANCH_SECRETARY: UserRole.LEADER,
    Role.GRID_LEADER: UserRole.GRID_WORKER,
    Role.GRID_WORKER: UserRole.GRID_WORKER,
    Role.GRID_ASSISTANT: UserRole.GRID_WORKER,
    Role.PROPERTY_MANAGER: UserRole.PROPERTY_MANAGER,
    Role.MAINTENANCE: UserRole.MAINTENANCE,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, with the places they may see.

    Attributes:
        login: the user's login (``admin`` for the admin token and the open demo).
        actor: the id written into timelines and the audit log: the worker id when
            the user is a site worker, else the login.
        name: display name.
        role: a :class:`UserRole` value.
        via: ``open``, ``admin_token``, ``session`` or ``api_token``.
        everywhere: True when every place is in scope.
        place_ids: building, unit and household ids in scope (when not everywhere).
        grid_ids: grids wholly in scope (shown as the user's grids).
        building_ids: buildings the user sees at least part of.
        personal_ids: household ids whose personal data the user may see.
        personal_everywhere: personal data of every household.
        language: preferred page language.
    """

    login: str
    actor: str
    name: str
    role: str
    via: str
    everywhere: bool = False
    place_ids: frozenset[str] = field(default_factory=frozenset)
    grid_ids: frozenset[str] = field(default_factory=frozenset)
    building_ids: frozenset[str] = field(default_factory=frozenset)
    personal_ids: frozenset[str] = field(default_factory=frozenset)
    personal_everywhere: bool = False
    language: str = "zh"

    @property
    def is_admin(self) -> bool:
        """May manage users, tokens and the audit log."""
        return self.role == UserRole.ADMIN

    @property
    def read_only(self) -> bool:
        """Residents (and anonymous readers) change nothing."""
        return self.role in (UserRole.RESIDENT, "viewer")

    def sees_place(self, place_id: str | None) -> bool:
        """A building, unit or household in scope."""
        return self.everywhere or (place_id is not None and place_id in self.place_ids)

    def sees_device(self, place: DevicePlace) -> bool:
        """A device whose place is in scope."""
        return self.sees_place(place.place_id)

    def sees_alert(self, alert: Alert) -> bool:
        """An alert whose place is in scope (a welfare or door-at-night alert only for
        those who may see the household's personal data)."""
        if alert.hazard in PERSONAL_HAZARDS:
            return self.sees_personal(alert.place_id)
        return self.sees_place(alert.place_id)

    def may_act(self, alert: Alert) -> bool:
        """May change this alert (acknowledge, on site, resolve, close)."""
        if self.read_only or not self.sees_alert(alert):
            return False
        return self.role != UserRole.MAINTENANCE or alert.hazard in _FAULT_HAZARDS

    def sees_personal(self, household_id: str | None) -> bool:
        """May see a household's elderly flag and emergency contacts."""
        if household_id is None:
            return False
        return self.personal_everywhere or household_id in self.personal_ids

    def hidden_personal_places(self) -> list[str]:
        """Households in scope whose personal data this principal may not see (their
        welfare and door-at-night alerts are hidden)."""
        if self.personal_everywhere or self.everywhere:  # everywhere: admin and leaders, who see all
            return []
        return sorted(pid for pid in self.place_ids if pid not in self.personal_ids)

    def alert_filter(self) -> list[str] | None:
        """The ``place_ids`` filter for store queries (None: no limit)."""
        return None if self.everywhere else sorted(self.place_ids)

    def to_dict(self) -> dict[str, Any]:
        """What ``/api/auth/me`` shows."""
        return {"login": self.login, "actor": self.actor, "name": self.name, "role": self.role,
                "via": self.via, "everywhere": self.everywhere, "grids": sorted(self.grid_ids),
                "buildings": sorted(self.building_ids), "read_only": self.read_only,
                "admin": self.is_admin, "language": self.language,
                "personal_data": self.personal_everywhere or bool(self.personal_ids)}


def redact(value: Any) -> Any:
    """A copy of an alert's data, a timeline event's data or an escalation state
    without emergency contacts: the ``contacts`` key goes, and contact recipient ids
    are dropped from every list."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k != "contacts"}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value if not (isinstance(v, str) and v.startswith(CONTACT_PREFIX))]
    return value


def open_principal(via: str = "open") -> Principal:
    """Everything, as the admin: the zero-setup demo and the admin token."""
    return Principal("admin", "admin", "admin", UserRole.ADMIN, via, everywhere=True,
                     personal_everywhere=True)


def _places_of_buildings(index: SiteIndex, buildings: set[str]) -> set[str]:
    out = set(buildings)
    for uid, (b, _u) in index.units.items():
        if b.id in buildings:
            out.add(uid)
    for hid, (b, _u, _h) in index.households.items():
        if b.id in buildings:
            out.add(hid)
    return out


def _worker_grids(index: SiteIndex, worker_id: str | None) -> set[str]:
    if worker_id is None:
        return set()
    return {g.id for g in index.grids.values() if worker_id in (g.worker, g.assistant, g.leader)}


def _company_of(index: SiteIndex, user: User) -> str | None:
    pc = user.places.get("property_company")
    if pc:
        return str(pc)
    for c in index.property_companies.values():
        if user.worker_id and user.worker_id in c.staff:
            return c.id
    return None


def _company_buildings(index: SiteIndex, company: str | None) -> set[str]:
    if company is None:
        return set()
    out = set()
    for b in index.buildings.values():
        compound = index.compounds.get(b.compound)
        pc = b.property_company or (compound.property_company if compound else None)
        if pc == company:
            out.add(b.id)
    return out


def principal_for(user: User, index: SiteIndex, via: str) -> Principal:
    """The scope of a logged-in user, from their role and places and the site."""
    base: dict[str, Any] = {"login": user.login, "actor": user.worker_id or user.login, "name": user.name,
            "role": user.role, "via": via, "language": user.language}
    role = user.role
    if role == UserRole.ADMIN:
        return Principal(**base, everywhere=True, personal_everywhere=True)
    if role == UserRole.LEADER:
        compounds = set(user.places.get("compounds") or ())
        if not compounds and user.worker_id:
            compounds = {c.id for c in index.compounds.values()
                         if c.branch_secretary == user.worker_id}
            worker = index.workers.get(user.worker_id)
            if worker is not None and worker.role is not Role.BRANCH_SECRETARY:
                compounds = set()
        if not compounds:
            return Principal(**base, everywhere=True, personal_everywhere=True,
                             grid_ids=frozenset(index.grids))
        buildings = {b.id for b in index.buildings.values() if b.compound in compounds}
        places = _places_of_buildings(index, buildings)
        return Principal(**base, place_ids=frozenset(places), building_ids=frozenset(buildings),
                         personal_ids=frozenset(p for p in places if p in index.households))
    if role == UserRole.GRID_WORKER:
        grids = set(user.places.get("grids") or ()) | _worker_grids(index, user.worker_id)
        buildings = {b.id for b in index.buildings.values() if b.grid in grids}
        places = _places_of_buildings(index, buildings)
        return Principal(**base, place_ids=frozenset(places), grid_ids=frozenset(grids),
                         building_ids=frozenset(buildings),
                         personal_ids=frozenset(p for p in places if p in index.households))
    if role in (UserRole.PROPERTY_MANAGER, UserRole.MAINTENANCE):
        buildings = _company_buildings(index, _company_of(index, user))
        return Principal(**base, place_ids=frozenset(_places_of_buildings(index, buildings)),
                         building_ids=frozenset(buildings))
    if role == UserRole.RESIDENT:
        hid = user.places.get("household")
        if hid in index.households:
            b, _u, _h = index.households[hid]
            return Principal(**base, place_ids=frozenset({hid}), building_ids=frozenset({b.id}),
                             personal_ids=frozenset({hid}))
    return Principal(**base)  # unknown role or place: sees nothing


def seed_users(store: UserStore, site: Site, now: float) -> int:
    """Create or update the users the site file declares (``login:`` on a worker, and
    the ``users:`` section); passwords set elsewhere are kept. Returns how many."""
    n = 0
    for w in site.workers:
        role = WORKER_ROLES.get(w.role)
        if w.login is None:
            continue
        if role is None:
            log.warning("worker %s has a login but role %s has no web-app role", w.id, w.role)
            continue
        store.upsert(w.login, name=w.name, role=role.value, worker_id=w.id, places={},
                     language=w.language, source="site", now=now)
        n += 1
    for u in site.users:
        places: dict[str, Any] = {}
        if u.grids:
            places["grids"] = list(u.grids)
        if u.property_company:
            places["property_company"] = u.property_company
        if u.household:
            places["household"] = u.household
        store.upsert(u.login, name=u.name, role=u.role.value, worker_id=u.worker, places=places,
                     password_hash=u.password_hash, language=u.language, source="site", now=now)
        n += 1
    return n
