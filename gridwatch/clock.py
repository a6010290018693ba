"""The service clock: the system clock, or a manual test clock moved through the API.

Layer: composition root. Everything else receives ``now`` from here.
"""

from __future__ import annotations

import threading
import time


class SystemClock:
    """Wall-clock time, epoch seconds."""

    manual = False

    def __call__(self) -> float:
        """Now."""
        return time.time()


class ManualClock:
    """A clock that moves only when told (``gridwatch run --clock manual``)."""

    manual = True

    def __init__(self, start: float | None = None) -> None:
        """Args: start time, epoch seconds (default: the wall clock at creation)."""
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Now, as last set."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward (never backward); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += seconds
            return self._now


Clock = SystemClock | ManualClock
