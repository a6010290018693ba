"""Faults that could delay an alarm, against the real service on a real Mosquitto: each
one is a system alert and a failing ``/api/health`` within seconds, and no alarm is
lost: the alarm database locked by another process, a full disk, a flood of junk,
hundreds of live pages, every notice delivery failing."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alerts.notify import dispatcher as dispatcher_module
from gridwatch.watch import WatchLimits
from tests.integration.harness import Publisher, ServiceThread, wait_for, write_site
from tests.integration.notify.test_notify import Webhook
from tests.servers import MosquittoServer
from tests.sites import tiny_site

pytestmark = pytest.mark.integration

TOKEN = "faults-test-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoServer]:
    with MosquittoServer() as b:
        yield b


def start(tmp: Path, broker: MosquittoServer, name: str, *, data: Path | None = None,
          notify: list[str] | None = None) -> ServiceThread:
    site = write_site(tmp / f"site-{name}.yaml", tiny_site(notify=notify))
    return ServiceThread(site=site, data_dir=data or tmp / f"data-{name}", mqtt=broker.url,
                         mqtt_client_id=f"faults-{name}", admin_token=TOKEN,
                         notify_backoff_s=0.1).start()


def health(svc: ServiceThread) -> httpx.Response:
    return httpx.get(f"{svc.api}/api/health", headers=AUTH, timeout=10)


def fault_names(svc: ServiceThread) -> set[str]:
    return {f["name"] for f in health(svc).json()["faults"]}


def checked(svc: ServiceThread) -> set[str]:
    """The faults in the health check right after one run of the fault watch (the
    service runs it every 2 s; the tests do not wait for that)."""
    svc.rt.watch.check()
    return fault_names(svc)


def gas(svc: ServiceThread, broker: MosquittoServer, device: str = "gas-201", seq: int = 1) -> None:
    pub = Publisher(broker.host, broker.port, client_id=f"pub-{device}-{seq}")
    try:
        pub.publish_all([(f"gridwatch/tiny/{device}/state", {"lel_pct": 60.0, "ts": time.time(), "seq": seq})])
    finally:
        pub.close()


def alert_keys(svc: ServiceThread) -> set[str]:
    items = httpx.get(f"{svc.api}/api/alerts", params={"limit": 500}, headers=AUTH, timeout=10).json()["items"]
    return {f"{a['device_id']}:{a['hazard']}" for a in items if a.get("device_id")}


def test_alarm_database_locked_by_another_process(tmp_path: Path, broker: MosquittoServer) -> None:
    svc = start(tmp_path, broker, "locked")
    try:
        svc.rt.watch.check()
        assert health(svc).status_code == 200
        db = tmp_path / "data-locked" / "state.db"
        holder = subprocess.Popen(  # noqa: S603 - a real other process holding the database
            ["python3", "-c", "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1]); "
             "c.execute('BEGIN EXCLUSIVE'); print('held', flush=True); time.sleep(float(sys.argv[2]))",
             str(db), "8"], stdout=subprocess.PIPE)
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        gas(svc, broker)
        r = wait_for(lambda: (x := health(svc)).status_code == 503 and x, 6, "the failing health check")
        assert "alarm_store_failing" in {f["name"] for f in r.json()["faults"]}
        holder.wait(30)
        holder.stdout.close()
        wait_for(lambda: "gas-201:gas" in alert_keys(svc), 20, "the alarm after the lock")
        wait_for(lambda: health(svc).status_code == 200, 10, "the health check passing again")
        items = httpx.get(f"{svc.api}/api/alerts", params={"limit": 100}, headers=AUTH, timeout=10).json()["items"]
        system = [a for a in items if a["hazard"] == "alarm_store_failing"]
        assert len(system) == 1  # on the record once the database takes it
    finally:
        svc.stop()


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[bool]:
    """A tmpfs of ``size_mb`` at ``path`` when this machine allows it (root)."""
    path.mkdir(parents=True, exist_ok=True)
    ok = os.geteuid() == 0 and subprocess.run(  # noqa: S603, S607
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
        capture_output=True, check=False).returncode == 0
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)  # noqa: S603, S607


def fill(path: Path, leave_bytes: int) -> Path:
    """Fill the disk of ``path`` until ``leave_bytes`` are free."""
    filler = path / "filler"
    with filler.open("wb") as f:
        while True:
            free = os.statvfs(path).f_bavail * os.statvfs(path).f_frsize
            if free <= leave_bytes:
                break
            try:
                f.write(b"\0" * min(free - leave_bytes, 1 << 20))
                f.flush()
            except OSError:
                break
    return filler


def test_a_full_disk_is_an_alarm_and_loses_nothing(tmp_path: Path, broker: MosquittoServer) -> None:
    data = tmp_path / "small"
    with small_disk(data, 48) as mounted:
        if not mounted and os.geteuid() == 0:
            pytest.fail("as root this test mounts a 48 MB tmpfs, and mount refused it")
        if not mounted:  # not root (never in CI, which runs as root): test_alarm_path covers SQLITE_FULL
            pytest.skip("needs root to mount a small tmpfs")
        svc = start(tmp_path, broker, "full", data=data)
        try:
            svc.rt.watch.limits = WatchLimits(disk_warn_bytes=8 << 20, disk_critical_bytes=2 << 20)
            svc.rt.watch.check()
            filler = fill(data, 64 << 10)
            svc.rt.watch.check()
            assert "disk_low" in fault_names(svc)  # it warned before it was full
            pub = Publisher(broker.host, broker.port, client_id="pub-full")
            t = time.time()
            pub.publish_all([("gridwatch/tiny/gas-102/state", {"lel_pct": 1.0, "ts": t + i * 1e-3, "seq": i})
                             for i in range(1, 3000)]
                            + [("gridwatch/tiny/gas-201/state", {"lel_pct": 60.0, "ts": t + 4, "seq": 1})])
            pub.close()
            def failing() -> bool:
                svc.rt.watch.check()
                return health(svc).status_code == 503
            wait_for(failing, 20, "a failing health check on the full disk")
            assert fault_names(svc) & {"readings_store_failing", "alarm_store_failing"}
            filler.unlink()  # space again: the held batches go through
            wait_for(lambda: "gas-201:gas" in alert_keys(svc), 30, "the alarm after the disk was freed")
            assert svc.rt.readings.count("gas-102") == 2999  # nothing acknowledged was lost
            def clear() -> bool:
                svc.rt.watch.check()
                return health(svc).status_code == 200
            wait_for(clear, 20, "the health check passing again")
        finally:
            svc.stop()


def test_a_flood_of_junk_is_bounded_counted_and_delays_no_alarm(tmp_path: Path, broker: MosquittoServer) -> None:
    svc = start(tmp_path, broker, "junk")
    try:
        n = 20_000
        pub = Publisher(broker.host, broker.port, client_id="pub-junk")
        pub.publish_all([(f"gridwatch/tiny/nobody-{i % 500}/state", b"\x00junk" * 50) for i in range(n // 2)]
                        + [("gridwatch/tiny/gas-201/state", {"lel_pct": 60.0, "ts": time.time(), "seq": 1})]
                        + [("gridwatch/tiny/gas-101/state", b"not json") for _ in range(n // 2)])
        pub.close()
        wait_for(lambda: "gas-201:gas" in alert_keys(svc), 30, "the alarm inside the flood")
        def counted() -> dict:
            return httpx.get(f"{svc.api}/api/dead-letters", headers=AUTH, timeout=10).json()["counts"]
        wait_for(lambda: sum(counted().values()) >= n, 30, "every refusal counted")
        stats = svc.rt.state.dead_letter_stats()
        assert stats["counted"] == {"unknown_device": n // 2, "not_json": n // 2}
        assert stats["kept"] < 1000  # rate-limited per topic: the junk cannot fill the disk
    finally:
        svc.stop()


def test_hundreds_of_live_pages_are_capped_and_delay_no_alarm(tmp_path: Path, broker: MosquittoServer) -> None:
    hook = Webhook()
    svc = start(tmp_path, broker, "pages", notify=[hook.url("all")])
    streams: list[httpx.Response] = []
    refused = 0
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=700))
    try:
        for _ in range(600):
            r = client.send(client.build_request("GET", f"{svc.api}/api/events", headers=AUTH), stream=True)
            if r.status_code == 429:
                refused += 1
                r.close()
            else:
                assert r.status_code == 200
                streams.append(r)
        assert refused > 0 and len(streams) <= 256
        t0 = time.monotonic()
        gas(svc, broker)
        wait_for(lambda: hook.got("all"), 20, "the alarm's notice with the pages open")
        took = time.monotonic() - t0
        print(f"alarm to notice with {len(streams)} live pages open: {took * 1000:.0f} ms")
    finally:
        for r in streams:
            r.close()
        client.close()
        svc.stop()
        hook.close()


def test_every_delivery_failing_is_a_fault_and_the_notice_goes_out_after(
        tmp_path: Path, broker: MosquittoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatcher_module, "PENDING_RETRY_S", 0.5)
    monkeypatch.setattr(dispatcher_module, "PENDING_RETRY_MAX_S", 1.0)
    hook = Webhook()
    hook.fail["/w"] = 10**6  # every delivery fails, on every channel, until further notice
    svc = start(tmp_path, broker, "nodelivery", notify=[hook.url("w")])
    try:
        svc.rt.watch.limits = WatchLimits(undelivered_s=1.0)
        gas(svc, broker)
        wait_for(lambda: "notify_failing" in checked(svc), 20, "the notify_failing fault")
        assert hook.got("w") == []
        with svc.rt.db.read() as c:
            assert c.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0] > 0
        gas_id = next(a["id"] for a in httpx.get(f"{svc.api}/api/alerts", headers=AUTH, timeout=10).json()["items"]
                      if a["hazard"] == "gas")
        def told() -> dict:
            return httpx.get(f"{svc.api}/api/alerts/{gas_id}/notifications", headers=AUTH, timeout=10).json()
        assert told()["told"] == [] and "w-g2" in told()["pending"]  # not told: nothing delivered
        with hook.lock:
            hook.fail["/w"] = 0  # the fault is over
        wait_for(lambda: hook.got("w"), 20, "the notice once a channel works again")
        def delivered() -> bool:
            with svc.rt.db.read() as c:
                return c.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0] == 0
        wait_for(delivered, 20, "every notice recorded as delivered")
        assert "w-g2" in told()["told"] and told()["pending"] == []
        wait_for(lambda: "notify_failing" not in checked(svc), 10, "the fault cleared")
    finally:
        svc.stop()
        hook.close()


def test_health_fails_within_seconds_when_the_broker_goes(tmp_path: Path) -> None:
    with MosquittoServer() as own:
        svc = start(tmp_path, own, "nobroker")
        try:
            svc.rt.watch.limits = WatchLimits(mqtt_down_s=0.5)
            own.kill()
            wait_for(lambda: "mqtt_disconnected" in checked(svc) and health(svc).status_code == 503,
                     15, "the broker fault")
            own.start()
            wait_for(lambda: "mqtt_disconnected" not in checked(svc), 30,
                     "the fault cleared after the broker came back")
        finally:
            svc.stop()


def test_a_batch_that_fails_on_a_bug_is_an_alarm_not_a_log_line(
        tmp_path: Path, broker: MosquittoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = start(tmp_path, broker, "bug")
    try:
        real = svc.rt.alarm._readings_job
        calls = {"n": 0}

        def buggy(*args: object) -> int:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("a bug in the alarm path")  # what a bug looks like to the ingest
            return real(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(svc.rt.alarm, "_readings_job", buggy)
        gas(svc, broker)
        wait_for(lambda: "ingest_internal_error" in checked(svc) and health(svc).status_code == 503,
                 15, "the internal-error fault")
        counts = httpx.get(f"{svc.api}/api/dead-letters", headers=AUTH, timeout=10).json()["counts"]
        assert counts.get("internal_error") == 1  # the payload kept for replay
        gas(svc, broker, seq=2)  # the next reading goes through and raises the alarm
        wait_for(lambda: "gas-201:gas" in alert_keys(svc), 15, "the alarm on the next reading")
    finally:
        svc.stop()


def test_a_sweep_that_fails_on_a_bug_is_an_alarm_until_it_runs_again(
        tmp_path: Path, broker: MosquittoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    site = write_site(tmp_path / "site-sweep.yaml", tiny_site())
    svc = ServiceThread(site=site, data_dir=tmp_path / "data-sweep", mqtt=broker.url,
                        mqtt_client_id="faults-sweep", admin_token=TOKEN, sweep_interval_s=0.2).start()
    try:
        real = svc.rt.alarm._sweep_job
        broken = {"on": True}

        def buggy(now: float) -> object:
            if broken["on"]:
                raise RuntimeError("a bug in the absence rules")
            return real(now)

        monkeypatch.setattr(svc.rt.alarm, "_sweep_job", buggy)
        wait_for(lambda: "timers_failing" in fault_names(svc) and health(svc).status_code == 503,
                 15, "the timed-jobs fault")
        wait_for(lambda: any(a["hazard"] == "timers_failing" for a in httpx.get(
            f"{svc.api}/api/alerts", headers=AUTH, timeout=10).json()["items"]), 15, "its system alert")
        broken["on"] = False  # the next sweep runs: the fault is over
        wait_for(lambda: "timers_failing" not in fault_names(svc), 15, "the fault cleared")
    finally:
        svc.stop()
