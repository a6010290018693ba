"""Statistics of alert handling (GB/T 45839 5.10.2) and CSV exports of alerts and devices.

Layer: adapters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from alerts.model import Alert
from api import queries
from api.deps import Ctx, Me, parse_time
from api.errors import ApiError, error_responses
from api.queries import DeviceFilter
from api.stats import ALERT_CSV_COLUMNS, DEVICE_CSV_COLUMNS, handling_stats, to_csv
from api.views import alert_view

router = APIRouter(prefix="/api", tags=["statistics"], responses=error_responses(401, 422))

MAX_ALERTS = 100_000
_START = Query(default=None, description="Epoch seconds or RFC 3339; default 30 days before end",
               examples=["2026-01-01T00:00:00+08:00"])
_END = Query(default=None, description="Epoch seconds or RFC 3339 (exclusive); default now")


def _period(c: Ctx, start: str | None, end: str | None) -> tuple[float, float]:
    now = c.clock()
    t_end = parse_time(end, now + 1.0, "end")
    t_start = parse_time(start, t_end - 30 * 86400.0, "start")
    if t_start >= t_end:
        raise ApiError(422, "start must be before end")
    return t_start, t_end


def _alerts(c: Ctx, p: Me, t_start: float, t_end: float, grid: str | None = None) -> list[Alert]:
    found = c.state.list_alerts(since=t_start, until=t_end, place_ids=p.alert_filter(),
                                grid_ids=[grid] if grid else None, limit=MAX_ALERTS)
    return [a for a in found if p.sees_alert(a)]


@router.get("/stats", summary="Handling statistics per grid or property company",
            responses={200: {"content": {"application/json": {"example": {
                "start": 1767225600.0, "end": 1769904000.0, "by": "grid",
                "total": {"alerts": 12, "acknowledged": 11, "resolved_by_person": 10, "ack_median_s": 95.0,
                          "ack_p90_s": 300.0, "resolve_median_s": 1800.0, "resolve_p90_s": 5400.0,
                          "resolved_in_grid_share": 0.8, "false_alarm_share": 0.2, "by_hazard": {"smoke": 4}},
                "groups": [{"id": "g1", "name": "第一网格", "alerts": 12}]}}}}})
def stats(
    c: Ctx,
    p: Me,
    start: str | None = _START,
    end: str | None = _END,
    by: Literal["grid", "property_company"] = "grid",
    grid: str | None = None,
) -> dict[str, Any]:
    """Time to acknowledge and to resolve (median, 90th percentile), share resolved
    inside the grid, false-alarm share, alerts by hazard: in total and per group, for
    alerts raised in ``[start, end)`` in your places."""
    t_start, t_end = _period(c, start, end)
    alerts = _alerts(c, p, t_start, t_end, grid)
    events = c.state.events_of([a.id for a in alerts])
    community = c.index.site.community
    leaders = frozenset(x for x in (community.head, community.deputy, "admin") if x)
    if by == "grid":
        names = {g.id: g.name for g in c.index.grids.values()}

        def group_of(a: Alert) -> str | None:
            return a.grid_id
    else:
        names = {pc.id: pc.name for pc in c.index.property_companies.values()}

        def group_of(a: Alert) -> str | None:
            b = queries.building_of(c, a.place_id)
            return queries.company_of_building(c, b) if b else None
    return {"start": t_start, "end": t_end, "by": by,
            **handling_stats(alerts, events, group_of, names, leaders)}


_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"example": "id,hazard,severity,...\n7,smoke,critical,...\n"}}}}


@router.get("/export/alerts.csv", summary="Alerts as CSV", response_class=Response, responses=_CSV)
def export_alerts(c: Ctx, p: Me, start: str | None = _START, end: str | None = _END,
                  grid: str | None = None) -> Response:
    """Alerts raised in ``[start, end)`` in your places, one row each (times in epoch s)."""
    t_start, t_end = _period(c, start, end)
    rows = []
    for a in _alerts(c, p, t_start, t_end, grid):
        v = alert_view(c, a, p)
        v["address"] = a.facts.address
        v["assignee"] = a.assignee
        rows.append(v)
    return Response(to_csv(ALERT_CSV_COLUMNS, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="alerts.csv"'})


@router.get("/export/devices.csv", summary="Devices as CSV", response_class=Response, responses=_CSV)
def export_devices(c: Ctx, p: Me, grid: str | None = None,
                   building: str | None = None,
                   kind: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    """Every device in your places with its place and live state."""
    items, _total = queries.list_devices(c, p, DeviceFilter(kind=kind, grid=grid, building=building),
                                         limit=10**9, offset=0, now=c.clock())
    rows = [{**d, "address": d["place"]["address"], "grid": d["place"]["grid"],
             "building": d["place"]["building"], "household": d["place"]["household"]} for d in items]
    return Response(to_csv(DEVICE_CSV_COLUMNS, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="devices.csv"'})
