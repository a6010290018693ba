"""The crash suite: ``kill -9`` at every point where a crash can lose or repeat
something, against a real Mosquitto and a real webhook server, then a restart on the
same data directory. After each: every hazard has exactly one alert, every notice
was delivered, none recorded as delivered is sent again, and the rule state equals
that of the same run without a crash.

The service runs on the manual clock (``--clock-start`` fixed, resumed after the
restart), so a run with a crash and one without see the same inputs at the same
times. The kill points are :mod:`ingest.failpoints` (``GRIDWATCH_CRASH_AT``).
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.integration.harness import Publisher, ServiceProcess, wait_for, write_site
from tests.integration.notify.test_notify import Webhook
from tests.servers import MosquittoServer
from tests.sites import tiny_site

pytestmark = pytest.mark.integration

TOKEN = "crash-suite-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = 1_780_000_000.0

# (failpoint, which pass kills): each one a place a crash can fall.
KILL_POINTS = [
    ("readings_stored", 1),  # readings durable, rules and alerts not yet
    ("alarm_committed", 1),  # alerts committed, the broker not yet acked
    ("acked", 1),  # right after a PUBACK
    ("escalation_step_before_commit", 1),  # an alarm's notices decided, not committed
    ("escalation_step", 1),  # committed, not yet handed to the dispatcher
    ("notice_sent", 1),  # a channel took a notice, its delivery not yet recorded
    ("notice_sent", 4),
    ("escalation_step", 3),  # the escalation to the grid leader (second phase)
    ("checkpoint", 2),  # inside a checkpoint's transaction
]

# Every hazard the stream raises, as alert keys (a leak after its debounce).
AT_ONCE = {"gas-201:gas", "smoke-101:smoke", "heat-201:heat", "gas-101:gas"}
EXPECTED = {*AT_ONCE, "water-101:water_leak"}


def site(hook: Webhook) -> dict[str, Any]:
    s = tiny_site()
    for w in s["workers"]:
        w["notify"] = [hook.url(w["id"])]
    s["workers"].append({"id": "w-lead", "name": "周组长", "role": "grid_leader",
                         "notify": [hook.url("w-lead")]})
    s["grids"][0]["leader"] = "w-lead"
    return s


def stream(t: float) -> list[tuple[str, dict[str, Any]]]:
    """Hazards of several kinds among ordinary readings, one message each (an
    event-driven detector may not speak again for an hour)."""
    msgs: list[tuple[str, dict[str, Any]]] = []
    for i in range(30):  # ordinary traffic around them
        seq = i + 1
        for dev, field, value in (("gas-102", "lel_pct", 0.0), ("co-102", "co_ppm", 0.0),
                                  ("door-b1u1", "open", bool(i % 2))):
            msgs.append((f"gridwatch/tiny/{dev}/state", {field: value, "ts": t + i * 0.01, "seq": seq}))
        if i == 5:
            msgs.append(("gridwatch/tiny/gas-201/state", {"lel_pct": 40.0, "ts": t + 0.051, "seq": 1}))
        if i == 10:
            msgs.append(("gridwatch/tiny/smoke-101/state", {"smoke": True, "ts": t + 0.101, "seq": 1}))
        if i == 15:
            msgs.append(("gridwatch/tiny/heat-201/state", {"temp_c": 90.0, "ts": t + 0.151, "seq": 1}))
        if i == 20:
            msgs.append(("gridwatch/tiny/water-101/state", {"water_leak": True, "ts": t + 0.201, "seq": 1}))
        if i == 25:
            msgs.append(("gridwatch/tiny/gas-101/state", {"lel_pct": 60.0, "ts": t + 0.251, "seq": 1}))
    return msgs


class Run:
    """One service data directory, started (and restarted) as a real process."""

    def __init__(self, tmp: Path, broker: MosquittoServer, hook: Webhook, name: str,
                 crash: tuple[str, int] | None) -> None:
        self.dir = tmp / name
        self.dir.mkdir()
        self.site = write_site(self.dir / "site.yaml", site(hook))
        self.broker, self.hook, self.name, self.crash = broker, hook, name, crash
        self.svc: ServiceProcess | None = None
        self.crashed = False
        self.delivered_at_crash: Counter[str] = Counter()
        self.hook_mark = 0

    def args(self) -> list[str]:
        return ["--site", str(self.site), "--data-dir", str(self.dir / "data"), "--mqtt",
                self.broker.url, "--mqtt-client-id", f"crash-{self.name}", "--clock", "manual",
                "--clock-start", str(T0), "--snapshot-interval-s", "0.3",
                "--notify-backoff-s", "0.2"]

    def start(self, with_crash: bool) -> None:
        env = {"GRIDWATCH_ADMIN_TOKEN": TOKEN}
        if with_crash and self.crash:
            env["GRIDWATCH_CRASH_AT"] = f"{self.crash[0]}:{self.crash[1]}"
        self.svc = ServiceProcess(self.args(), env=env, log=self.dir / "service.log")
        self.svc.start()

    def dead(self, grace_s: float = 0.0) -> bool:
        """Whether the process is gone (``grace_s``: wait that long for it to go, after a
        request it dropped)."""
        assert self.svc is not None and self.svc.proc is not None
        try:
            self.svc.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.dir / 'data' / 'state.db'}?mode=ro", uri=True)

    def restart_if_dead(self) -> bool:
        if not self.dead():
            return False
        assert not self.crashed, "killed twice"
        self.crashed = True
        with self.db() as c:  # what the dead process had recorded as delivered
            for (rid,) in c.execute("SELECT recipient FROM outbox WHERE delivered_at IS NOT NULL"):
                self.delivered_at_crash[rid] += 1
        self.hook_mark = len(self.hook.received)
        self.start(with_crash=False)
        return True

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        assert self.svc is not None
        return httpx.request(method, self.svc.api + path, headers=AUTH, timeout=30, **kw)

    def readings(self) -> int:
        p = self.dir / "data" / "readings.db"
        if not p.exists():
            return 0
        with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as c:
            try:
                return int(c.execute("SELECT COUNT(*) FROM readings").fetchone()[0])
            except sqlite3.OperationalError:
                return 0

    def step(self, action: Any, done: Any, what: str) -> None:
        """Run an action until ``done()``, restarting the service once if it died."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.restart_if_dead():
                continue
            try:
                action()
            except (httpx.HTTPError, AssertionError):
                if not self.dead(grace_s=3.0):
                    raise
                continue
            try:
                wait_for(lambda: done() or self.dead(), 30, what)
                if not self.dead() and done():
                    return
            except (httpx.HTTPError, AssertionError):
                if not self.dead(grace_s=3.0):
                    raise
        raise AssertionError(f"{self.name}: {what} not reached")

    def advance_to(self, target: float) -> None:
        def act() -> None:
            now = self.api("GET", "/api/health").json()["time"]
            if target - now > 0:
                r = self.api("POST", "/api/clock", json={"advance_s": target - now})
                assert r.status_code == 200, r.text

        self.step(act, lambda: self.api("GET", "/api/health").json()["time"] >= target,
                  f"the clock at {target}")

    def quiet(self) -> None:
        """Every notice delivered and the service still up half a second later
        (restarted once if a kill point fired meanwhile)."""
        def settled() -> bool:
            if self.restart_if_dead():
                return False
            with self.db() as c:
                pending = c.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
            return pending == 0
        for _ in range(3):
            wait_for(settled, 60, f"{self.name}: every notice delivered")
            time.sleep(0.5)
            if not self.restart_if_dead():
                return
        raise AssertionError(f"{self.name}: never settled")

    def drive(self) -> None:
        self.start(with_crash=True)
        msgs = stream(T0 - 1.0)
        pub = Publisher(self.broker.host, self.broker.port, client_id=f"crash-pub-{self.name}")
        try:
            pub.publish_all(msgs)  # acked by the broker whatever happens to the service
        finally:
            pub.close()
        self.step(lambda: None, lambda: self.readings() >= len(msgs), "every reading stored")
        self.step(lambda: None, lambda: self.keys() >= AT_ONCE, "the alarms that need no hold")
        self.quiet()
        self.advance_to(T0 + 200)  # unacknowledged: the grid leader, reminders
        self.quiet()
        self.advance_to(T0 + 1500)  # the silent devices go offline
        self.quiet()

    def keys(self) -> set[str]:
        with self.db() as c:
            return {k for (k,) in c.execute("SELECT key FROM alerts WHERE key NOT LIKE 'system:%'")}

    def finish(self) -> dict[str, Any]:
        assert self.svc is not None
        self.svc.stop()
        with self.db() as c:
            keys = Counter(k for (k,) in c.execute("SELECT key FROM alerts WHERE key NOT LIKE 'system:%'"))
            rows = Counter(r for (r,) in c.execute(
                "SELECT o.recipient FROM outbox o JOIN alerts a ON a.id = o.alert_id "
                "WHERE a.key NOT LIKE 'system:%'"))
            all_rows = Counter(r for (r,) in c.execute("SELECT recipient FROM outbox"))
            undelivered = c.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
            snap_blob = c.execute("SELECT value FROM kv WHERE key = 'rules.snapshot'").fetchone()[0]
        with np.load(io.BytesIO(snap_blob)) as z:
            snap = {k: z[k] for k in z.files}
        return {"keys": keys, "rows": rows, "all_rows": all_rows, "undelivered": undelivered, "snap": snap}


