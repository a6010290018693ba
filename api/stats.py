"""Handling statistics (GB/T 45839 5.10.2; "80 % solved inside the grid"): time to
acknowledge, time to resolve, share resolved inside the grid and false-alarm share,
per grid or per property company, over a period; and CSV exports.

Layer: adapters (pure functions over alerts and their timelines; the route
fetches them within the caller's places).

Definitions:
    time to acknowledge: from the alert being raised to the first action of a
        person (acknowledged, on site or resolved).
    time to resolve: from raised to the ``resolved`` event of a person.
    resolved inside the grid: resolved by a person, not escalated (``data``
        ``escalation_level``/``level`` 0 or absent), and the resolver is not
        the community head or deputy (a leader stepping in means it left the grid).
    false-alarm share: outcome ``false_alarm`` among alerts resolved by a person.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from alerts.model import Alert, AlertEvent

_PERSON_ACTIONS = ("acknowledged", "on_site", "resolved")


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[k]


def _escalated(a: Alert) -> bool:
    return a.escalation.level > 0


def _group_stats(alerts: list[Alert], events: dict[int, list[AlertEvent]], leaders: frozenset[str]) -> dict[str, Any]:
    ack_s: list[float] = []
    resolve_s: list[float] = []
    by_person = in_grid = false = 0
    by_hazard: dict[str, int] = {}
    for a in alerts:
        by_hazard[a.hazard] = by_hazard.get(a.hazard, 0) + 1
        person = [e for e in events.get(a.id, []) if e.actor != "system" and e.action in _PERSON_ACTIONS]
        if person:
            ack_s.append(max(0.0, person[0].ts - a.raised_at))
        resolved = next((e for e in person if e.action == "resolved"), None)
        if resolved is None:
            continue
        by_person += 1
        resolve_s.append(max(0.0, resolved.ts - a.raised_at))
        if not _escalated(a) and resolved.actor not in leaders:
            in_grid += 1
        if a.outcome is not None and a.outcome.value == "false_alarm":
            false += 1
    return {
        "alerts": len(alerts),
        "acknowledged": len(ack_s),
        "resolved_by_person": by_person,
        "ack_median_s": statistics.median(ack_s) if ack_s else None,
        "ack_p90_s": _percentile(ack_s, 0.9),
        "resolve_median_s": statistics.median(resolve_s) if resolve_s else None,
        "resolve_p90_s": _percentile(resolve_s, 0.9),
        "resolved_in_grid_share": in_grid / by_person if by_person else None,
        "false_alarm_share": false / by_person if by_person else None,
        "by_hazard": by_hazard,
    }


def handling_stats(
    alerts: list[Alert],
    events: dict[int, list[AlertEvent]],
    group_of: Callable[[Alert], str | None],
    names: dict[str, str],
    leaders: frozenset[str],
) -> dict[str, Any]:
    """Totals and one row per group (grid or property company), largest first."""
    groups: dict[str, list[Alert]] = {}
    for a in alerts:
        groups.setdefault(group_of(a) or "-", []).append(a)
    rows = [{"id": g, "name": names.get(g, g), **_group_stats(items, events, leaders)}
            for g, items in groups.items()]
    rows.sort(key=lambda r: (-r["alerts"], r["id"]))
    return {"total": _group_stats(alerts, events, leaders), "groups": rows}


ALERT_CSV_COLUMNS = ("id", "hazard", "severity", "status", "device_id", "place_id", "grid_id", "address",
                     "assignee", "raised_at", "updated_at", "cleared_at", "outcome", "value")
DEVICE_CSV_COLUMNS = ("id", "kind", "model", "address", "grid", "building", "household", "state",
                      "online", "last_seen", "battery_pct")


def _safe(v: Any) -> Any:
    # Cells a spreadsheet would run as a formula are quoted (CSV injection).
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return "" if v is None else v


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """CSV text with a header row; a UTF-8 BOM so spreadsheet programs read Chinese."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([_safe(r.get(c)) for c in columns])
    return buf.getvalue()
