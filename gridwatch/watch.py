"""Faults that can delay an alarm, watched every few seconds and raised as system
alerts (and a failing health check): low disk space, the broker connection lost, an
ingest that hears nothing, a readings store that refuses writes, notices that nobody
receives, a system clock step.

Layer: composition root. Each check is a small pure decision over figures read
here; :meth:`FaultWatch.check` runs them all (the runtime calls it every 2 s).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.rules.types import Severity
from alerts.system import SystemHazard

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchLimits:
    """When a figure becomes a fault.

    Attributes:
        disk_warn_bytes: free space of the data directory's disk below this warns.
        disk_critical_bytes: below this it is critical (writes will fail soon).
        mqtt_down_s: the broker connection lost this long is critical.
        silent_s: connected but no message at all for this long warns (a real
            community's heartbeats never stop all at once).
        undelivered_s: a notice that no channel has taken for this long is a fault.
        internal_error_s: a batch that failed on a bug is a fault until this long has
            passed without another (its alarms were not raised; its payloads are dead
            letters ``internal_error``, kept for replay).
    """

    disk_warn_bytes: int = 1024 * 1024 * 1024
    disk_critical_bytes: int = 200 * 1024 * 1024
    mqtt_down_s: float = 30.0
    silent_s: float = 600.0
    undelivered_s: float = 120.0
    internal_error_s: float = 600.0


def disk_fault(free: int, limits: WatchLimits) -> Severity | None:
    """The severity of the free space left, or None when there is enough."""
    if free < limits.disk_critical_bytes:
        return Severity.CRITICAL
    if free < limits.disk_warn_bytes:
        return Severity.WARNING
    return None


class FaultWatch:
    """Checks the figures and raises or clears the system alerts."""

    def __init__(self, *, data_dir: Path, alarm: Any, ingest: Any, pipeline: Any, dispatcher: Any,
                 clock: Any, limits: WatchLimits | None = None,
                 free_bytes: Callable[[Path], int] | None = None) -> None:
        """Args: the data directory, the alarm path (``system_fault``), the MQTT ingest
        (``connected``), the pipeline (``stats``), the dispatcher (``stats``), the
        service clock (``step``), the limits; ``free_bytes`` replaces the disk probe."""
        self.data_dir = data_dir
        self.alarm = alarm
        self.ingest = ingest
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.clock = clock
        self.limits = limits or WatchLimits()
        self._free = free_bytes or (lambda p: shutil.disk_usage(p).free)
        self._state: dict[SystemHazard, tuple[bool, Severity | None]] = {}
        self._down_since: float | None = None
        self._undelivered_since: float | None = None
        self._errors_seen = int(getattr(pipeline.stats, "store_errors", 0))
        self._batches_at_error: int | None = None
        self._internal_seen = int(pipeline.stats.dead.get("internal_error", 0))
        self._internal_at: float | None = None
        self._elapsed = time.monotonic
        self._received = 0
        self._heard_at = self._elapsed()

    def _set(self, hazard: SystemHazard, severity: Severity | None, note: str) -> None:
        """Raise (a severity), change or clear (None) one system alert when it changes."""
        want = (severity is not None, severity)
        if self._state.get(hazard, (False, None)) == want:
            return
        self._state[hazard] = want
        self.alarm.system_fault(hazard, active=severity is not None,
                                severity=severity or Severity.WARNING, note=note)

    def check(self) -> None:
        """Run every check once. How long a fault has lasted is real time (a monotonic
        clock), whatever the service clock does (a manual test clock jumps days)."""
        now = self._elapsed()
        for check in (self._disk, self._mqtt, self._readings, self._internal, self._notices, self._clock):
            try:
                check(now)
            except Exception:
                log.exception("fault check %s failed", check.__name__)

    def _disk(self, _now: float) -> None:
        free = self._free(self.data_dir)
        sev = disk_fault(free, self.limits)
        self._set(SystemHazard.DISK_LOW, sev, f"{free // (1024 * 1024)} MiB free in {self.data_dir}")

    def _mqtt(self, now: float) -> None:
        connected = bool(self.ingest.connected.is_set())
        if connected:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = now
        down = not connected and now - (self._down_since or now) >= self.limits.mqtt_down_s
        self._set(SystemHazard.MQTT_DISCONNECTED, Severity.CRITICAL if down else None,
                  "the ingest has no connection to the broker: no readings arrive")
        received = int(self.pipeline.stats.received)
        if received != self._received:
            self._received, self._heard_at = received, now
        last = self._heard_at
        silent = connected and now - last >= self.limits.silent_s
        self._set(SystemHazard.INGEST_SILENT, Severity.WARNING if silent else None,
                  f"no message for {int(now - last)} s although connected")

    def _readings(self, _now: float) -> None:
        """The readings store refused a batch and none has gone through since: the
        ingest holds the batch (unacknowledged) and retries it."""
        st = self.pipeline.stats
        if st.store_errors > self._errors_seen:
            self._errors_seen, self._batches_at_error = st.store_errors, st.batches
        failing = self._batches_at_error is not None and st.batches == self._batches_at_error
        if not failing:
            self._batches_at_error = None
        self._set(SystemHazard.READINGS_STORE_FAILING, Severity.CRITICAL if failing else None,
                  f"the readings store refuses writes: {st.last_error}"[:300])

    def _internal(self, now: float) -> None:
        n = int(self.pipeline.stats.dead.get("internal_error", 0))
        if n > self._internal_seen:
            self._internal_seen, self._internal_at = n, now
        failing = self._internal_at is not None and now - self._internal_at < self.limits.internal_error_s
        self._set(SystemHazard.INGEST_INTERNAL_ERROR, Severity.CRITICAL if failing else None,
                  f"{n} messages failed on a bug and are kept as dead letters (internal_error); "
                  "their alarms were not raised")

    def _notices(self, now: float) -> None:
        st = self.dispatcher.stats()
        waiting = int(st.get("undelivered", 0)) + int(st.get("undeliverable", 0))
        if not waiting:
            self._undelivered_since = None
        elif self._undelivered_since is None:
            self._undelivered_since = now
        failing = waiting > 0 and now - (self._undelivered_since or now) >= self.limits.undelivered_s
        self._set(SystemHazard.NOTIFY_FAILING, Severity.CRITICAL if failing else None,
                  f"{waiting} notices not delivered on any channel; they are retried")

    def _clock(self, _now: float) -> None:
        step = float(self.clock.step())
        if step:
            self._set(SystemHazard.CLOCK_STEP, Severity.WARNING,
                      f"the system clock is {step:+.0f} s off the service clock; timers keep "
                      "the service clock until a restart")
        else:
            self._set(SystemHazard.CLOCK_STEP, None, "the system clock agrees again")


__all__ = ["FaultWatch", "WatchLimits", "disk_fault"]