@pytest.fixture(scope="module")
def broker():
    with MosquittoServer() as b:
        yield b


def same_state(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> list[str]:
    """The names of the rule-state arrays that differ."""
    out = []
    for k in sorted(set(a) | set(b)):
        if k == "late_dropped":  # redelivered messages are dropped as repeats: counted, not state
            continue
        x, y = a.get(k), b.get(k)
        if x is None or y is None or x.shape != y.shape:
            out.append(k)
        elif x.dtype.kind == "f":
            if not np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True):
                out.append(k)
        elif not np.array_equal(x, y):
            out.append(k)
    return out


def test_kill9_at_every_point_loses_no_alarm_and_repeats_no_recorded_notice(tmp_path, broker):
    hook = Webhook()
    try:
        ref = Run(tmp_path, broker, hook, "ref", None)
        ref.drive()
        reference = ref.finish()
        assert set(reference["keys"]) >= EXPECTED
        assert all(n == 1 for n in reference["keys"].values())
        survived = []
        for i, point in enumerate(KILL_POINTS):
            run = Run(tmp_path, broker, hook, f"k{i}", point)
            run.drive()
            got = run.finish()
            assert run.crashed, f"{point}: the process was never killed there"
            # every hazard exactly one alert, the same alerts as without the crash
            assert got["keys"] == reference["keys"], point
            # every notice delivered; the same notices decided as without the crash
            assert got["undelivered"] == 0, point
            assert got["rows"] == reference["rows"], point
            # after the restart: each notice not recorded as delivered was sent once,
            # none recorded as delivered was sent again
            after = Counter(r["path"].lstrip("/") for r in hook.received[run.hook_mark:]
                            if r.get("_run") is None)
            for rid, n in got["all_rows"].items():
                assert after[rid] == n - run.delivered_at_crash[rid], (point, rid)
            # the rules where they would be without the crash
            assert same_state(got["snap"], reference["snap"]) == [], point
            survived.append(point)
            hook.received.clear()
        assert len(survived) == len(KILL_POINTS)
    finally:
        hook.close()
