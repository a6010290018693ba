"""Read models for the pages and the API, always within a :class:`api.principal.Principal`'s
places: device lists, live counts (GB/T 45839 5.8.2), the compound → building → unit
→ household tree, households with their personal data, device snapshots for the
live stream.

Layer: adapters (reads the live state, the site index and the state store; routes
call these functions, none of them sees a request). Reads take no lock (only the
alarm writer changes the live state): a page read while a batch lands may show part
of it, and no page can hold up an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.model import Alert
from api.context import ApiContext
from api.principal import PERSONAL_HAZARDS, Principal
from api.views import (
    STATES,
    alert_flags,
    battery_low,
    device_online,
    device_state,
    device_view,
    online_mask,
)


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """Filters of the device list; None means any."""

    kind: str | None = None
    grid: str | None = None
    compound: str | None = None
    building: str | None = None
    household: str | None = None
    property_company: str | None = None
    online: bool | None = None
    state: str | None = None
    battery_low: bool | None = None
    q: str | None = None


def visible_devices(c: ApiContext, p: Principal) -> list[int]:
    """Registry rows of the devices in the principal's places."""
    if p.everywhere:
        return list(range(len(c.index.devices)))
    return [i for i, d in enumerate(c.index.devices) if p.sees_device(d)]


def open_alerts(c: ApiContext, p: Principal) -> list[Alert]:
    """Open alerts in the principal's places."""
    return [a for a in c.state.open_alerts() if p.sees_alert(a)]


def _matches(c: ApiContext, idx: int, f: DeviceFilter, now: float, flags: dict[str, str]) -> bool:  # noqa: C901 - one flat list of filters
    d = c.index.devices[idx]
    checks = ((f.kind, d.kind.value), (f.grid, d.grid_id), (f.compound, d.compound_id),
              (f.building, d.building_id), (f.household, d.household_id),
              (f.property_company, d.property_company_id))
    for want, have in checks:
        if want is not None and want != have:
            return False
    if f.online is not None and bool(device_online(c, idx, now)) != f.online:
        return False
    if f.state is not None and device_state(c, idx, now, flags) != f.state:
        return False
    if f.battery_low is not None and battery_low(c, idx) != f.battery_low:
        return False
    if f.q:
        text = f"{d.id} {c.index.address(d)} {d.device.model or ''}".lower()
        if f.q.lower() not in text:
            return False
    return True


def list_devices(c: ApiContext, p: Principal, f: DeviceFilter, *, limit: int, offset: int,
                 now: float) -> tuple[list[dict[str, Any]], int]:
    """A page of devices in scope matching the filter, and how many match."""
    flags = alert_flags(open_alerts(c, p))
    rows = [i for i in visible_devices(c, p) if _matches(c, i, f, now, flags)]
    items = [device_view(c, i, now, flags) for i in rows[offset: offset + limit]]
    return items, len(rows)


def device_in_scope(c: ApiContext, p: Principal, device_id: str) -> int | None:
    """The registry row of a device the principal may see, else None."""
    idx = c.table.index.get(device_id)
    if idx is None or not p.sees_device(c.index.devices[idx]):
        return None
    return idx


def one_device(c: ApiContext, idx: int, now: float) -> dict[str, Any]:
    """One device's view with its alert state."""
    device_id = c.index.devices[idx].id
    flags = alert_flags(c.state.list_alerts(device_id=device_id, statuses=("raised", "acknowledged", "on_site")))
    out = device_view(c, idx, now, flags)
    out["thresholds"] = thresholds(c, idx)
    return out


# field -> ((level, rule parameter), ...): the lines a device's chart draws, per kind.
_THRESHOLDS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "gas": {"lel_pct": (("warning", "gas_warn_lel"), ("critical", "gas_crit_lel"))},
    "heat": {"temp_c": (("warning", "heat_prewarn_c"), ("critical", "heat_alarm_c"))},
    "smoke": {"temp_c": (("warning", "heat_prewarn_c"), ("critical", "heat_alarm_c"))},
}


def thresholds(c: ApiContext, idx: int) -> dict[str, list[dict[str, Any]]]:
    """The rule core's alarm levels for this device's readings (its own parameters, with
    the site's overrides): field -> [{"level", "value"}]; the battery's low level too."""
    params = c.engine.params
    spec = dict(_THRESHOLDS.get(c.index.devices[idx].kind.value, {}))
    spec["battery_pct"] = (("warning", "battery_low_pct"),)
    return {field: [{"level": level, "value": float(params.device(name, idx))} for level, name in levels]
            for field, levels in spec.items()}


