import math

import numpy as np
import pytest

from alerts.model import Alert, AlertEvent, AlertStatus
from alerts.rules.types import Severity
from sensors.batch import ReadingBatch, Row
from sensors.fields import CO_PPM, LEL_PCT, N_FIELDS, OPEN
from store.sqlite import SQLiteReadingStore
from store.state import DeadLetter, StateStore


def row(dev, ts, seq, **vals):
    v = [math.nan] * N_FIELDS
    for k, x in vals.items():
        v[{"lel": LEL_PCT, "co": CO_PPM, "open": OPEN}[k]] = x
    return Row(dev, 0, ts, ts + 0.1, seq, v)


@pytest.fixture
def readings(tmp_path):
    s = SQLiteReadingStore(tmp_path / "r.db")
    yield s
    s.close()


def test_write_is_idempotent_and_history_round_trips(readings):
    b = ReadingBatch.from_rows([row("d1", 10.0, 1, lel=1.5), row("d1", 20.0, 2, lel=2.5, open=1.0),
                                row("d2", 15.0, -1, co=30.0)])
    readings.write(b)
    readings.write(b)  # a redelivered batch
    assert readings.count() == 3 and readings.count("d1") == 2
    h = readings.history("d1", 0, 100)
    assert [p.ts for p in h] == [10.0, 20.0]
    assert h[1].values == {"lel_pct": 2.5, "open": True} and h[1].seq == 2
    assert readings.history("d2", 0, 100)[0].seq is None
    assert readings.history("d1", 0, 15) == h[:1]


def test_history_aggregates_windows(readings):
    readings.write(ReadingBatch.from_rows([row("d1", float(t), t, lel=float(t)) for t in range(0, 120)]))
    agg = readings.history("d1", 0, 120, every_s=60)
    assert [p.ts for p in agg] == [0.0, 60.0]
    assert agg[0].values["lel_pct"] == pytest.approx(29.5)


def test_empty_batch_is_fine(readings):
    readings.write(ReadingBatch.empty())
    assert readings.count() == 0


def test_state_store_alerts_events_filters(tmp_path):
    s = StateStore(tmp_path / "s.db")
    a = Alert(0, "d1:gas", "gas", Severity.CRITICAL, AlertStatus.RAISED, True, "d1", "h1", "g1", "w1", 1.0, 1.0)
    s.save_alert(a, [AlertEvent(0, 1.0, "system", "raised")])
    assert a.id == 1 and s.open_alert("d1:gas").id == 1
    b = Alert(0, "d2:smoke", "smoke", Severity.WARNING, AlertStatus.RAISED, True, "d2", "h2", "g2", "w2", 2.0, 2.0)
    s.save_alert(b)
    assert [x.id for x in s.list_alerts(grid_ids=["g2"])] == [2]
    assert s.count_alerts(statuses=["raised"]) == 2
    assert s.list_alerts(grid_ids=[]) == []
    a.status = AlertStatus.RESOLVED
    s.save_alert(a, [AlertEvent(1, 3.0, "w1", "resolved", "ok")])
    assert s.open_alert("d1:gas") is None
    assert [e.action for e in s.alert_events(1)] == ["raised", "resolved"]
    # a second open alert with the same key is refused by the database itself
    dup = Alert(0, "d2:smoke", "smoke", Severity.WARNING, AlertStatus.RAISED, True, "d2", "h2", "g2", "w2", 2.0, 2.0)
    with pytest.raises(Exception, match="UNIQUE"):
        s.save_alert(dup)
    s.close()


def test_dead_letters_are_truncated_and_counted(tmp_path):
    s = StateStore(tmp_path / "s.db")
    s.add_dead_letters([DeadLetter(1.0, "t", "not_json", "x", b"a" * 5000),
                        DeadLetter(2.0, "t", "oversize", "y", b"b")])
    items = s.list_dead_letters()
    assert items[0]["reason"] == "oversize" and items[1]["size"] == 5000
    assert len(items[1]["payload"]) == 1024
    assert s.dead_letter_counts() == {"not_json": 1, "oversize": 1}
    assert [d["reason"] for d in s.list_dead_letters(reason="not_json")] == ["not_json"]
    s.close()


def test_blobs_device_states_audit(tmp_path):
    s = StateStore(tmp_path / "s.db")
    s.put_blob("k", b"\x00\x01")
    assert s.get_blob("k") == b"\x00\x01" and s.get_blob("missing") is None
    s.save_device_states([("d1", 5.0, True, {"fields": {"lel_pct": 1.0}})])
    s.save_device_states([("d1", 6.0, None, {"fields": {}})])
    assert s.load_device_states() == {"d1": (6.0, None, {"fields": {}})}
    s.audit("admin", "alert.acknowledge", "alert/1", {"note": "x"}, ts=9.0)
    assert s.list_audit()[0]["action"] == "alert.acknowledge"
    s.close()
    assert np.isfinite(1.0)


def test_a_devices_history_is_read_through_the_device_index(readings):
    """Issue 14: a day of one device scanned a day of every device."""
    readings.write(ReadingBatch.from_rows([row(f"d{i % 50}", float(i), i, lel=1.0) for i in range(2000)]))
    conn = readings._reader()  # noqa: SLF001 - the plan of the store's own query
    plan = " ".join(str(r) for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT ts FROM readings WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
        ("d7", 0.0, 5000.0)))
    assert "readings_by_device" in plan
    assert [p.ts for p in readings.history("d7", 0, 5000)][:3] == [7.0, 57.0, 107.0]
    assert len(readings.history("d7", 0, 5000, every_s=1e-320)) == 40  # windows of at least 1 s


def test_an_old_database_gets_the_device_index(tmp_path):
    old = SQLiteReadingStore(tmp_path / "r.db", device_index=False)
    old.write(ReadingBatch.from_rows([row("d1", 1.0, 1, lel=1.0)]))
    old.close()
    new = SQLiteReadingStore(tmp_path / "r.db")
    names = {r[0] for r in new._reader().execute("SELECT name FROM sqlite_master WHERE type = 'index'")}  # noqa: SLF001
    assert "readings_by_device" in names and new.count("d1") == 1
    new.close()
