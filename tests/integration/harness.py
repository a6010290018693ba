"""Running GridWatch for integration tests: in a thread (``ServiceThread``) or as a
real process that can be killed with SIGKILL (``ServiceProcess``), plus an MQTT
publisher and an HTTP client for the API.

Layer: test support.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from gridwatch.config import Settings
from gridwatch.runtime import Runtime
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def write_site(path: Path, site: dict[str, Any]) -> Path:
    """Write a site dict as YAML."""
    path.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False))
    return path


def wait_for(predicate: Callable[[], Any], timeout_s: float = 20.0, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail with ``what``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {last!r}")


class ServiceThread:
    """GridWatch's runtime on a thread of the test process."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("port", free_port())
        settings.setdefault("console", False)
        self.settings = Settings(**settings)
        self.rt: Runtime | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def start(self, timeout_s: float = 30.0) -> ServiceThread:
        self.rt = Runtime(self.settings)

        def run() -> None:
            try:
                asyncio.run(self.rt.serve(ready=lambda _r: self._ready.set()))
            except BaseException as exc:  # reported to the test
                self._error = exc
                self._ready.set()

        self._thread = threading.Thread(target=run, name="gridwatch-under-test", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise AssertionError("service did not start")
        if self._error is not None:
            raise AssertionError(f"service failed to start: {self._error!r}") from self._error
        wait_for(self.rt.ingest.connected.is_set, 15, "the ingest to connect to MQTT")
        return self

    def stop(self) -> None:
        if self.rt is not None and self._thread is not None:
            self.rt.request_stop()
            self._thread.join(30)
            assert not self._thread.is_alive(), "service did not stop"
        if self._error is not None:
            raise self._error

    def __enter__(self) -> ServiceThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServiceProcess:
    """``gridwatch run`` as a child process (for SIGKILL tests)."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None, log: Path) -> None:
        self.port = free_port()
        self.args = ["run", "--port", str(self.port), "--no-console", *args]
        self.env = {**os.environ, **(env or {})}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "gridwatch.cli", *self.args], stdin=subprocess.DEVNULL,
            stdout=out, stderr=out,
            env=self.env, cwd=ROOT,
        )
        out.close()
        wait_for(self._healthy, 60, f"gridwatch to serve its API (log: {self.log})")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"gridwatch exited: {self.log.read_text()[-3000:]}")
        token = (self.env or {}).get("GRIDWATCH_ADMIN_TOKEN")  # /api/health needs a login then
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = httpx.get(self.api + "/api/health", timeout=2, headers=headers)
        return r.status_code == 200 and r.json()["mqtt"]["connected"]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise


class Publisher:
    """A QoS 1 MQTT publisher that waits for each PUBACK batch."""

    def __init__(self, host: str, port: int, client_id: str = "test-publisher",
                 login: tuple[str, str] | None = None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | dict[str, Any] | str, qos: int = 1) -> mqtt.MQTTMessageInfo:
        if isinstance(payload, dict):
            payload = orjson.dumps(payload)
        return self.client.publish(topic, payload, qos=qos)

    def publish_all(self, items: list[tuple[str, Any]]) -> None:
        chunk = 20_000  # paho's message ids are 16-bit: keep fewer than 65,535 outstanding
        for i in range(0, len(items), chunk):
            infos = [self.publish(t, p) for t, p in items[i: i + chunk]]
            for info in infos:
                info.wait_for_publish(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
