"""The text of a notice: what, where, when, the reading, what to do, and a link to act.

Layer: pure core. Chinese by default, English for recipients who chose it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from alerts.model import Alert
from alerts.notify.types import Notice, NoticeType

HAZARD_NAMES: dict[str, tuple[str, str]] = {
    "gas": ("燃气泄漏", "gas leak"),
    "co": ("一氧化碳", "carbon monoxide"),
    "smoke": ("烟雾报警", "smoke alarm"),
    "heat": ("高温报警", "heat alarm"),
    "water_leak": ("漏水", "water leak"),
    "door_open": ("门未关", "door held open"),
    "door_night": ("夜间开门", "door opened at night"),
    "welfare": ("独居老人无活动", "no activity in an elderly-alone home"),
    "offline": ("设备离线", "device offline"),
    "unprotected": ("家中无防护", "home unprotected"),
    "tamper": ("设备被拆", "device tampered"),
    "battery_low": ("电量低", "battery low"),
    "stuck": ("传感器卡滞", "sensor stuck"),
    "implausible": ("读数异常", "implausible reading"),
    "illegal_wiring": ("乱拉电线", "illegal wiring"),
    "broken_unit_door": ("单元门故障", "broken unit door"),
    "leaking_pipe": ("水管漏水", "leaking pipe"),
    "gas_pipe": ("燃气管道隐患", "gas pipe hazard"),
    "blocked_fire_exit": ("消防通道堵塞", "blocked fire exit"),
    "data_gap": ("数据缺失", "data gap"),
    "store_unreachable": ("数据库不可达", "database unreachable"),
}
SEVERITY_NAMES = {"critical": ("紧急", "CRITICAL"), "warning": ("警告", "WARNING"),
                  "info": ("提示", "INFO")}
NOTICE_NAMES: dict[NoticeType, tuple[str, str]] = {
    NoticeType.ALARM: ("报警", "Alarm"),
    NoticeType.FAULT: ("故障", "Fault"),
    NoticeType.ALARM_CLEARED: ("报警解除", "Alarm cleared"),
    NoticeType.FAULT_RECOVERED: ("故障恢复", "Fault recovered"),
    NoticeType.DEVICE_RETIRED: ("设备注销", "Device retired"),
    NoticeType.ESCALATION: ("升级上报", "Escalated"),
    NoticeType.REMINDER: ("催办", "Reminder"),
    NoticeType.OVERDUE: ("超时未处置", "Overdue"),
    NoticeType.INCIDENT_UPDATE: ("事件更新", "Incident update"),
}
UNITS = {"gas": "%LEL", "co": "ppm", "heat": "°C", "battery_low": "%"}
ADVICE: dict[str, tuple[str, str]] = {
    "gas": ("立即开窗通风，严禁开关电器和明火，关闭燃气阀门，疏散人员，必要时拨打119。",
            "Open windows, do not switch anything electric or light a flame, shut the gas "
            "valve, get people out; call 119 if needed."),
    "co": ("立即开窗通风，将人员撤离到室外，出现头晕恶心拨打120。",
           "Ventilate at once and get everyone outside; call 120 for headache or nausea."),
    "smoke": ("立即到场核实火情，确有火情拨打119并组织疏散。",
              "Go and check for fire at once; if there is one call 119 and evacuate."),
    "heat": ("立即到场核实火情，确有火情拨打119并组织疏散。",
             "Go and check for fire at once; if there is one call 119 and evacuate."),
    "water_leak": ("关闭进水阀门，通知物业维修，查看楼下住户。",
                   "Shut the water valve, call the property company, check the flat below."),
    "welfare": ("立即联系老人及紧急联系人，无法联系时上门查看。",
                "Call the resident and their emergency contacts; if nobody answers, visit."),
    "door_night": ("联系老人确认安全。", "Call the resident to check they are safe."),
    "door_open": ("到场关门并检查门禁。", "Close the door and check the lock."),
}
FAULT_ADVICE = ("通知物业或维修人员检修设备。", "Ask the property company or maintenance to fix it.")


def render(notice: Notice, *, language: str = "zh", public_url: str = "",
           tz: tzinfo | None = None) -> tuple[str, str]:
    """Title and body of a notice for one recipient's language (``zh`` or ``en``)."""
    en = language == "en"
    i = 1 if en else 0
    a: Alert = notice.alert
    what = HAZARD_NAMES.get(a.hazard, (a.hazard, a.hazard))[i]
    sev = SEVERITY_NAMES.get(str(a.severity), (str(a.severity), str(a.severity)))[i]
    kind = NOTICE_NAMES[notice.notice][i]
    where = str(a.data.get("address_en" if en else "address") or a.place_id)
    when = datetime.fromtimestamp(a.raised_at, tz or UTC).strftime("%Y-%m-%d %H:%M:%S")
    title = f"[{kind}] {sev} {what} · {where}" if not en else f"[{kind}] {sev} {what} at {where}"
    lines = [
        f"{'What' if en else '事件'}: {what} ({sev})",
        f"{'Where' if en else '地点'}: {where}",
        f"{'When' if en else '时间'}: {when}",
    ]
    if a.value is not None:
        unit = UNITS.get(a.hazard, "")
        lines.append(f"{'Reading' if en else '读数'}: {a.value:g} {unit}".rstrip())
    if a.device_id:
        lines.append(f"{'Device' if en else '设备'}: {a.device_id}")
    if notice.notice in (NoticeType.ALARM_CLEARED, NoticeType.FAULT_RECOVERED):
        lines.append("The condition has gone away." if en else "报警条件已消失。")
    elif notice.notice is NoticeType.ESCALATION:
        lines.append(("Not acknowledged in time: " if en else "未及时响应，已升级：") + notice.reason)
    elif notice.notice is NoticeType.OVERDUE:
        lines.append("Not resolved by the deadline." if en else "超过处置时限仍未办结。")
    elif notice.notice is NoticeType.INCIDENT_UPDATE:
        lines.append(("More detectors joined this incident: " if en else "同一事件新增报警：")
                     + notice.reason)
        lines.append(f"{'What to do' if en else '处置'}: {ADVICE.get(a.hazard, FAULT_ADVICE)[i]}")
    else:
        advice = ADVICE.get(a.hazard, FAULT_ADVICE)[i]
        lines.append(f"{'What to do' if en else '处置'}: {advice}")
    if public_url:
        lines.append(f"{'Act' if en else '处理'}: {public_url.rstrip('/')}/#/alert/{a.id}")
    return title, "\n".join(lines)


__all__ = ["ADVICE", "HAZARD_NAMES", "render"]
