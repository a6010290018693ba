"""Devices: the registry with live state, and each device's reading history.

Layer: adapters.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Ctx, parse_time
from api.errors import ApiError
from api.views import device_online, device_view

router = APIRouter(prefix="/api/devices", tags=["devices"])

MAX_PAGE = 1000


@router.get("", summary="Devices with place, responsible worker and live state")
def list_devices(
    c: Ctx,
    kind: str | None = None,
    grid: str | None = None,
    building: str | None = None,
    compound: str | None = None,
    online: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Filter by kind, grid, building, compound and online state; paginated."""
    now = c.clock()
    with c.pipeline.lock:
        matches = []
        for idx, p in enumerate(c.index.devices):
            if (kind and p.kind.value != kind) or (grid and p.grid_id != grid):
                continue
            if (building and p.building_id != building) or (compound and p.compound_id != compound):
                continue
            if online is not None and bool(device_online(c, idx, now)) != online:
                continue
            matches.append(idx)
        items = [device_view(c, i, now) for i in matches[offset: offset + limit]]
    return {"items": items, "total": len(matches), "limit": limit, "offset": offset}


@router.get("/{device_id}", summary="One device")
def get_device(c: Ctx, device_id: str) -> dict[str, Any]:
    """A device with its live state."""
    idx = c.table.index.get(device_id)
    if idx is None:
        raise ApiError(404, f"no device {device_id!r}")
    with c.pipeline.lock:
        return device_view(c, idx, c.clock())


@router.get("/{device_id}/readings", summary="Reading history of a device")
def readings(
    c: Ctx,
    device_id: str,
    start: str | None = None,
    end: str | None = None,
    every_s: Annotated[float | None, Query(gt=0, le=86400 * 31)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> dict[str, Any]:
    """Readings in ``[start, end)`` (epoch seconds or RFC 3339; default the last 24 h),
    optionally aggregated into windows of ``every_s`` seconds."""
    if device_id not in c.table.index:
        raise ApiError(404, f"no device {device_id!r}")
    now = c.clock()
    t_end = parse_time(end, now + 1.0, "end")
    t_start = parse_time(start, t_end - 86400.0, "start")
    if t_start >= t_end:
        raise ApiError(422, "start must be before end")
    points = c.readings.history(device_id, t_start, t_end, every_s=every_s, limit=limit)
    return {
        "device_id": device_id,
        "start": t_start,
        "end": t_end,
        "every_s": every_s,
        "items": [{"ts": p.ts, "seq": p.seq, **p.values} for p in points],
    }
