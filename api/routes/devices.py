"""Devices: the registry with live state, each device's reading history and events,
always within the caller's places.

Layer: adapters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api import queries
from api.deps import Ctx, Me, parse_time
from api.errors import ApiError, error_responses
from api.queries import DeviceFilter
from api.views import alert_view, event_view

# History bounds: the work of one request (issue 14: every_s=1e-320 was accepted).
MIN_EVERY_S = 1.0
MAX_POINTS = 100_000
MAX_RANGE_S = 400 * 86400.0

router = APIRouter(prefix="/api/devices", tags=["devices"], responses=error_responses(401, 403, 422))

MAX_PAGE = 1000
DeviceState = Literal["alarm", "fault", "offline", "ok", "unknown"]

_DEVICE_EXAMPLE = {
    "items": [{"id": "gas-101", "kind": "gas", "model": None, "location": "kitchen",
               "heartbeat_s": 600.0,
               "place": {"community": "tiny", "compound": "c1", "building": "b1", "unit": "b1-u1",
                         "household": "b1-u1-101", "room": "101", "micro_grid": "mg1", "grid": "g1",
                         "place_id": "b1-u1-101", "address": "一号院 1号楼 1单元 101室 kitchen"},
               "responsible": {"id": "w-g1", "name": "张伟", "role": "grid_worker", "phone": "13800000001"},
               "online": True, "availability": True, "last_seen": 1767225600.0,
               "last_reading": {"lel_pct": 0.0, "battery_pct": 90.0}, "battery_pct": 90.0,
               "battery_low": None, "messages": 12, "state": "ok"}],
    "total": 1, "limit": 100, "offset": 0,
}


@router.get("", summary="Devices with place, responsible worker and live state",
            responses={200: {"content": {"application/json": {"example": _DEVICE_EXAMPLE}}}})
def list_devices(
    c: Ctx,
    p: Me,
    kind: str | None = Query(default=None, description="gas, co, smoke, heat, water, door", examples=["gas"]),
    grid: str | None = None,
    building: str | None = None,
    compound: str | None = None,
    household: str | None = None,
    property_company: str | None = None,
    online: bool | None = None,
    state: Annotated[DeviceState | None, Query(description="alarm, fault, offline, ok, unknown")] = None,
    battery_low: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Text in id, address or model")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Devices in your places; filter by kind, grid, building, compound, household,
    property company, online, state and low battery; paginated."""
    f = DeviceFilter(kind, grid, compound, building, household, property_company, online, state,
                     battery_low, q)
    items, total = queries.list_devices(c, p, f, limit=limit, offset=offset, now=c.clock())
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _device(c: Ctx, p: Me, device_id: str) -> int:
    idx = queries.device_in_scope(c, p, device_id)
    if idx is None:
        raise ApiError(404, f"no device {device_id!r}")
    return idx


@router.get("/{device_id}", summary="One device", responses=error_responses(404))
def get_device(c: Ctx, p: Me, device_id: str) -> dict[str, Any]:
    """A device with its live state."""
    return queries.one_device(c, _device(c, p, device_id), c.clock())


@router.get("/{device_id}/readings", summary="Reading history of a device", responses=error_responses(404))
def readings(
    c: Ctx,
    p: Me,
    device_id: str,
    start: str | None = Query(default=None, examples=["2026-01-01T00:00:00+08:00"]),
    end: str | None = None,
    every_s: Annotated[float | None, Query(ge=MIN_EVERY_S, le=86400 * 31)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_POINTS)] = 10_000,
) -> dict[str, Any]:
    """Readings in ``[start, end)`` (epoch seconds or RFC 3339; default the last 24 h),
    optionally aggregated into windows of ``every_s`` seconds (at least 1 s). A range
    over 400 days, or one that would make more than 100,000 windows, answers 422."""
    _device(c, p, device_id)
    now = c.clock()
    t_end = parse_time(end, now + 1.0, "end")
    t_start = parse_time(start, t_end - 86400.0, "start")
    if t_start >= t_end:
        raise ApiError(422, "start must be before end")
    if t_end - t_start > MAX_RANGE_S:
        raise ApiError(422, f"the range is longer than {MAX_RANGE_S / 86400:g} days")
    if every_s is not None and (t_end - t_start) / every_s > MAX_POINTS:
        raise ApiError(422, f"that makes more than {MAX_POINTS} windows: choose a larger every_s",
                       details={"min_every_s": (t_end - t_start) / MAX_POINTS})
    points = c.readings.history(device_id, t_start, t_end, every_s=every_s, limit=limit)
    return {
        "device_id": device_id,
        "start": t_start,
        "end": t_end,
        "every_s": every_s,
        "items": [{"ts": p.ts, "seq": p.seq, **p.values} for p in points],
    }


@router.get("/{device_id}/events", summary="A device's alerts with their timelines",
            responses=error_responses(404))
def events(
    c: Ctx,
    p: Me,
    device_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """The device's alerts, newest first, each with its timeline (raised, acknowledged,
    on site, resolved, ...)."""
    _device(c, p, device_id)
    alerts = c.state.list_alerts(device_id=device_id, limit=limit, offset=offset)
    timelines = c.state.events_of([a.id for a in alerts])
    alerts = [a for a in alerts if p.sees_alert(a)]
    items = [{**alert_view(c, a, p), "timeline": [event_view(e, personal=p.sees_personal(a.place_id))
                                                  for e in timelines.get(a.id, [])]}
             for a in alerts]
    return {"items": items, "total": c.state.count_alerts(device_id=device_id), "limit": limit,
            "offset": offset}
