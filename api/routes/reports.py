"""Patrol reports: a grid worker's finding (illegal wiring, a broken unit door, a leaking
pipe, a gas pipe) becomes an alert that follows the same lifecycle as a sensor alert.

Layer: adapters (the route calls the alert service; no SQL here).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from alerts.model import ReportCategory
from alerts.rules.types import Severity
from alerts.service import UnknownPlace
from api.deps import Ctx, Me, actor
from api.errors import ApiError
from api.views import alert_view

router = APIRouter(prefix="/api/reports", tags=["reports"])


class ReportBody(BaseModel):
    """What a grid worker found on patrol."""

    category: ReportCategory
    place_id: str = Field(min_length=1, max_length=64, description="Household, unit or building id")
    note: str = Field(default="", max_length=2000)
    severity: Severity = Severity.WARNING
    photos: list[str] = Field(default_factory=list, max_length=20)
    reporter: str | None = Field(default=None, max_length=64, description="Worker id reporting")

    model_config = {"json_schema_extra": {"examples": [
        {"category": "illegal_wiring", "place_id": "b1-u1", "note": "电动车飞线充电",
         "severity": "warning", "reporter": "w-g1"}]}}


@router.post("", status_code=201, summary="Report a hazard found on patrol")
def create_report(
    c: Ctx, p: Me, body: ReportBody, who: Annotated[str, Depends(actor)]
) -> dict[str, Any]:
    """Creates an alert (or adds a report to the open one of the same place and category).

    Only for places the caller is responsible for; residents (read-only) cannot report.
    """
    if not p.sees_place(body.place_id):
        raise ApiError(404, f"no place {body.place_id!r}")
    if p.read_only:
        raise ApiError(403, "you may not report hazards")
    if body.reporter and body.reporter != who and not p.is_admin:
        raise ApiError(403, "you may report only in your own name")
    try:
        change = c.alerts.report(body.category, body.place_id, reporter=body.reporter or who,
                                 now=c.clock(), severity=body.severity, note=body.note,
                                 photos=body.photos)
    except UnknownPlace as exc:
        raise ApiError(404, str(exc)) from None
    out = alert_view(c, change.alert, p)
    out["created"] = change.created
    return out
