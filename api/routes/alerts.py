"""Alerts: list with filters, one alert with its timeline, and the workflow actions,
always within the caller's places.

Layer: adapters.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from alerts.model import Alert, AlertStatus, Outcome
from api import queries
from api.deps import Ctx, Me, actor
from api.errors import ApiError, error_responses
from api.principal import PERSONAL_HAZARDS, Principal
from api.views import alert_view, event_view

AlertId = Annotated[int, Path(ge=1, le=2**62, description="Alert id", examples=[7])]

router = APIRouter(prefix="/api/alerts", tags=["alerts"], responses=error_responses(401, 403, 422))

_ALERT_EXAMPLE = {
    "id": 7, "key": "smoke-101:smoke", "hazard": "smoke", "severity": "critical", "status": "raised",
    "active": True, "device_id": "smoke-101", "place_id": "b1-u1-101", "grid_id": "g1",
    "assignee": {"id": "w-g1", "name": "张伟", "role": "grid_worker", "phone": "13800000001"},
    "raised_at": 1767225600.0, "updated_at": 1767225600.2, "cleared_at": None, "value": 1.0,
    "detail": "device_alarm", "outcome": None,
    "facts": {"address": "一号院 1号楼 1单元 101室", "address_en": "Compound 1, Building 1, Unit 1, 101",
              "building_id": "b1", "compound_id": "c1", "kind": "smoke", "duty": "", "backup": "w-g1a",
              "property_company": "pc1", "property_staff": ["w-pm"], "contacts": []},
    "incident": {"parent": None, "children": []},
    "escalation": {"level": 0, "to": [], "outside_grid": False, "overdue": False},
    "suppression": {"silenced_by": 3, "inhibited_by": None, "until": 1767229200.0,
                    "note": "#3 by w-g1: 更换烟感"},
    "handling": {"acknowledged_at": None, "acknowledged_by": None, "helpers": [], "repair_ticket": None},
    "flap": {"toggles": [1767225600.0], "flapping": False},
    "source": {"kind": "sensor", "reporter": None, "reports": 0, "note": "", "photos": []},
}


class ActionBody(BaseModel):
    """What a person says when acting on an alert."""

    actor: str | None = Field(default=None, max_length=64,
                              description="Worker id acting (honoured for admins only; others act as themselves)")
    note: str = Field(default="", max_length=2000)
    outcome: Outcome | None = Field(default=None, description="With resolve")
    photos: list[str] = Field(default_factory=list, max_length=20,
                              description="Photo references (URLs or upload ids)")
    helpers: list[str] = Field(default_factory=list, max_length=20,
                               description="With resolve: who helped (property company, police, fire brigade)")

    model_config = {"json_schema_extra": {"examples": [
        {"note": "valve closed, window open", "outcome": "real_hazard"},
        {"note": "cooking smoke", "outcome": "false_alarm"},
    ]}}


@router.get("", summary="Alerts, newest first",
            responses={200: {"content": {"application/json": {"example": {
                "items": [_ALERT_EXAMPLE], "total": 1, "limit": 100, "offset": 0}}}}})
def list_alerts(
    c: Ctx,
    p: Me,
    status: Annotated[list[AlertStatus] | None, Query()] = None,
    open_only: bool = False,
    grid: Annotated[list[str] | None, Query()] = None,
    assignee: str | None = None,
    kind: str | None = Query(default=None, description="Hazard: gas, co, smoke, offline, ...",
                             examples=["smoke"]),
    severity: str | None = Query(default=None, examples=["critical"]),
    device: str | None = None,
    mine_first: bool = Query(default=False, description="Your own open alerts first (the inbox)"),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Alerts in your places. Filter by status (repeatable), grid (repeatable), assignee,
    kind, severity, device."""
    statuses = [s.value for s in status] if status else []
    if open_only:
        statuses = [s.value for s in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.ON_SITE)]
    filters: dict[str, Any] = {"statuses": statuses, "grid_ids": grid, "assignee": assignee,
                               "hazard": kind, "severity": severity, "device_id": device,
                               "place_ids": p.alert_filter()}
    if mine_first:
        items = [a for a in _mine_first(c, p, filters, limit, offset) if p.sees_alert(a)]
        total = _count(c, p, filters)
    else:
        items, total = _page(c, p, filters, limit, offset)
    return {"items": [_view(c, p, a) for a in items], "total": total, "limit": limit, "offset": offset}


def _count(c: Ctx, p: Principal, filters: dict[str, Any]) -> int:
    """How many alerts match, less the personal ones (welfare, door at night) in
    households whose personal data ``p`` may not see."""
    total = c.state.count_alerts(**filters)
    hidden = p.hidden_personal_places()
    if hidden:
        for h in PERSONAL_HAZARDS:
            if filters.get("hazard") in (None, h):
                total -= c.state.count_alerts(**{**filters, "hazard": h, "place_ids": hidden})
    return total


def _page(c: Ctx, p: Principal, filters: dict[str, Any], limit: int, offset: int) -> tuple[list[Alert], int]:
    if not p.hidden_personal_places():
        return c.state.list_alerts(**filters, limit=limit, offset=offset), c.state.count_alerts(**filters)
    seen: list[Alert] = []
    pos, chunk = 0, max(200, limit + offset)
    while len(seen) < offset + limit:
        batch = c.state.list_alerts(**filters, limit=chunk, offset=pos)
        seen.extend(a for a in batch if p.sees_alert(a))
        pos += len(batch)
        if len(batch) < chunk:
            break
    return seen[offset: offset + limit], _count(c, p, filters)