def all_device_states(c: ApiContext, now: float) -> tuple[dict[str, str], dict[str, str]]:
    """Every device's state, (from every open alert, without the personal ones), for the
    live streams' shared snapshot; read without a lock (only the alarm writer changes live state)."""
    alerts = c.state.open_alerts()
    full = alert_flags(alerts)
    public = alert_flags(a for a in alerts if a.hazard not in PERSONAL_HAZARDS)
    out_full: dict[str, str] = {}
    out_public: dict[str, str] = {}
    for i, d in enumerate(c.index.devices):
        out_full[d.id] = device_state(c, i, now, full)
        out_public[d.id] = out_full[d.id] if full.get(d.id) == public.get(d.id) else device_state(c, i, now, public)
    return out_full, out_public


def stream_scope(c: ApiContext, p: Principal) -> tuple[frozenset[str], frozenset[str]]:
    """(ids of the devices a live stream shows, those of them whose personal alerts it
    may see)."""
    rows = visible_devices(c, p)
    ids = frozenset(c.index.devices[i].id for i in rows)
    personal = frozenset(c.index.devices[i].id for i in rows
                         if p.sees_personal(c.index.devices[i].household_id))
    return ids, personal


def snapshot(c: ApiContext, p: Principal, now: float) -> dict[str, str]:
    """Device id → state of every device in scope (the live stream diffs these)."""
    flags = alert_flags(open_alerts(c, p))
    return {c.index.devices[i].id: device_state(c, i, now, flags) for i in visible_devices(c, p)}


def counts(c: ApiContext, p: Principal, now: float, *, company: str | None = None,
           grid: str | None = None, compound: str | None = None) -> dict[str, Any]:
    """Live counts (GB/T 45839 5.8.2) and open alerts by severity, in scope."""
    alerts = [a for a in open_alerts(c, p) if _alert_in(c, a, company, grid, compound)]
    flags = alert_flags(alerts)
    by_state = dict.fromkeys(STATES, 0)
    low = online = 0
    up = online_mask(c, now)
    for i in visible_devices(c, p):
        d = c.index.devices[i]
        if (company and d.property_company_id != company) or (grid and d.grid_id != grid):
            continue
        if compound and d.compound_id != compound:
            continue
        by_state[device_state(c, i, now, flags)] += 1
        low += battery_low(c, i)
        online += bool(up[i])
    by_sev: dict[str, int] = {"critical": 0, "warning": 0, "info": 0}
    for a in alerts:
        by_sev[a.severity.value] = by_sev.get(a.severity.value, 0) + 1
    total = sum(by_state.values())
    return {
        "devices": total,
        "online": online,
        "in_alarm": by_state["alarm"],
        "in_fault": by_state["fault"] + by_state["offline"],
        "offline": by_state["offline"],
        "never_seen": by_state["unknown"],
        "low_battery": low,
        "by_state": by_state,
        "open_alerts": len(alerts),
        "open_alerts_by_severity": by_sev,
    }


def _alert_in(c: ApiContext, a: Alert, company: str | None, grid: str | None, compound: str | None) -> bool:
    if grid and a.grid_id != grid:
        return False
    if not (company or compound):
        return True
    b = building_of(c, a.place_id)
    if b is None:
        return False
    return (not company or company_of_building(c, b) == company) and (
        not compound or c.index.buildings[b].compound == compound)


def building_of(c: ApiContext, place_id: str) -> str | None:
    """The building id of a household, unit or building id."""
    if place_id in c.index.buildings:
        return place_id
    if place_id in c.index.units:
        return c.index.units[place_id][0].id
    if place_id in c.index.households:
        return c.index.households[place_id][0].id
    return None


def company_of_building(c: ApiContext, building_id: str) -> str | None:
    """The property company serving a building."""
    b = c.index.buildings[building_id]
    compound = c.index.compounds.get(b.compound)
    return b.property_company or (compound.property_company if compound else None)


