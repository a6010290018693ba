"""Alerts: list with filters, one alert with its timeline, and the workflow actions.

Layer: adapters.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from alerts.model import AlertStatus, Outcome
from api.deps import Ctx, actor
from api.errors import ApiError
from api.views import alert_view, event_view

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


class ActionBody(BaseModel):
    """What a person says when acting on an alert."""

    actor: str | None = Field(default=None, max_length=64, description="Worker id acting")
    note: str = Field(default="", max_length=2000)
    outcome: Outcome | None = Field(default=None, description="With resolve")

    model_config = {"json_schema_extra": {"examples": [{"actor": "w-g01", "note": "valve closed"}]}}


@router.get("", summary="Alerts, newest first")
def list_alerts(
    c: Ctx,
    status: Annotated[list[AlertStatus] | None, Query()] = None,
    open_only: bool = False,
    grid: Annotated[list[str] | None, Query()] = None,
    assignee: str | None = None,
    kind: str | None = Query(default=None, description="Hazard: gas, co, smoke, offline, ..."),
    severity: str | None = None,
    device: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Filter by status (repeatable), grid (repeatable), assignee, kind, severity, device."""
    statuses = [s.value for s in status] if status else []
    if open_only:
        statuses = [s.value for s in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.ON_SITE)]
    filters: dict[str, Any] = {"statuses": statuses, "grid_ids": grid, "assignee": assignee,
                               "hazard": kind, "severity": severity, "device_id": device}
    items = c.state.list_alerts(**filters, limit=limit, offset=offset)
    return {"items": [alert_view(c, a) for a in items], "total": c.state.count_alerts(**filters),
            "limit": limit, "offset": offset}


@router.get("/{alert_id}", summary="One alert with its timeline")
def get_alert(c: Ctx, alert_id: int) -> dict[str, Any]:
    """The alert and every event of its timeline."""
    a = c.state.get_alert(alert_id)
    if a is None:
        raise ApiError(404, f"no alert {alert_id}")
    out = alert_view(c, a)
    out["timeline"] = [event_view(e) for e in c.state.alert_events(alert_id)]
    return out


def _act(c: Ctx, alert_id: int, action: str, body: ActionBody | None, who: str) -> dict[str, Any]:
    body = body or ActionBody()
    name = body.actor or who
    a = c.alerts.act(alert_id, action, actor=name, now=c.clock(), note=body.note, outcome=body.outcome)
    if a is None:
        raise ApiError(404, f"no alert {alert_id}")
    return alert_view(c, a)


@router.post("/{alert_id}/ack", summary="Acknowledge: I am on it")
def ack(c: Ctx, alert_id: int, who: Annotated[str, Depends(actor)], body: ActionBody | None = None) -> dict[str, Any]:
    """raised → acknowledged."""
    return _act(c, alert_id, "acknowledge", body, who)


@router.post("/{alert_id}/on-site", summary="Mark on site")
def on_site(c: Ctx, alert_id: int, who: Annotated[str, Depends(actor)], body: ActionBody | None = None) -> dict[str, Any]:
    """raised / acknowledged → on site."""
    return _act(c, alert_id, "on_site", body, who)


@router.post("/{alert_id}/resolve", summary="Resolve with a note and an outcome")
def resolve(c: Ctx, alert_id: int, who: Annotated[str, Depends(actor)], body: ActionBody | None = None) -> dict[str, Any]:
    """Open → resolved. A life-safety alert whose condition is still true answers 409."""
    return _act(c, alert_id, "resolve", body, who)


@router.post("/{alert_id}/close", summary="Close after the follow-up visit")
def close(c: Ctx, alert_id: int, who: Annotated[str, Depends(actor)], body: ActionBody | None = None) -> dict[str, Any]:
    """resolved → closed."""
    return _act(c, alert_id, "close", body, who)
