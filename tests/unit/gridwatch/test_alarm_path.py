"""The alarm path in process, on real SQLite: the journal and its replay, a database
that refuses writes (locked by another process, full), the outbox of notices, and
the faults they raise."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from alerts.rules.state import H
from alerts.rules.types import Hazard
from tests.sites import tiny_site
from tests.unit.gridwatch.conftest import Clock, Harness

GAS = {"lel_pct": 60.0}


def test_a_crash_after_the_commit_keeps_the_alarm_and_the_rules(harness: Harness) -> None:
    t = harness.clock()
    harness.readings([("gas-201", t - 1, GAS)])
    assert "gas-201:gas" in harness.open_keys()
    idx = harness.table.index["gas-201"]
    path = harness.restart()  # no checkpoint since: the rules come back from the journal
    assert path.replayed >= 1
    assert harness.engine.st.cond[H[Hazard.GAS]][idx] > 0
    harness.readings([("gas-201", t - 0.5, GAS)], seq0=2)
    gas = [a for a in harness.state.open_alerts() if a.key == "gas-201:gas"]
    assert len(gas) == 1  # the rules knew it was raised: no second alert


def test_replay_after_a_checkpoint_equals_a_run_without_a_crash(tmp_path: Path) -> None:
    a = Harness(tmp_path / "a")
    b = Harness(tmp_path / "b")
    rng = np.random.default_rng(7)
    devices = ["gas-101", "gas-102", "gas-201", "co-102", "heat-201", "water-101", "smoke-101"]
    fields = {"gas": "lel_pct", "co": "co_ppm", "heat": "temp_c", "water": "water_leak", "smoke": "smoke"}
    t = a.clock()
    seq = 1
    for step in range(12):
        rows = []
        for _ in range(20):
            dev = devices[int(rng.integers(len(devices)))]
            kind = dev.split("-")[0]
            hot = rng.random() < 0.2
            value = {"gas": 30.0 if hot else 1.0, "co": 300.0 if hot else 0.0, "heat": 80.0 if hot else 22.0,
                     "water": float(hot), "smoke": float(hot)}[kind]
            t += 0.5
            rows.append((dev, t, {fields[kind]: value}))
        for h in (a, b):
            h.clock.now = t + 1
            h.readings(rows, seq0=seq)
            if step % 4 == 3:
                h.path.sweep(h.clock())
        seq += len(rows)
        if step == 5:
            a.path.checkpoint()
    a.restart()  # killed: the checkpoint of step 5, then the journal after it
    snap_a, snap_b = a.engine.snapshot(), b.engine.snapshot()
    for k in snap_b:
        if k == "late_dropped":
            continue
        assert np.allclose(snap_a[k], snap_b[k], equal_nan=True) if snap_b[k].dtype.kind == "f" \
            else np.array_equal(snap_a[k], snap_b[k]), k
    assert a.open_keys() == b.open_keys()
    for h in (a, b):
        h.path.writer.stop()


def _hold(db: Path, seconds: float, started: threading.Event) -> None:
    """Another process's connection holding the database (a backup, a sqlite3 shell)."""
    c = sqlite3.connect(db, timeout=0.1)
    c.execute("BEGIN EXCLUSIVE")
    started.set()
    time.sleep(seconds)
    c.rollback()
    c.close()


def test_a_locked_database_is_retried_raised_as_a_fault_and_loses_no_alarm(tmp_path: Path) -> None:
    h = Harness(tmp_path, tiny_site(notify=["json://127.0.0.1:9/leaders"]))
    t = h.clock()
    started = threading.Event()
    holder = threading.Thread(target=_hold, args=(h.data / "state.db", 6.0, started))
    holder.start()
    started.wait(5)
    result: list[int] = []
    sender = threading.Thread(target=lambda: result.append(h.readings([("gas-201", t - 1, GAS)])))
    sender.start()
    deadline = time.monotonic() + 5
    while not h.path.faults and time.monotonic() < deadline:
        time.sleep(0.05)
    # visible within seconds, while the alarm waits: a fault, and the leaders told directly
    assert "alarm_store_failing" in h.path.faults
    assert sender.is_alive()  # not committed: the ingest would not ack the broker
    told = [n for n in h.notifier.notices if n.alert.hazard == "alarm_store_failing"]
    assert {r.id for n in told for r in n.recipients} == {"w-head", "w-deputy"}
    holder.join()
    sender.join(30)
    assert result and result[0] >= 1  # the alarm, after the lock
    assert "gas-201:gas" in h.open_keys()
    deadline = time.monotonic() + 5
    while h.path.faults and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not h.path.faults
    h.path.writer.call("sync", lambda: None)
    system = h.state.list_alerts(hazard="alarm_store_failing")
    assert len(system) == 1 and not system[0].active  # on the record: raised and cleared
    h.path.writer.stop()