def place_tree(c: ApiContext, p: Principal, now: float) -> dict[str, Any]:
    """Compound → building → unit → household with device ids and states, in scope.

    The elderly-alone flag of a household appears only where the principal may
    see personal data.
    """
    states = snapshot(c, p, now)
    by_place: dict[str, list[str]] = {}
    for d in c.index.devices:
        if d.id in states:
            by_place.setdefault(d.place_id, []).append(d.id)
    compounds: dict[str, dict[str, Any]] = {}
    for b in c.index.site.buildings:
        if not (p.everywhere or b.id in p.building_ids):
            continue
        units = []
        for u in b.units:
            households = [
                {"id": h.id, "room": h.room, "devices": by_place.get(h.id, []),
                 **({"elderly_alone": h.elderly_alone} if p.sees_personal(h.id) else {})}
                for h in u.households if p.sees_place(h.id)
            ]
            if households or p.sees_place(u.id):
                units.append({"id": u.id, "name": u.name, "devices": by_place.get(u.id, []),
                              "households": households})
        comp = c.index.compounds.get(b.compound)
        node = compounds.setdefault(b.compound, {"id": b.compound, "name": comp.name if comp else b.compound,
                                                 "buildings": []})
        node["buildings"].append({"id": b.id, "name": b.name, "grid": b.grid,
                                  "property_company": company_of_building(c, b.id),
                                  "devices": by_place.get(b.id, []), "units": units})
    return {"compounds": list(compounds.values()), "states": states}


def household_view(c: ApiContext, p: Principal, household_id: str) -> dict[str, Any] | None:
    """A household with its devices; personal data only for those responsible."""
    if household_id not in c.index.households or not p.sees_place(household_id):
        return None
    b, u, h = c.index.households[household_id]
    comp = c.index.compounds.get(b.compound)
    out: dict[str, Any] = {
        "id": h.id, "room": h.room, "unit": u.id, "building": b.id, "grid": b.grid,
        "address": " ".join(x for x in (comp.name if comp else b.compound, b.name, u.name, h.room) if x),
        "devices": [d.id for d in h.devices], "personal_data": p.sees_personal(h.id),
    }
    if p.sees_personal(h.id):
        out["elderly_alone"] = h.elderly_alone
        out["contacts"] = [ct.model_dump(exclude={"notify"}) for ct in h.contacts]
    return out


def notice_messages(c: ApiContext, p: Principal, alert: Alert, attempts: list[dict[str, Any]],
                    *, public_url: str, tz: Any) -> list[dict[str, Any]]:
    """Each notice of an alert as its recipient read it (or would have, where no channel
    worked): one entry per notice and recipient, with the channels tried and whether one
    delivered. Contacts' names only for those who may see the household's personal data."""
    from alerts.notify.messages import render  # noqa: PLC0415 - pure, only here
    from alerts.notify.types import Notice, NoticeType  # noqa: PLC0415

    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for at in sorted(attempts, key=lambda x: x["ts"]):
        key = (at["notice"], at["recipient"], at.get("reason") or "")
        entry = out.get(key)
        if entry is None:
            name, role, language = _recipient(c, p, at["recipient"])
            try:
                notice = Notice(alert, NoticeType(at["notice"]), (), at["ts"], at.get("reason") or "")
                title, body = render(notice, language=language, public_url=public_url, tz=tz)
            except ValueError:
                title, body = at["notice"], ""
            entry = out[key] = {"ts": at["ts"], "notice": at["notice"], "recipient": at["recipient"],
                                "name": name, "role": role, "language": language, "title": title,
                                "body": body, "channels": [], "delivered": False}
        if at["channel"] not in entry["channels"]:
            entry["channels"].append(at["channel"])
        entry["delivered"] = entry["delivered"] or bool(at["ok"])
    return list(out.values())


def _recipient(c: ApiContext, p: Principal, rid: str) -> tuple[str, str, str]:
    """(name, role, language) of a worker id or ``contact:<household>:<n>``."""
    w = c.index.workers.get(rid)
    if w is not None:
        return w.name, w.role.value, w.language
    if rid.startswith("contact:"):
        _, hh_id, n = (rid.split(":") + ["", ""])[:3]
        found = c.index.households.get(hh_id)
        if found is not None and n.isdigit() and int(n) < len(found[2].contacts):
            ct = found[2].contacts[int(n)]
            name = ct.name if p.sees_personal(hh_id) else ""
            return name, "contact", "zh"  # routing sends contacts Chinese notices
        return "", "contact", "zh"
    return rid, "", "zh"


_RANK = {s: i for i, s in enumerate(STATES)}