def _mine_first(c: Ctx, p: Principal, filters: dict[str, Any], limit: int, offset: int) -> list[Alert]:
    mine = c.state.list_alerts(**{**filters, "assignee": p.actor}, limit=limit + offset) \
        if filters.get("assignee") in (None, p.actor) else []
    ids = {a.id for a in mine}
    rest = c.state.list_alerts(**filters, limit=limit + offset + len(mine))
    merged = mine + [a for a in rest if a.id not in ids]
    return merged[offset: offset + limit]


def _view(c: Ctx, p: Principal, a: Alert) -> dict[str, Any]:
    out = alert_view(c, a, p)
    out["can_act"] = p.may_act(a)
    return out


def _visible(c: Ctx, p: Principal, alert_id: int) -> Alert:
    a = c.state.get_alert(alert_id)
    if a is None or not p.sees_alert(a):
        raise ApiError(404, f"no alert {alert_id}")
    return a


@router.get("/{alert_id}", summary="One alert with its timeline",
            responses={**error_responses(404),
                       200: {"content": {"application/json": {"example": {
                           **_ALERT_EXAMPLE, "can_act": True, "household": None,
                           "timeline": [{"ts": 1767225600.2, "actor": "system", "action": "raised",
                                         "note": "", "data": {"severity": "critical"}}]}}}}})
def get_alert(c: Ctx, p: Me, alert_id: AlertId) -> dict[str, Any]:
    """The alert and every event of its timeline; the household's emergency contacts
    when you are responsible for it."""
    a = _visible(c, p, alert_id)
    out = _view(c, p, a)
    personal = p.sees_personal(a.place_id)
    out["timeline"] = [event_view(e, personal=personal) for e in c.state.alert_events(alert_id)]
    out["household"] = queries.household_view(c, p, a.place_id) if a.place_id in c.index.households else None
    return out


def _act(c: Ctx, p: Principal, alert_id: int, action: str, body: ActionBody | None, who: str) -> dict[str, Any]:
    body = body or ActionBody()
    a = _visible(c, p, alert_id)
    if not p.may_act(a):
        raise ApiError(403, "you may not change this alert")
    name = body.actor if (body.actor and p.is_admin) else who
    changed = c.alerts.act(alert_id, action, actor=name, now=c.clock(), note=body.note, outcome=body.outcome)
    if changed is None:
        raise ApiError(404, f"no alert {alert_id}")
    return _view(c, p, changed)


_ACT_RESPONSES = {**error_responses(404, 409), 200: {"content": {"application/json": {"example": {
    **_ALERT_EXAMPLE, "status": "acknowledged", "can_act": True}}}}}


@router.post("/{alert_id}/ack", summary="Acknowledge: I am on it", responses=_ACT_RESPONSES)
def ack(c: Ctx, p: Me, alert_id: AlertId, who: Annotated[str, Depends(actor)],
        body: ActionBody | None = None) -> dict[str, Any]:
    """raised → acknowledged."""
    return _act(c, p, alert_id, "acknowledge", body, who)


@router.post("/{alert_id}/on-site", summary="Mark on site", responses=_ACT_RESPONSES)
def on_site(c: Ctx, p: Me, alert_id: AlertId, who: Annotated[str, Depends(actor)],
            body: ActionBody | None = None) -> dict[str, Any]:
    """raised / acknowledged → on site."""
    return _act(c, p, alert_id, "on_site", body, who)


@router.post("/{alert_id}/resolve", summary="Resolve with a note and an outcome", responses=_ACT_RESPONSES)
def resolve(c: Ctx, p: Me, alert_id: AlertId, who: Annotated[str, Depends(actor)],
            body: ActionBody | None = None) -> dict[str, Any]:
    """Open → resolved. A life-safety alert whose condition is still true answers 409."""
    return _act(c, p, alert_id, "resolve", body, who)


@router.post("/{alert_id}/close", summary="Close after the follow-up visit", responses=_ACT_RESPONSES)
def close(c: Ctx, p: Me, alert_id: AlertId, who: Annotated[str, Depends(actor)],
          body: ActionBody | None = None) -> dict[str, Any]:
    """resolved → closed."""
    return _act(c, p, alert_id, "close", body, who)


@router.post("/{alert_id}/follow-up", summary="Record the follow-up visit (closes it)")
def follow_up(c: Ctx, p: Me, alert_id: AlertId, who: Annotated[str, Depends(actor)],
              body: ActionBody | None = None) -> dict[str, Any]:
    """resolved → closed, after the follow-up visit (跟踪回访)."""
    return _act(c, p, alert_id, "follow_up", body, who)


@router.post("/{alert_id}/note", summary="Add a note or photos to the timeline")
def add_note(c: Ctx, p: Me, alert_id: AlertId, who: Annotated[str, Depends(actor)],
             body: ActionBody | None = None) -> dict[str, Any]:
    """Adds a timeline entry without changing the status."""
    return _act(c, p, alert_id, "note", body, who)
