"""Fast-forward: two days of the small community against `gridwatch run --clock manual`
on a real Mosquitto, in seconds. The simulated devices keep the rules quiet (no device
looks offline or faulty; a welfare check only after a real day without door activity)
and the injected leak is raised at its simulated time, routed to its grid worker."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from simulators.scenario import SITES_DIR
from tests.integration.harness import ROOT, ServiceProcess
from tests.servers import MosquittoServer

pytestmark = pytest.mark.integration
TOKEN = "fast-forward-admin-token-0123456789"


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gridwatch.cli", "simulate", *args], capture_output=True,
        text=True, timeout=280, cwd=ROOT, env={**os.environ, "GRIDWATCH_ADMIN_TOKEN": TOKEN},
        stdin=subprocess.DEVNULL, check=False,
    )


SITE = SITES_DIR / "small.yaml"


@contextlib.contextmanager
def service(tmp_path, *extra: str) -> Iterator[tuple[MosquittoServer, ServiceProcess, httpx.Client]]:
    """Mosquitto, `gridwatch run` on the small site (extra flags: `--clock manual`), and
    an admin API client."""
    with MosquittoServer() as broker:
        svc = ServiceProcess(["--site", str(SITE), "--data-dir", str(tmp_path / "data"),
                              "--mqtt", broker.url, *extra],
                             env={"GRIDWATCH_ADMIN_TOKEN": TOKEN}, log=tmp_path / "svc.log").start()
        try:
            with httpx.Client(base_url=svc.api, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
                yield broker, svc, api
        finally:
            svc.stop()


def test_two_days_in_seconds_with_an_injected_leak(tmp_path):
    with service(tmp_path, "--clock", "manual") as (broker, svc, api):
        start = api.get("/api/health").json()["time"]
        p = simulate("--site", str(SITE), "--mqtt", broker.url, "--fast-forward", "2d",
                     "--url", svc.api, "--inject", "water_leak:water-101",
                     "--inject-after", "36000", "--fault-rate", "0")
        assert p.returncode == 0, p.stderr[-3000:]
        assert "100.0%" in p.stderr and "2.00 days" in p.stderr
        health = api.get("/api/health").json()
        assert health["time"] == pytest.approx(start + 2 * 86400, abs=1)
        assert health["ingest"]["dead_letters"] == {}  # the simulator speaks the contract
        assert health["devices"]["never_seen"] == 0 and health["devices"]["offline"] == 0
        assert health["ingest"]["stored"] >= 2000  # ~2,000 messages a simulated day
        alerts = api.get("/api/alerts", params={"limit": 200}).json()["items"]
        by = {(a["device_id"], a["hazard"]) for a in alerts}
        assert ("water-101", "water_leak") in by, alerts
        leak = next(a for a in alerts if a["hazard"] == "water_leak")
        assert start + 36000 <= leak["raised_at"] <= start + 36000 + 60
        assert leak["assignee"]["id"] == "w-g1"
        assert leak["severity"] == "critical"  # nobody acknowledged it in ten minutes
        quiet = {"offline", "unprotected", "stuck", "tamper", "implausible"}
        assert not [a for a in alerts if a["hazard"] in quiet], alerts
        # A resident who stays in one day in ten may really go 24 h without
        # opening the door: then, and only then, a welfare check is right.
        for a in alerts:
            if a["hazard"] == "welfare":
                rows = api.get(f"/api/devices/{a['device_id']}/readings", params={
                    "start": start, "end": a["raised_at"]}).json()["items"]
                changes = [r["ts"] for prev, r in zip(rows, rows[1:], strict=False)
                           if r.get("open") != prev.get("open")]
                quiet_since = max([start, *changes])
                assert a["raised_at"] - quiet_since >= 86400 - 1, (a, changes[-3:])
        assert {x["hazard"] for x in alerts} <= {"water_leak", "welfare"}, alerts


def test_link_dropouts_are_offline_alerts_that_clear(tmp_path):
    """A day with many radio dropouts: each offline alert is a real silence of its
    device longer than its limit, and devices that are heard again clear theirs."""
    with service(tmp_path, "--clock", "manual") as (broker, svc, api):
        start = api.get("/api/health").json()["time"]
        p = simulate("--site", str(SITE), "--mqtt", broker.url, "--fast-forward", "1d",
                     "--url", svc.api, "--fault-rate", "3", "--seed", "3")
        assert p.returncode == 0, p.stderr[-3000:]
        dropouts = int(p.stderr.rsplit("link dropouts ", 1)[1].split()[0])
        assert dropouts >= 20  # 3 a device-day, 18 devices
        alerts = api.get("/api/alerts", params={"kind": "offline", "limit": 500}).json()["items"]
        assert len(alerts) >= 5
        assert any(not a["active"] for a in alerts)  # devices came back
        for a in alerts[:10]:
            rows = api.get(f"/api/devices/{a['device_id']}/readings",
                           params={"start": start - 1, "end": a["raised_at"] + 1}).json()["items"]
            last = max([start, *(r["ts"] for r in rows if r["ts"] <= a["raised_at"])])
            beat = api.get(f"/api/devices/{a['device_id']}").json()["heartbeat_s"]
            assert a["raised_at"] - last >= 2 * beat + 120 - 1, a  # a real silence


def test_fast_forward_needs_a_manual_clock_service(tmp_path):
    with service(tmp_path) as (broker, svc, _api):  # the system clock
        p = simulate("--site", str(SITE), "--mqtt", broker.url, "--fast-forward", "1h",
                     "--url", svc.api)
    assert p.returncode == 1
    assert "manual clock" in p.stderr
    bad = simulate("--fast-forward", "a week", "--url", "http://127.0.0.1:9")
    assert bad.returncode == 2 and "not a duration" in bad.stderr
