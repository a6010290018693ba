"""The overview: live counts, the place tree, households, and the live event stream
(Server-Sent Events) the pages listen to.

Layer: adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from alerts.service import AlertChange
from alerts.words import CATALOGUE
from api import queries
from api.deps import Ctx, Me
from api.errors import ApiError, error_responses
from api.live import (
    CLOSE,
    OVERFLOW,
    DeviceSnapshot,
    EventHub,
    SharedDeviceStates,
    Subscription,
    TooManyStreams,
)
from api.principal import CONTACT_PREFIX, Principal
from api.routes.alerts import AlertId
from api.views import alert_view

router = APIRouter(prefix="/api", tags=["overview"], responses=error_responses(401, 422))

_WORDS = orjson.dumps(CATALOGUE)

# How often an open stream looks for device state changes that no alert announced
# (a device coming online, going silent, its battery falling).
DEVICE_DIFF_INTERVAL_S = 2.0


@router.get("/overview", summary="Live counts and open alerts (GB/T 45839 5.8.2)",
            responses={200: {"content": {"application/json": {"example": {
                "devices": 9, "online": 8, "in_alarm": 1, "in_fault": 1, "offline": 1, "never_seen": 0,
                "low_battery": 0, "by_state": {"alarm": 1, "fault": 0, "offline": 1, "ok": 7, "unknown": 0},
                "open_alerts": 2, "open_alerts_by_severity": {"critical": 1, "warning": 1, "info": 0},
                "grids": []}}}}})
def overview(
    c: Ctx,
    p: Me,
    property_company: str | None = Query(default=None, description="One company's buildings"),
    grid: str | None = None,
    compound: str | None = None,
) -> dict[str, Any]:
    """Counts of devices, online, in alarm, in fault and low battery, and open alerts by
    severity, in your places (optionally one property company, grid or compound), with
    a row per grid."""
    now = c.clock()
    out = queries.counts(c, p, now, company=property_company, grid=grid, compound=compound)
    grids = sorted({c.index.devices[i].grid_id for i in queries.visible_devices(c, p)})
    out["grids"] = [{"id": g, "name": c.index.grids[g].name,
                     **queries.counts(c, p, now, company=property_company, grid=g, compound=compound)}
                    for g in grids if grid in (None, g)]
    return out


@router.get("/words", summary="The words of the pages, notices and console (zh, en)",
            include_in_schema=True)
def words() -> Response:
    """The one catalogue of words (:mod:`alerts.words`), for the pages; public like the
    login page that needs it."""
    return Response(_WORDS, media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/alerts/{alert_id}/messages", summary="Each notice of an alert as its recipient read it",
            responses=error_responses(404))
def messages(c: Ctx, p: Me, alert_id: AlertId) -> dict[str, Any]:
    """Title and text of every notice of the alert per recipient (rendered in the
    recipient's language), the channels tried and whether one delivered. Where nobody
    has a channel (the demo), this is what they would have received."""
    a = c.state.get_alert(alert_id)
    if a is None or not p.sees_alert(a):
        raise ApiError(404, f"no alert {alert_id}")
    attempts, _ = c.notify_store.attempts(alert_id, limit=1000)
    if not p.sees_personal(a.place_id):  # who the household's contacts are is personal data
        attempts = [x for x in attempts if not str(x["recipient"]).startswith(CONTACT_PREFIX)]
    settings = c.settings
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    tz = _zone(c.index.site.community.timezone)
    return {"items": queries.notice_messages(c, p, a, attempts, public_url=public_url, tz=tz)}


def _zone(name: str | None) -> tzinfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


@router.get("/places/summary", summary="Compounds and buildings as counts of households by state")
def places_summary(c: Ctx, p: Me, property_company: str | None = Query(
        default=None, description="One company's buildings")) -> dict[str, Any]:
    """Per compound and building: households by state (alarm, fault, offline, ok,
    unknown: the worst of their devices), the common areas' state, the units; in your
    places. Open a building with ``GET /api/places/{building_id}``."""
    return queries.place_summary(c, p, c.clock(), company=property_company)


@router.get("/places/search", summary="Find a compound, building, unit or household by name")
def places_search(c: Ctx, p: Me, q: str = Query(max_length=100),
                  limit: int = Query(default=20, ge=1, le=100)) -> dict[str, Any]:
    """Places in your scope whose name contains every word of ``q`` (``1号楼 101``)."""
    return {"items": queries.search_places(c, p, q, limit=limit)}


@router.get("/places/{building_id}", summary="One building: units, households, devices and their states",
            responses=error_responses(404))
def building(c: Ctx, p: Me, building_id: str) -> dict[str, Any]:
    """The building's units and households with device ids, kinds and states."""
    out = queries.building_detail(c, p, building_id, c.clock())
    if out is None:
        raise ApiError(404, f"no building {building_id!r}")
    return out


@router.get("/places", summary="Compound → building → unit → household, with device states")
def places(c: Ctx, p: Me) -> dict[str, Any]:
    """The places you may see, each with its device ids, and every device's state
    (alarm, fault, offline, ok, unknown). Elderly-alone flags only where you are
    responsible."""
    return queries.place_tree(c, p, c.clock())


@router.get("/households/{household_id}", summary="A household; personal data when you are responsible",
            responses=error_responses(404))
def household(c: Ctx, p: Me, household_id: str) -> dict[str, Any]:
    """Address and devices; the elderly-alone flag and emergency contacts only for
    admins, leaders, the household's grid workers and the resident."""
    out = queries.household_view(c, p, household_id)
    if out is None:
        raise ApiError(404, f"no household {household_id!r}")
    return out


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _view(snap: DeviceSnapshot, ids: frozenset[str] | set[str], scope: tuple[frozenset[str], frozenset[str]]
          ) -> dict[str, str]:
    visible, personal = scope
    return {i: (snap.full if i in personal else snap.public)[i] for i in ids if i in visible}


async def _stream(c: Any, p: Principal, hub: EventHub, sub: Subscription,
                  states: SharedDeviceStates, request: Request) -> AsyncIterator[bytes]:
    try:
        scope = await asyncio.to_thread(queries.stream_scope, c, p)
        snap = await states.current()
        version = snap.version
        yield b"retry: 2000\n\n" + _sse("hello", {"devices": len(scope[0])})
        while True:
            try:
                item = await asyncio.wait_for(sub.queue.get(), DEVICE_DIFF_INTERVAL_S)
            except TimeoutError:
                item = None
                yield b": keep-alive\n\n"
            batch = [item] if item is not None else []
            while not sub.queue.empty():
                batch.append(sub.queue.get_nowait())
            if CLOSE in batch or await request.is_disconnected():
                return
            if OVERFLOW in batch:
                sub.overflowed = False
                yield _sse("reload", {})
            for change in batch:
                if isinstance(change, AlertChange) and p.sees_alert(change.alert):
                    view = await asyncio.to_thread(alert_view, c, change.alert, p)
                    view["can_act"] = p.may_act(change.alert)
                    yield _sse("alert", view)
            snap = await states.current()  # one computation per interval for every stream
            if snap.version != version:
                changed = states.changed_since(version)
                version = snap.version
                if changed is None:
                    yield _sse("reload", {})
                    continue
                diff = _view(snap, changed, scope)
                if diff:
                    yield _sse("devices", diff)
    finally:
        hub.unsubscribe(sub)


@router.get("/events", summary="Live events (Server-Sent Events)",
            responses={200: {"content": {"text/event-stream": {"example":
                "event: alert\ndata: {\"id\": 7, \"status\": \"raised\", ...}\n\n"
                "event: devices\ndata: {\"smoke-101\": \"alarm\"}\n\n"}}}})
async def events(c: Ctx, p: Me, request: Request) -> StreamingResponse:
    """A text/event-stream of ``alert`` (an alert in your places changed: its view),
    ``devices`` (device id → new state) and ``reload`` (too many events were missed:
    fetch the state again) events, with keep-alive comments."""
    hub: EventHub = request.app.state.hub
    states: SharedDeviceStates = request.app.state.device_states
    try:
        sub = hub.subscribe(p.login)
    except TooManyStreams as exc:
        raise ApiError(429, f"too many live streams open: {exc}") from None

    async def body() -> AsyncIterator[bytes]:
        with contextlib.suppress(asyncio.CancelledError):
            async for chunk in _stream(c, p, hub, sub, states, request):
                yield chunk

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
