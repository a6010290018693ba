"""Notification records: every delivery attempt of an alert's notices (GB/T 45839
5.10.1), and the escalation in progress.

Layer: adapters.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Ctx, Me
from api.errors import error_responses
from api.principal import CONTACT_PREFIX, redact
from api.routes.alerts import AlertId, _visible

# An alert's attempts read at once when some must be left out (a few hundred at most in practice).
_MAX_ATTEMPTS = 100_000

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get(
    "/{alert_id}/notifications",
    summary="Every notification attempt of an alert, and its escalation state",
    responses={**error_responses(404), 200: {"content": {"application/json": {"example": {
        "items": [{"ts": 1795000000.4, "alert_id": 7, "notice": "alarm", "recipient": "w-g1",
                   "channel": "wecombot://", "attempt": 1, "ok": True, "error": None,
                   "duration_ms": 85.2, "since_notice_ms": 91.0, "reason": "raised: worker"}],
        "total": 1, "limit": 100, "offset": 0,
        "escalation": {"next_step": 1, "addressed": ["w-g1", "w-g1a"], "repeats": 0,
                       "acknowledged": False},
        "told": ["w-g1"], "pending": ["w-g1a"]}}}}},
)
def notifications(
    c: Ctx,
    p: Me,
    alert_id: AlertId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Who was told what, on which channel (secrets removed), when, and whether it worked.
    Notices to a household's emergency contacts are listed only for those responsible
    for the household."""
    alert = _visible(c, p, alert_id)
    personal = p.sees_personal(alert.place_id)
    if personal:
        items, total = c.notify_store.attempts(alert_id, limit=limit, offset=offset)
    else:
        every, _n = c.notify_store.attempts(alert_id, limit=_MAX_ATTEMPTS)
        kept = [a for a in every if not str(a.get("recipient", "")).startswith(CONTACT_PREFIX)]
        items, total = kept[offset: offset + limit], len(kept)
    s = c.notify_store.escalation(alert_id)
    escalation = None
    if s is not None:
        escalation = {"next_step": s.next_step, "addressed": s.told if personal else redact(s.told),
                      "repeats": s.repeats,
                      "acknowledged": s.acknowledged, "overdue_sent": s.overdue_sent,
                      "suppressed": s.suppressed}
    # A person is told once a channel delivered (an outbox row per notice and person);
    # one whose every channel failed is pending, and retried until one takes it.
    told: list[str] = []
    waiting: list[str] = []
    for row in c.state.outbox_of(alert_id):
        rid = str(row["recipient"])
        if not personal and rid.startswith(CONTACT_PREFIX):
            continue
        (told if row["delivered_at"] is not None and row["channel"] != "expired" else waiting).append(rid)
    pending_people = list(dict.fromkeys(waiting))
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "escalation": escalation, "told": list(dict.fromkeys(told)), "pending": pending_people}
