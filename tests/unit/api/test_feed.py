"""The MQTT notice feed's JSON names no emergency contact, and a welfare or
door-at-night alert names its grid, not the household (issue 14)."""

from __future__ import annotations

import orjson

from alerts.model import Alert, AlertStatus, Facts
from alerts.notify.dispatcher import Dispatcher
from alerts.notify.types import Notice, NoticeType
from alerts.routing import Recipient
from alerts.rules.types import Severity


def feed_json(hazard: str) -> dict:
    alert = Alert(7, f"d:{hazard}", hazard, Severity.WARNING, AlertStatus.RAISED, True, "door-102", "b1-u1-102",
                  "g1", "w-g1", 0.0, 0.0, facts=Facts(address="一号院 1号楼 102室", contacts=["contact:b1-u1-102:0"]))
    people = (Recipient("w-g1", "张伟", "grid_worker", ("json://127.0.0.1:9/x",)),
              Recipient("contact:b1-u1-102:0", "孙女", "contact", ("mailto://granddaughter@example.com",)))
    notice = Notice(alert, NoticeType.ALARM, people, 1.0)
    return dict(orjson.loads(Dispatcher._integration_json(None, notice)))  # type: ignore[arg-type] # uses no state  # noqa: SLF001


def test_the_feed_names_workers_only():
    raw = orjson.dumps(feed_json("gas")).decode()
    assert feed_json("gas")["recipients"] == ["w-g1"]
    assert "contact" not in raw and "孙女" not in raw and "example.com" not in raw
    assert feed_json("gas")["alert"]["place_id"] == "b1-u1-102"


def test_who_lives_alone_is_not_on_the_feed():
    for hazard in ("welfare", "door_night"):
        a = feed_json(hazard)["alert"]
        assert a["place_id"] is None and a["address"] is None and a["device_id"] is None
        assert a["grid_id"] == "g1" and a["hazard"] == hazard
