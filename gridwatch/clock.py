"""The service clock: the system clock, or a manual test clock moved through the API.

Layer: composition root. Everything else receives ``now`` from here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def _boottime() -> float:
    """Seconds of a clock that never steps and counts suspend (Linux CLOCK_BOOTTIME;
    elsewhere the monotonic clock)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


# A difference between the wall clock and the service clock beyond this is a step
# (NTP slews by at most 0.5 ms/s; a step of seconds is somebody setting the clock).
STEP_THRESHOLD_S = 2.0


class SystemClock:
    """Epoch seconds that move like a monotonic clock: the wall time at start plus the
    time elapsed since. Every timer (offline, holds, escalation) runs on it, so a step
    of the system clock neither invents absences nor holds escalations; the step is
    detected by :meth:`step` and reported (the service time keeps its own course until
    a restart)."""

    manual = False

    def __init__(self, wall: Callable[[], float] = time.time,
                 elapsed: Callable[[], float] = _boottime) -> None:
        """Args: the wall clock and a clock that never steps (tests pass their own)."""
        self._wall, self._elapsed = wall, elapsed
        self._base_wall, self._base = wall(), elapsed()

    def __call__(self) -> float:
        """Now."""
        return self._base_wall + (self._elapsed() - self._base)

    def step(self) -> float:
        """How far the wall clock is from the service clock now (0.0 within
        :data:`STEP_THRESHOLD_S`): positive when the wall clock jumped ahead."""
        off = self._wall() - self()
        return off if abs(off) > STEP_THRESHOLD_S else 0.0


class ManualClock:
    """A clock that moves only when told (``gridwatch run --clock manual``)."""

    manual = True

    def __init__(self, start: float | None = None) -> None:
        """Args: start time, epoch seconds (default: the wall clock at creation)."""
        self._now = time.time() if start is None else start
        self._started_explicitly = start is not None
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Now, as last set."""
        return self._now

    def resume(self, at: float) -> None:
        """Continue from ``at`` (a restarted service's last time) when it is later."""
        with self._lock:
            self._now = max(self._now, at) if self._started_explicitly else at

    def step(self) -> float:
        """A manual clock never steps by itself."""
        return 0.0

    def advance(self, seconds: float) -> float:
        """Move forward (never backward); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += seconds
            return self._now


Clock = SystemClock | ManualClock
