"""Alerts keep their typed records in the state store, and alerts stored by an older
version (free-form ``data`` keys) open with the same facts in the records."""

from __future__ import annotations

from pathlib import Path

import orjson

from alerts.model import (
    Alert,
    AlertStatus,
    Escalated,
    Facts,
    Handling,
    Incident,
    RepairTicket,
    Source,
)
from alerts.rules.types import Severity
from store.state import StateStore


def _alert(**records: object) -> Alert:
    return Alert(0, "gas-102:gas", "gas", Severity.CRITICAL, AlertStatus.RAISED, True, "gas-102",
                 "b1-u1-102", "g1", "w-g1", 1.0, 2.0, **records)  # type: ignore[arg-type]


def test_records_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    a = store.save_alert(_alert(
        facts=Facts(address="1号楼 102室", building_id="b1", contacts=["contact:b1-u1-102:0"]),
        incident=Incident(parent=None, children=[4, 5]),
        escalation=Escalated(level=2, to=["deputy"], outside_grid=True),
        handling=Handling(acknowledged_at=3.0, acknowledged_by="w-g1",
                          repair_ticket=RepairTicket(opened_at=3.0, company="pc1")),
        source=Source("patrol", "w-g1", 2, "飞线", ["p.jpg"])))
    back = store.get_alert(a.id)
    assert back is not None and back.to_dict() == a.to_dict()
    store.close()


def test_an_alert_stored_by_an_older_version_opens_with_its_facts(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    a = store.save_alert(_alert())
    old = {"address": "1号楼 102室", "address_en": "B1 102", "building_id": "b1", "kind": "gas",
           "contacts": ["contact:b1-u1-102:0"], "grouped_into": 3, "escalation_level": 1,
           "escalated_to": ["grid_leader"], "acknowledged_by": "w-g1", "acknowledged_at": 5.0,
           "toggles": [1.0, 2.0], "flapping": True, "silenced_by": 9, "inhibited_by": 8,
           "repair_ticket": {"status": "open", "opened_at": 5.0, "opened_by": "w-g1",
                             "company": "pc1", "device_id": "gas-102"}}
    with store.db.write() as c:
        c.execute("UPDATE alerts SET data = ? WHERE id = ?", (orjson.dumps(old), a.id))
    back = store.get_alert(a.id)
    assert back is not None
    assert back.facts.address == "1号楼 102室" and back.facts.contacts == ["contact:b1-u1-102:0"]
    assert back.incident.parent == 3 and back.escalation.level == 1 and back.escalation.to == ["grid_leader"]
    assert back.handling.acknowledged_by == "w-g1" and back.flap.flapping
    assert back.handling.repair_ticket is not None and back.handling.repair_ticket.company == "pc1"
    assert "silenced_by" not in str(back.records())  # what holds notices is not stored any more
    store.close()