def test_a_full_database_keeps_the_rules_where_the_last_commit_left_them(harness: Harness) -> None:
    t = harness.clock()
    harness.readings([("gas-102", t - 2, {"lel_pct": 1.0})])
    pages = harness.db._w.execute("PRAGMA page_count").fetchone()[0]
    harness.db._w.execute(f"PRAGMA max_page_count={pages}")  # SQLITE_FULL from now on
    result: list[int] = []
    rows = [("gas-102", t - 1 + i * 1e-4, {"lel_pct": 2.0}) for i in range(3000)]  # needs new pages
    sender = threading.Thread(target=lambda: result.append(
        harness.readings([("gas-201", t - 1, GAS), *rows], seq0=5)))
    sender.start()
    deadline = time.monotonic() + 5
    while "alarm_store_failing" not in harness.path.faults and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "alarm_store_failing" in harness.path.faults
    assert "full" in harness.path.faults["alarm_store_failing"].note
    # the rules were put back: the refused batch is not half applied
    assert harness.engine.st.cond[H[Hazard.GAS]][harness.table.index["gas-201"]] == 0
    harness.db._w.execute("PRAGMA max_page_count=1073741823")
    sender.join(30)
    assert result and "gas-201:gas" in harness.open_keys()


def test_notices_not_recorded_as_delivered_are_sent_again_after_a_restart(tmp_path: Path) -> None:
    h = Harness(tmp_path, tiny_site(notify=["json://127.0.0.1:9/x"]))
    t = h.clock()
    h.readings([("gas-201", t - 1, GAS)])
    first = [n for n in h.notifier.notices if n.alert.key == "gas-201:gas"]
    assert first and all(n.extra["outbox"] for n in first)
    rows = h.state.outbox_pending()
    delivered = rows[0][0]
    h.path.writer.call("delivered", lambda: h.state.outbox_delivered(delivered, t, "json://x"))
    h.notifier.notices.clear()
    h.restart()
    again = [n for n in h.notifier.notices if n.extra.get("resent")]
    assert sorted(oid for n in again for oid in n.extra["outbox"].values()) == \
        sorted(r[0] for r in rows if r[0] != delivered)
    h.path.writer.stop()


def test_a_wall_clock_step_neither_invents_absences_nor_holds_escalation(tmp_path: Path) -> None:
    from gridwatch.clock import SystemClock  # noqa: PLC0415

    wall = [1_780_000_000.0]
    mono = [100.0]
    clock = SystemClock(wall=lambda: wall[0], elapsed=lambda: mono[0])
    h = Harness(tmp_path, tiny_site(notify=["json://127.0.0.1:9/x"]), clock=clock)  # type: ignore[arg-type]
    t = clock()
    h.readings([(d, t - 1, {"battery_pct": 90.0}) for d in ("gas-101", "smoke-101", "door-b1u1")]
               + [("gas-201", t - 1, GAS)])
    wall[0] += 7200  # +2 h: the service clock does not jump
    mono[0] += 30
    assert abs(clock() - (t + 30)) < 1e-6 and clock.step() > 7000
    h.path.sweep(clock())
    assert not [k for k in h.open_keys() if k.endswith(":offline")]
    wall[0] -= 3 * 3600  # then -1 h from the start: escalation keeps the service clock
    mono[0] += 200
    h.notifier.notices.clear()
    h.path.tick(clock())
    assert any(n.notice.value in ("escalation", "reminder") for n in h.notifier.notices)
    h.path.writer.stop()


def test_dead_letters_are_bounded_rate_limited_and_all_counted(tmp_path: Path) -> None:
    from ingest.pipeline import DeadLetterLimiter  # noqa: PLC0415
    from store.state import DeadLetter, DeadLetterLimits, StateStore  # noqa: PLC0415

    store = StateStore(tmp_path / "s.db")
    store.dead_letter_limits = DeadLetterLimits(max_count=100, max_bytes=50_000, max_age_s=3600, prune_every=1)
    limiter = DeadLetterLimiter(burst=5, per_topic_per_s=0.0, total_per_s=1000.0)
    now = 1_780_000_000.0
    for i in range(50):  # a flood: 50 batches of 100 junk messages, 10 topics
        junk = [DeadLetter(now + i, f"gridwatch/tiny/x{j % 10}/state", "not_json", "junk", b"x" * 1000)
                for j in range(100)]
        keep, dropped = limiter.admit(junk, now + i)
        store.add_dead_letters(keep, dropped=dropped, now=now + i)
    stats = store.dead_letter_stats()
    assert stats["kept"] <= 100 and stats["kept_bytes"] <= 50_000
    assert stats["counted"] == {"not_json": 5000}  # every refusal counted
    assert store.dead_letter_counts() == {"not_json": 5000}
    old = [DeadLetter(now - 7200, "t/old", "bad_topic", "", b"")]
    store.add_dead_letters(old, now=now + 60)  # older than the age limit: not kept
    assert all(d["ts"] >= now for d in store.list_dead_letters(limit=1000))
    store.close()


