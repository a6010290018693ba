"""A real InfluxDB (Debian ``influxdb``, 1.6) for the store's integration tests.

Layer: test support. :class:`InfluxServer` runs ``influxd`` on free loopback
ports (HTTP and the RPC ``bind-address``) with a throw-away config and data
directory, reporting off. Where the binary is missing the test fails in CI with
the install command, and is skipped elsewhere.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, require_binary

INSTALL_HINT = "influxd is not installed: run `apt-get install -y influxdb` (Debian/Ubuntu)"
_db_numbers = itertools.count(1)


class InfluxServer:
    """``influxd`` on 127.0.0.1 for one test session (or one outage test).

    ``stop()`` and ``start()`` keep the ports and the data directory, like a
    database server that goes away and comes back.
    """

    def __init__(self) -> None:
        self.binary = require_binary("influxd", INSTALL_HINT)
        self.workdir = Path(tempfile.mkdtemp(prefix="gw-influxd-"))
        self.http_port = free_port()
        self.rpc_port = free_port()
        self.log_path = self.workdir / "influxd.log"
        self.config_path = self.workdir / "influxdb.conf"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The HTTP base URL."""
        return f"http://127.0.0.1:{self.http_port}"

    def _write_config(self) -> None:
        d = self.workdir
        self.config_path.write_text(
            f"""reporting-enabled = false
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{d}/meta"
  logging-enabled = false
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
  max-values-per-tag = 0
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{self.http_port}"
  log-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
"""
        )

    def log_tail(self, lines: int = 20) -> str:
        """The end of influxd's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    def start(self, timeout_s: float = 30.0) -> InfluxServer:
        """Start influxd and wait until ``/ping`` answers."""
        self._write_config()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our binary, our config
                [self.binary, "-config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code, self.proc = self.proc.returncode, None
                raise RuntimeError(f"influxd exited with {code}; log:\n{self.log_tail()}")
            if self._ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"influxd did not answer /ping within {timeout_s} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        """Stop and remove the data directory (kept with GRIDWATCH_KEEP_TEST_DIRS=1)."""
        self.stop()
        if not os.environ.get("GRIDWATCH_KEEP_TEST_DIRS"):
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def influx_server() -> Iterator[InfluxServer]:
    """One influxd for the session; tests isolate themselves with their own database."""
    server = InfluxServer()
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture
def own_influx_server() -> Iterator[InfluxServer]:
    """An influxd of the test's own, which the test may stop and start."""
    server = InfluxServer()
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture
def database() -> str:
    """A database name no other test uses."""
    return f"gw_test_{os.getpid()}_{next(_db_numbers)}"