def _worst(states: list[str]) -> str:
    return min(states, key=_RANK.__getitem__) if states else "unknown"


def place_summary(c: ApiContext, p: Principal, now: float, *, company: str | None = None) -> dict[str, Any]:
    """Compounds and buildings as counts: households by state (the worst of their
    devices), the common areas' state, and units by name, in scope (optionally one
    property company's buildings). A building opens with :func:`building_detail`."""
    states = snapshot(c, p, now)
    by_place: dict[str, list[str]] = {}
    for d in c.index.devices:
        if d.id in states:
            by_place.setdefault(d.place_id, []).append(states[d.id])
    compounds: dict[str, dict[str, Any]] = {}
    for b in c.index.site.buildings:
        if not (p.everywhere or b.id in p.building_ids):
            continue
        pc = company_of_building(c, b.id)
        if company and pc != company:
            continue
        hh_counts = dict.fromkeys(STATES, 0)
        common = list(by_place.get(b.id, []))
        units = []
        n_hh = elderly = 0
        for u in b.units:
            visible = [h for h in u.households if p.sees_place(h.id)]
            if not visible and not p.sees_place(u.id):
                continue
            common += by_place.get(u.id, [])
            for h in visible:
                hh_counts[_worst(by_place.get(h.id, []))] += 1
                elderly += bool(p.sees_personal(h.id) and h.elderly_alone)
            n_hh += len(visible)
            units.append({"id": u.id, "name": u.name, "households": len(visible)})
        comp = c.index.compounds.get(b.compound)
        node = compounds.setdefault(b.compound, {
            "id": b.compound, "name": comp.name if comp else b.compound, "buildings": [],
            "households": 0, "by_state": dict.fromkeys(STATES, 0)})
        node["buildings"].append({
            "id": b.id, "name": b.name, "grid": b.grid, "property_company": pc, "households": n_hh,
            "elderly_alone": elderly, "by_state": hh_counts, "common_state": _worst(common) if common else None,
            "units": units})
        node["households"] += n_hh
        for k, v in hh_counts.items():
            node["by_state"][k] += v
    return {"compounds": list(compounds.values())}


def building_detail(c: ApiContext, p: Principal, building_id: str, now: float) -> dict[str, Any] | None:
    """One building's units, households and devices (id, kind, state, current reading),
    in scope; None when the building is not."""
    b = c.index.buildings.get(building_id)
    if b is None or not (p.everywhere or building_id in p.building_ids):
        return None
    tree = place_tree(c, p, now)
    states = tree["states"]
    for comp in tree["compounds"]:
        for node in comp["buildings"]:
            if node["id"] == building_id:
                node["compound"] = {"id": comp["id"], "name": comp["name"]}
                kinds = {d.id: d.kind.value for d in c.index.devices}
                ids = [*node["devices"], *(i for u in node["units"] for i in u["devices"]),
                       *(i for u in node["units"] for h in u["households"] for i in h["devices"])]
                node["device_states"] = {i: states[i] for i in ids if i in states}
                node["device_kinds"] = {i: kinds[i] for i in ids}
                return dict(node)
    return None


def search_places(c: ApiContext, p: Principal, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Compounds, buildings, units and households whose name (with the names of the
    places that hold them) contains every word of ``q``, in scope."""
    words = [w.lower() for w in q.split() if w]
    if not words:
        return []
    out: list[dict[str, Any]] = []

    def hit(kind: str, place_id: str, label: str, building: str | None) -> bool:
        text = f"{label} {place_id}".lower()
        if all(w in text for w in words):
            out.append({"kind": kind, "id": place_id, "label": label, "building": building})
        return len(out) >= limit

    seen_compounds: set[str] = set()
    for b in c.index.site.buildings:
        if not (p.everywhere or b.id in p.building_ids):
            continue
        comp = c.index.compounds.get(b.compound)
        cname = comp.name if comp else b.compound
        if b.compound not in seen_compounds:
            seen_compounds.add(b.compound)
            if hit("compound", b.compound, cname, None):
                return out
        if hit("building", b.id, f"{cname} {b.name}", b.id):
            return out
        for u in b.units:
            if p.sees_place(u.id) and hit("unit", u.id, f"{cname} {b.name} {u.name}", b.id):
                return out
            for h in u.households:
                if p.sees_place(h.id) and hit("household", h.id, f"{cname} {b.name} {u.name} {h.room}", b.id):
                    return out
    return out
