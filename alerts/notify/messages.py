"""The text of a notice: what, where, when, the reading, what to do, and a link to act.

Layer: pure core. Chinese by default, English for recipients who chose it. Every word
comes from the one catalogue (:mod:`alerts.words`) the pages and the console use, so a
hazard has the same name in a WeCom message as on the alert page.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from alerts.model import Alert
from alerts.notify.types import Notice, NoticeType
from alerts.words import hazard_name, value_unit, word

# Hazards with their own advice (``adv_<hazard>``); every other hazard is a device fault.
_ADVISED = frozenset({"gas", "co", "smoke", "heat", "water_leak", "welfare", "door_night", "door_open"})


def advice(hazard: str, language: str = "zh") -> str:
    """What to do about a hazard."""
    return word(f"adv_{hazard}" if hazard in _ADVISED else "adv_fault", language)


def render(notice: Notice, *, language: str = "zh", public_url: str = "",
           tz: tzinfo | None = None) -> tuple[str, str]:
    """Title and body of a notice for one recipient's language (``zh`` or ``en``)."""
    lang = "en" if language == "en" else "zh"

    def w(key: str) -> str:
        return word(key, lang)

    a: Alert = notice.alert
    what = hazard_name(a.hazard, lang)
    sev = w(f"sev_{a.severity}")
    kind = w(f"n_{notice.notice.value}")
    where = (a.facts.address_en if lang == "en" else a.facts.address) or a.place_id
    when = datetime.fromtimestamp(a.raised_at, tz or UTC).strftime("%Y-%m-%d %H:%M:%S")
    title = f"[{kind}] {sev} {what}{w('m_title_at')}{where}"
    lines = [f"{w('m_what')}: {what} ({sev})", f"{w('m_where')}: {where}", f"{w('m_when')}: {when}"]
    if a.value is not None:
        lines.append(f"{w('m_reading')}: {a.value:g} {value_unit(a.hazard)}".rstrip())
    if a.device_id:
        lines.append(f"{w('m_device')}: {a.device_id}")
    if notice.notice in (NoticeType.ALARM_CLEARED, NoticeType.FAULT_RECOVERED):
        lines.append(w("m_cleared"))
    elif notice.notice is NoticeType.ESCALATION:
        lines.append(w("m_escalated") + notice.reason)
    elif notice.notice is NoticeType.OVERDUE:
        lines.append(w("m_overdue"))
    else:
        if notice.notice is NoticeType.INCIDENT_UPDATE:
            lines.append(w("m_incident") + notice.reason)
        lines.append(f"{w('m_todo')}: {advice(a.hazard, lang)}")
    if public_url:
        lines.append(f"{w('m_act')}: {public_url.rstrip('/')}/#/alert/{a.id}")
    return title, "\n".join(lines)


__all__ = ["advice", "render"]
