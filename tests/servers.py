"""Real servers for integration tests, started on free loopback ports.

Layer: test support. :class:`MosquittoServer` runs the Debian ``mosquitto``
binary with a throw-away config, persistence directory and log file::

    with MosquittoServer() as broker:
        client.connect(broker.host, broker.port)
        ...
        broker.kill()      # SIGKILL, like a crash
        broker.start()     # same port, same persistence directory

Where the binary is missing the test fails (in CI) with the command that
installs it; outside CI it is skipped (STYLE.md: skipping only outside CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pytest

INSTALL_HINT = "mosquitto is not installed: run `apt-get install -y mosquitto` (Debian/Ubuntu)"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (there is a small race until it is bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def require_binary(name: str, hint: str) -> str:
    """The path of a server binary; fail in CI or skip elsewhere when it is missing."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(hint, pytrace=False)
    pytest.skip(hint)


class MosquittoServer:
    """A Mosquitto broker on ``host:port`` for one test or one module.

    Args:
        port: the port; a free one is chosen when None (and kept across restarts).
        host: the listener address.
        workdir: where config, persistence and log go; a fresh temp dir when None
            (removed by :meth:`cleanup`, which ``__exit__`` calls).
        max_inflight_messages: outgoing QoS 1/2 messages in flight per client
            before the broker waits for acks. A batching ingest acks a batch at
            once, so this bounds its batch size (Mosquitto's default is 20).
        max_queued_messages: messages queued per offline or slow persistent
            session beyond those in flight; large so a 200k backlog fits
            (0 would mean unlimited in Mosquitto 2.0).
        autosave_interval_s: how often the in-memory store is saved to disk
            (it is also saved on a clean stop, not on :meth:`kill`).
        extra_config: more ``mosquitto.conf`` lines.

    Attributes:
        log_path: the broker's log file; its tail is in every start-up error.
        data_dir: the persistence directory (``mosquitto.db``).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        workdir: str | Path | None = None,
        max_inflight_messages: int = 1000,
        max_queued_messages: int = 1_000_000,
        autosave_interval_s: int = 1800,
        extra_config: tuple[str, ...] = (),
    ) -> None:
        self.binary = require_binary("mosquitto", INSTALL_HINT)
        self.host = host
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port(host)
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="gw-mosquitto-"))
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "mosquitto.log"
        self.config_path = self.workdir / "mosquitto.conf"
        self.max_inflight_messages = max_inflight_messages
        self.max_queued_messages = max_queued_messages
        self.autosave_interval_s = autosave_interval_s
        self.extra_config = extra_config
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``mqtt://host:port``, the form GridWatch's ``--mqtt`` takes."""
        return f"mqtt://{self.host}:{self.port}"

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {self.data_dir}/",
            f"autosave_interval {self.autosave_interval_s}",
            f"max_inflight_messages {self.max_inflight_messages}",
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",
            "set_tcp_nodelay true",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # As root Mosquitto drops to user "mosquitto", which cannot write our temp dir.
            lines.append("user root")
        lines += list(self.extra_config)
        self.config_path.write_text("\n".join(lines) + "\n")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker's log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def start(self, timeout_s: float = 10.0) -> MosquittoServer:
        """Start the broker and wait until its port accepts connections.

        When the port was chosen here and turns out to be taken, a new one is
        tried (twice).

        Raises:
            RuntimeError: the broker exited or did not listen in time; the
                message carries the tail of its log.
        """
        if self.proc is not None and self.proc.poll() is None:
            return self
        for attempt in range(3):
            try:
                self._start_once(timeout_s)
                return self
            except RuntimeError:
                in_use = "Address already in use" in self.log_tail()
                if self._fixed_port or not in_use or attempt == 2:
                    raise
                self.port = free_port(self.host)
        return self  # pragma: no cover - the loop returns or raises

    def _start_once(self, timeout_s: float) -> None:
        self._write_config()
        self.proc = subprocess.Popen(  # noqa: S603 - our binary, our config
            [self.binary, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError(
                    f"mosquitto exited with {code} on start-up; log {self.log_path}:\n"
                    + self.log_tail()
                )
            if self._accepts():
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(
            f"mosquitto did not listen on {self.host}:{self.port} within {timeout_s} s; "
            f"log:\n{self.log_tail()}"
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop cleanly (SIGTERM; the store is saved) and wait for the process to exit."""
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

    def kill(self) -> None:
        """Kill with SIGKILL (nothing saved since the last autosave) and wait for it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None

    def save(self) -> None:
        """Ask the broker to write its persistence file now (SIGUSR1)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)

    def restart(self, timeout_s: float = 10.0) -> None:
        """Stop cleanly and start again on the same port with the same store."""
        self.stop(timeout_s)
        self._fixed_port = True
        self.start(timeout_s)

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self) -> None:
        """Stop the broker and remove the temp dir (when this object made it).

        Set ``GRIDWATCH_KEEP_TEST_DIRS=1`` to keep it (config, log, store) for a post-mortem.
        """
        self.stop()
        if self._own_dir and not os.environ.get("GRIDWATCH_KEEP_TEST_DIRS"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> MosquittoServer:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