@pytest.mark.parametrize("n", [1, 3])
def test_a_restart_resumes_the_manual_clock(tmp_path: Path, n: int) -> None:
    h = Harness(tmp_path, clock=Clock())
    for _ in range(n):
        h.clock.now += 100
        h.path.sweep(h.clock())
    from gridwatch.alarm import MANUAL_CLOCK_KEY  # noqa: PLC0415

    assert float((h.state.get_blob(MANUAL_CLOCK_KEY) or b"0").decode()) == h.clock.now
    h.path.writer.stop()


def test_rules_and_open_alerts_are_reconciled_at_start(tmp_path: Path) -> None:
    from alerts.model import AlertStatus  # noqa: PLC0415

    h = Harness(tmp_path)
    t = h.clock()
    h.readings([("gas-201", t - 1, GAS), ("heat-201", t - 1, {"temp_c": 90.0})])
    h.path.checkpoint()
    # a data directory where the two disagree (written by a version that lost a
    # transaction): the gas alert closed though the rules hold it raised, and the
    # rules' heat condition gone though its alert is open and active
    gas = next(a for a in h.state.open_alerts() if a.key == "gas-201:gas")
    gas.status = AlertStatus.CLOSED
    h.path.writer.call("tamper", lambda: h.state.save_alert(gas, []))
    h.engine.st.cond[H[Hazard.HEAT]][h.table.index["heat-201"]] = 0
    from gridwatch.journal import SNAPSHOT_KEY, _pack  # noqa: PLC0415

    h.path.writer.call("tamper", lambda: h.state.put_blob(SNAPSHOT_KEY, _pack(h.engine.snapshot())))
    h.restart()
    assert "gas-201:gas" in h.open_keys()  # raised again: the rules hold it
    heat = next(a for a in h.state.open_alerts() if a.key == "heat-201:heat")
    assert not heat.active  # the rules do not hold it: marked cleared
    h.path.writer.stop()


def test_an_unreadable_journal_entry_does_not_stop_the_start(harness: Harness) -> None:
    t = harness.clock()
    harness.readings([("gas-201", t - 1, GAS)])
    harness.path.writer.call("foreign", lambda: harness.state.journal_append("batch", t, b"not a batch"))
    path = harness.restart()
    assert path.journal.unreadable == 1 and path.replayed == 2
    assert harness.engine.st.cond[H[Hazard.GAS]][harness.table.index["gas-201"]] > 0  # the readable one


def test_a_checkpoint_drops_a_long_journal_in_short_transactions(harness: Harness) -> None:
    from gridwatch.alarm import JOURNAL_PRUNE_ENTRIES

    t = harness.clock()
    n = 3 * JOURNAL_PRUNE_ENTRIES + 2
    for i in range(n):
        harness.readings([("gas-201", t - 100 + i, {"lel_pct": 1.0})], seq0=i + 1)
    pruned: list[int] = []
    prune = harness.path.journal.prune
    harness.path.journal.prune = lambda limit: pruned.append(prune(limit)) or pruned[-1]  # type: ignore[method-assign]
    harness.path.checkpoint()
    harness.path.writer.call("idle", lambda: None)  # queued behind the prune jobs
    for _ in range(50):  # each part queues the next behind what came in meanwhile
        if pruned and pruned[-1] < JOURNAL_PRUNE_ENTRIES:
            break
        harness.path.writer.call("idle", lambda: None)
    assert sum(pruned) == n and max(pruned) == JOURNAL_PRUNE_ENTRIES and len(pruned) == 4
    with harness.path.db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 0
    path = harness.restart()
    assert path.replayed == 0  # everything was in the checkpoint



def test_a_refused_batch_counts_its_messages_once_when_it_is_taken(harness: Harness) -> None:
    t = harness.clock()
    harness.readings([("gas-102", t - 2, {"lel_pct": 1.0})])
    idx = harness.table.index["gas-102"]
    before = int(harness.path.live.messages[idx])
    batch = harness.batch([("gas-102", t - 1, {"lel_pct": 2.0}), ("gas-201", t - 1, GAS)], seq0=5)
    tries: list[int] = []

    def job() -> int:  # the store refuses the first commit after the batch was applied
        n = len(harness.path.core.readings(batch, [], t))
        tries.append(n)
        if len(tries) == 1:
            raise sqlite3.OperationalError("database is locked")
        return n

    harness.path.writer.call("readings", job)
    assert len(tries) == 2  # put back, then taken
    assert int(harness.path.live.messages[idx]) == before + 1
    assert "gas-201:gas" in harness.open_keys()
