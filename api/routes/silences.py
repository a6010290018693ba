"""Silences and maintenance windows: hold the notices of alerts matching a place, devices
or kinds for a while, with an author, a reason and an expiry (a window starts later).
Alerts are still raised, recorded and shown, marked ``silenced_by``; when the silence
ends, the people an alert still open concerns hear of it.

Layer: adapters. Every change is audited; a caller sets and sees silences only inside
their own places.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from alerts.noise import Silence, validate_window
from alerts.rules.types import Hazard
from api.deps import Ctx, Me, actor, parse_time
from api.errors import ApiError, error_responses
from sensors.fields import DeviceKind

router = APIRouter(prefix="/api/silences", tags=["silences"])

MAX_SILENCE_S = 30 * 86400.0
SilenceId = Annotated[int, Path(ge=1, le=2**62)]

_EXAMPLE = {"id": 3, "author": "w-g1", "reason": "更换1号楼烟感", "starts_at": 1795000000.0,
            "ends_at": 1795007200.0, "place_id": "b1", "device_ids": [], "hazards": [],
            "device_kinds": ["smoke"], "created_at": 1794999000.0, "ended_at": None,
            "ended_by": None, "state": "active"}


class SilenceBody(BaseModel):
    """What to hold, why, and for how long (``ends_at`` or ``duration_s``)."""

    reason: str = Field(min_length=1, max_length=500)
    place_id: str | None = Field(default=None, max_length=64,
                                 description="compound, grid, micro-grid, building, unit or household")
    device_ids: list[str] = Field(default_factory=list, max_length=500)
    hazards: list[Hazard] = Field(default_factory=list, max_length=20)
    device_kinds: list[DeviceKind] = Field(default_factory=list, max_length=10)
    starts_at: str | None = Field(default=None, description="epoch s or RFC 3339; default now")
    ends_at: str | None = Field(default=None, description="epoch s or RFC 3339")
    duration_s: float | None = Field(default=None, gt=0, le=MAX_SILENCE_S)

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"reason": "更换1号楼烟感", "place_id": "b1", "device_kinds": ["smoke"], "duration_s": 7200},
        {"reason": "燃气公司检修", "device_ids": ["gas-101"], "starts_at": "2026-12-01T09:00:00+08:00",
         "ends_at": "2026-12-01T12:00:00+08:00"}]}}


def _may_cover(c: Any, p: Any, place_id: str | None, device_ids: list[str]) -> str | None:
    """Why the caller may not silence this (None: they may)."""
    if p.everywhere:
        return None
    if place_id is None and not device_ids:
        return "only a community-wide role may silence a kind everywhere: name a place or devices"
    if place_id is not None:
        idx = c.index
        grid = (place_id if place_id in idx.grids
                else idx.micro_grids[place_id].grid if place_id in idx.micro_grids else None)
        if grid is not None:
            if grid not in p.grid_ids:
                return f"{place_id!r} is not one of your places"
        elif not p.sees_place(place_id):
            return f"{place_id!r} is not one of your places"
    for d in device_ids:
        dp = c.index.place_of(d)
        if dp is None or not p.sees_device(dp):
            return f"device {d!r} is not one of yours"
    return None


def _visible(c: Any, p: Any, s: Silence) -> bool:
    return p.everywhere or s.author == p.actor or _may_cover(c, p, s.place_id, s.device_ids) is None


@router.post("", status_code=201, summary="Set a silence or a maintenance window",
             responses={**error_responses(403, 404, 422), 201: {"content": {"application/json": {
                 "example": _EXAMPLE}}}})
def create_silence(c: Ctx, p: Me, body: SilenceBody,
                   who: Annotated[str, Depends(actor)]) -> dict[str, Any]:
    """Holds the notices of matching alerts from ``starts_at`` (default now) to ``ends_at``
    (or for ``duration_s``), at most 30 days. At least one of place, devices or kinds."""
    if p.read_only:
        raise ApiError(403, "you may not set silences")
    idx = c.index
    known_places = (set(idx.compounds) | set(idx.grids) | set(idx.micro_grids) | set(idx.buildings)
                    | set(idx.units) | set(idx.households))
    if body.place_id is not None and body.place_id not in known_places:
        raise ApiError(404, f"no place {body.place_id!r}")
    unknown = [d for d in body.device_ids if idx.place_of(d) is None]
    if unknown:
        raise ApiError(404, f"no device {unknown[0]!r}")
    if body.place_id is None and not body.device_ids and not body.hazards and not body.device_kinds:
        raise ApiError(422, "a silence needs a place, devices or kinds to match")
    why = _may_cover(c, p, body.place_id, body.device_ids)
    if why:
        raise ApiError(403, why)
    now = c.clock()
    start = parse_time(body.starts_at, now, "starts_at")
    if body.ends_at is not None and body.duration_s is not None:
        raise ApiError(422, "give ends_at or duration_s, not both")
    if body.ends_at is None and body.duration_s is None:
        raise ApiError(422, "a silence needs ends_at or duration_s")
    end = parse_time(body.ends_at, 0.0, "ends_at") if body.ends_at else max(start, now) + float(body.duration_s or 0)
    problem = validate_window(start, end, now, MAX_SILENCE_S)
    if problem:
        raise ApiError(422, problem)
    s = Silence(0, author=who, reason=body.reason, starts_at=start, ends_at=end,
                place_id=body.place_id, device_ids=sorted(set(body.device_ids)),
                hazards=sorted({h.value for h in body.hazards}),
                device_kinds=sorted({k.value for k in body.device_kinds}))
    saved: Silence = c.commands.add_silence(s, actor=who)
    return saved.to_dict(now)


@router.get("", summary="Silences and maintenance windows",
            responses={200: {"content": {"application/json": {"example": {
                "items": [_EXAMPLE], "total": 1, "limit": 100, "offset": 0}}}}})
def list_silences(
    c: Ctx,
    p: Me,
    state: Annotated[str, Query(pattern="^(active|scheduled|expired|current|all)$")] = "current",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """``current`` (default): active and scheduled; or one state, or ``all``; newest first.
    Only those inside the caller's places (or set by the caller)."""
    now = c.clock()
    items = [s.to_dict(now) for s in c.state.silences() if _visible(c, p, s)]
    if state == "current":
        items = [i for i in items if i["state"] in ("active", "scheduled")]
    elif state != "all":
        items = [i for i in items if i["state"] == state]
    return {"items": items[offset:offset + limit], "total": len(items), "limit": limit,
            "offset": offset}


@router.get("/{silence_id}", summary="One silence", responses=error_responses(404))
def get_silence(c: Ctx, p: Me, silence_id: SilenceId) -> dict[str, Any]:
    """With its state (active, scheduled, expired)."""
    s = c.state.get_silence(silence_id)
    if s is None or not _visible(c, p, s):
        raise ApiError(404, f"no silence {silence_id}")
    return s.to_dict(c.clock())


@router.delete("/{silence_id}", summary="Lift a silence now", responses=error_responses(403, 404))
def end_silence(c: Ctx, p: Me, silence_id: SilenceId,
                who: Annotated[str, Depends(actor)]) -> dict[str, Any]:
    """The alerts it held and still open are notified as their policy says (audited)."""
    s = c.state.get_silence(silence_id)
    if s is None or not _visible(c, p, s):
        raise ApiError(404, f"no silence {silence_id}")
    if p.read_only or _may_cover(c, p, s.place_id, s.device_ids) is not None:
        raise ApiError(403, "you may not lift this silence")
    ended: Silence = c.commands.end_silence(s, actor=who)
    return ended.to_dict(c.clock())
