"""Liveness, health, dead letters and the manual test clock.

Layer: adapters. ``/api/live`` is the one route without a login (it says only
"ok"); the health figures need a login, dead letters (raw payloads of every
grid, bridges' keys among them) an admin.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from alerts.model import OPEN_STATUSES
from api.deps import Ctx, Me, require_admin
from api.errors import ApiError, error_responses
from api.views import device_online

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/live", summary="Liveness probe (no login): the API answers",
            responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}})
async def live() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the API answers; nothing else (for container
    healthchecks and load balancers). The figures are in ``/api/health``."""
    return {"status": "ok"}


@router.get("/health", summary="Is the service alive and what is it doing", responses=error_responses(401, 503))
def health(c: Ctx, _p: Me, response: Response) -> dict[str, Any]:
    """Liveness plus the live counts of GB/T 45839 5.8.2, and every fault that can delay
    an alarm (``faults``): with a critical one the status is ``failing`` and the answer
    503."""
    now = c.clock()
    stats = c.pipeline.stats
    # Without a lock: a count read while a batch lands may be off by that batch.
    states = [device_online(c, i, now) for i in range(len(c.table))]
    faults = c.faults()
    open_alerts = c.state.open_alerts()
    by_sev: dict[str, int] = {}
    for a in open_alerts:
        by_sev[a.severity.value] = by_sev.get(a.severity.value, 0) + 1
    if any(f["severity"] == "critical" for f in faults):
        response.status_code = 503  # a fault that can delay an alarm fails the check
    return {
        "status": "failing" if response.status_code == 503 else ("degraded" if faults else "ok"),
        "faults": faults,
        "time": now,
        "clock": "manual" if getattr(c.clock, "manual", False) else "system",
        "uptime_s": now - c.counters.started_at,
        "mqtt": {"connected": c.ingest.connected.is_set(), "backlog": c.ingest.backlog()},
        "ingest": {"received": stats.received, "stored": stats.stored, "batches": stats.batches,
                   "dead_letters": dict(stats.dead), "store_errors": stats.store_errors},
        "store": c.readings.health(),
        "devices": {"total": len(states), "online": sum(1 for s in states if s),
                    "offline": sum(1 for s in states if s is False),
                    "never_seen": sum(1 for s in states if s is None)},
        "alerts": {"open": len(open_alerts), "open_by_severity": by_sev,
                   "statuses": sorted(s.value for s in OPEN_STATUSES)},
        "notifications": dispatcher.stats() if (dispatcher := getattr(c, "dispatcher", None)) else None,
    }


@router.get("/dead-letters", summary="Messages that could not be used, and why (admin)",
            responses=error_responses(401, 403))
def dead_letters(
    c: Ctx,
    p: Me,
    reason: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Newest first, with the count per reason."""
    if not p.is_admin:
        raise ApiError(403, "only an admin reads dead letters")
    return {"items": c.state.list_dead_letters(reason=reason, limit=limit, offset=offset),
            "counts": c.state.dead_letter_counts(), "limit": limit, "offset": offset}


class ClockAdvance(BaseModel):
    """How far to move the manual clock; optionally first wait until the ingest has taken
    a number of messages (a driver that just published them: the simulator's
    fast-forward, the scenario runner)."""

    advance_s: float = Field(ge=0, le=366 * 86400)
    received_at_least: int | None = Field(default=None, ge=0, le=2**62, description=(
        "wait until the ingest has received this many messages in all and has nothing "
        "pending, at most wait_s"))
    wait_s: float = Field(default=30.0, gt=0, le=120)


clock_router = APIRouter(prefix="/api", tags=["system"])


@clock_router.post("/clock", summary="Move the manual test clock (only with --clock manual)")
def advance_clock(c: Ctx, body: ClockAdvance, _who: Annotated[str, Depends(require_admin)]) -> dict[str, Any]:
    """Advance the clock and run the absence rules at the new time (409 when the ingest
    did not take ``received_at_least`` messages within ``wait_s``)."""
    if body.received_at_least is not None:
        deadline = time.monotonic() + body.wait_s
        pause = 0.0005
        pending = getattr(c, "pending_transitions", lambda: 0)
        while (c.pipeline.stats.received < body.received_at_least or c.ingest.backlog()
               or pending()):
            if time.monotonic() > deadline:
                raise ApiError(409, f"the ingest has received {c.pipeline.stats.received} "
                                    f"messages, not {body.received_at_least}, after {body.wait_s:g} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
    now = c.clock.advance(body.advance_s)
    changes = c.sweep()
    return {"now": now, "alert_changes": len(changes)}
