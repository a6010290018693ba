"""JSON views of devices and alerts, shared by the API and the pages.

Layer: adapters (reads the live state and the site index; no storage).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.model import Alert, AlertEvent
from alerts.rules.types import FAULTS, Hazard
from alerts.words import HAZARD_FIELD, UNITS
from api.context import ApiContext
from api.principal import Principal, redact
from sensors.live import OFFLINE, UNKNOWN

_FAULTS = frozenset(h.value for h in FAULTS)
# Device states, worst first: the colour of a device and of the places that hold it.
STATES = ("alarm", "fault", "offline", "ok", "unknown")

# "Online" and "low battery" are the rule core's: the same per-device parameters
# (``offline_heartbeats``, ``offline_margin_s``, overridable per site, kind, place and
# device) and the battery rule's own condition, so the pages count what the rules alert on.
LOW_BATTERY_CODES = (2, 3)  # the battery rule's condition codes: low, dead


def offline_after_s(c: ApiContext, idx: int) -> float:
    """Seconds of silence after which the rule core calls device ``idx`` offline."""
    params = c.engine.params
    beats = float(params.device("offline_heartbeats", idx))
    return float(c.table.heartbeat_s[idx]) * beats + float(params.device("offline_margin_s", idx))


def online_mask(c: ApiContext, now: float) -> npt.NDArray[np.bool_]:
    """Per device (registry order): online by the rule core's offline limit and not
    announced offline. Never-seen devices are not online."""
    params = c.engine.params
    prof = params.profile
    limit = c.table.heartbeat_s * params.values["offline_heartbeats"][prof] + params.values[
        "offline_margin_s"][prof]
    with np.errstate(invalid="ignore"):
        fresh = (now - c.live.last_seen) <= limit  # NaN (never seen) compares False
    return np.asarray(fresh & (c.live.online != OFFLINE))


def worker_view(c: ApiContext, worker_id: str | None) -> dict[str, Any] | None:
    """A worker's public facts."""
    if worker_id is None:
        return None
    w = c.index.workers.get(worker_id)
    if w is None:
        return {"id": worker_id}
    return {"id": w.id, "name": w.name, "role": w.role.value, "phone": w.phone}


def device_online(c: ApiContext, idx: int, now: float) -> bool | None:
    """Online, offline, or None when never heard from."""
    seen = float(c.live.last_seen[idx])
    if math.isnan(seen):
        return None
    if int(c.live.online[idx]) == OFFLINE:
        return False
    return now - seen <= offline_after_s(c, idx)


def alert_flags(alerts: Iterable[Alert]) -> dict[str, str]:
    """Device id → ``alarm`` or ``fault`` from open alerts (an alarm outranks a fault)."""
    out: dict[str, str] = {}
    for a in alerts:
        if a.device_id is None or not a.is_open:
            continue
        flag = "fault" if a.hazard in _FAULTS else "alarm"
        if out.get(a.device_id) != "alarm":
            out[a.device_id] = flag
    return out


def device_state(c: ApiContext, idx: int, now: float, flags: dict[str, str]) -> str:
    """One of :data:`STATES`: an open hazard alert, an open fault alert, out of contact,
    fine, or never heard from."""
    flag = flags.get(c.index.devices[idx].id)
    if flag is not None:
        return flag
    online = device_online(c, idx, now)
    if online is None:
        return "unknown"
    return "ok" if online else "offline"


def battery_low(c: ApiContext, idx: int) -> bool:
    """The battery rule holds the device low or dead (its flag, or ``battery_pct`` at or
    under the device's ``battery_low_pct``, until it is well above it again)."""
    return c.engine.condition(idx, Hazard.BATTERY_LOW) in LOW_BATTERY_CODES


def device_view(c: ApiContext, idx: int, now: float, flags: dict[str, str] | None = None) -> dict[str, Any]:
    """One device with its place, who is responsible, and its live state."""
    p = c.index.devices[idx]
    fields = c.live.fields_of(idx)
    seen = float(c.live.last_seen[idx])
    grid = c.index.grids[p.grid_id]
    return {
        "id": p.id,
        "kind": p.kind.value,
        "model": p.device.model,
        "location": p.device.location,
        "heartbeat_s": p.device.heartbeat_s,
        "place": {
            "community": c.index.site.community.id,
            "compound": p.compound_id,
            "building": p.building_id,
            "unit": p.unit_id,
            "household": p.household_id,
            "room": p.room,
            "micro_grid": p.micro_grid_id,
            "grid": p.grid_id,
            "place_id": p.place_id,
            "address": c.index.address(p),
        },
        "responsible": worker_view(c, grid.worker),
        "online": device_online(c, idx, now),
        "availability": None if int(c.live.online[idx]) == UNKNOWN else int(c.live.online[idx]) == 1,
        "last_seen": None if math.isnan(seen) else seen,
        "last_reading": fields,
        "battery_pct": fields.get("battery_pct"),
        "battery_low": battery_low(c, idx),
        "messages": int(c.live.messages[idx]),
        "state": device_state(c, idx, now, flags or {}),
        "maintenance": bool(c.engine.st.maint[idx]),  # GB/T 45839 5.8.4: the mode is visible
        "retired": p.id in c.commands.retired(),
    }


# The reading that tells most about a device of each kind (the one a person asks for first).
MAIN_FIELD = {"gas": "lel_pct", "co": "co_ppm", "smoke": "smoke", "heat": "temp_c", "water": "water_leak",
              "door": "open"}


def current_reading(c: ApiContext, device_id: str | None, hazard: str | None = None) -> dict[str, Any] | None:
    """The device's latest value of the field an alert of ``hazard`` is about (else its
    kind's main field), with the unit: ``{"field", "value", "unit", "ts"}``; None when
    there is no such device or it never reported the field."""
    idx = c.table.index.get(device_id) if device_id else None
    if idx is None:
        return None
    field = HAZARD_FIELD.get(hazard or "") or MAIN_FIELD.get(c.index.devices[idx].kind.value)
    if field is None:
        return None
    value = c.live.fields_of(idx).get(field)
    if value is None:
        return None
    seen = float(c.live.last_seen[idx])
    return {"field": field, "value": value, "unit": UNITS.get(field, ""),
            "ts": None if math.isnan(seen) else seen}


def alert_view(c: ApiContext, a: Alert, p: Principal) -> dict[str, Any]:
    """An alert with its assignee's name, as ``p`` may see it (without emergency
    contacts unless ``p`` is responsible for the household)."""
    d = a.to_dict()
    if not p.sees_personal(a.place_id):
        d["facts"] = redact(d["facts"])
    d["suppression"] = c.alerts.suppression(a)
    d["assignee"] = worker_view(c, a.assignee)
    d["reading"] = current_reading(c, a.device_id, a.hazard)
    d["status"] = a.status.value
    d["severity"] = a.severity.value
    d["outcome"] = a.outcome.value if a.outcome else None
    return d


def event_view(e: AlertEvent, *, personal: bool) -> dict[str, Any]:
    """A timeline entry (contact recipients removed unless ``personal``)."""
    return {"ts": e.ts, "actor": e.actor, "action": e.action, "note": e.note,
            "data": e.data if personal else redact(e.data)}
