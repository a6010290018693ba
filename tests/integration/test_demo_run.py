"""The demo a newcomer starts with ``scripts/run`` (``gridwatch run --simulate``): run
twice in the same directory, each run starts on a fresh demo data directory and shows
the critical gas alarm, with the notices its recipients would have read, and at most a
few battery warnings before it (issue 16)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = [pytest.mark.integration]

GRIDWATCH = str(Path(sys.executable).with_name("gridwatch"))


def _demo_run(cwd: Path, timeout_s: float = 90.0) -> list[str]:
    """Start the demo, return its lines up to the gas alarm's notices, then stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    proc = subprocess.Popen(  # noqa: S603 - our own command line
        [GRIDWATCH, "run", "--simulate", "--sim-hazard-after-s", "3", "--port", str(free_port()),
         "--mqtt-port", str(free_port())],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x.rstrip("\n")) for x in proc.stdout or []], daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1.0))
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            if any("燃气泄漏 (gas)" in x for x in seen) and any(x.lstrip().startswith("(full texts:") for x in seen):
                return seen
        raise AssertionError("no gas alarm with its notices:\n" + "\n".join(seen[-40:]))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_running_the_demo_twice_shows_the_alarm_both_times(tmp_path):
    dirs = []
    for _ in range(2):
        out = _demo_run(tmp_path)
        fresh = next(x for x in out if x.startswith("Demo: a fresh data directory"))
        dirs.append(fresh.split()[5])
        alarm = next(i for i, x in enumerate(out) if x.startswith("ALERT #") and "(gas)" in x)
        assert "CRITICAL 紧急 燃气泄漏 (gas)" in out[alarm] and "%LEL" in out[alarm]
        before = [x for x in out[:alarm] if x.startswith("ALERT #")]
        assert len(before) <= 3, before  # battery noise: a few at most
        notices = [x for x in out[alarm:] if x.lstrip().startswith("NOTICE #")]
        assert any("(grid_worker)" in x and "[报警] 紧急 燃气泄漏" in x for x in notices), notices
        assert any("(grid_assistant)" in x for x in notices), notices
    assert dirs[0] != dirs[1] and all((tmp_path / d).is_dir() for d in dirs)
