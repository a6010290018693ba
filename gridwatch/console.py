"""The terminal status display of ``gridwatch run``: the system alive at a glance.

Layer: composition root. One line updated in place (messages/s, devices online,
open alerts, dead letters), and a line for each new alert with who it went to.
When stdout is not a terminal, a plain status line every 10 seconds instead.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from alerts.service import AlertChange
from gridwatch.runtime import Runtime

_SEV_ZH = {"critical": "紧急", "warning": "警告", "info": "提示"}


def alert_line(rt: Runtime, change: AlertChange) -> str:
    """One line for a new alert: what, where, to whom."""
    a = change.alert
    worker = rt.index.workers.get(a.assignee or "")
    who = f"{worker.name} ({worker.id}, grid {a.grid_id})" if worker else str(a.assignee)
    value = "" if a.value is None else f" value={a.value:g}"
    return (f"ALERT #{a.id} {a.severity.value.upper()} {_SEV_ZH.get(a.severity.value, '')} "
            f"{a.hazard} on {a.device_id}{value} at {a.data.get('address', a.place_id)} → {who}")


class Console:
    """Prints the status of a runtime until cancelled."""

    def __init__(self, rt: Runtime, out: TextIO = sys.stdout) -> None:
        """Args: the runtime to watch, and where to print."""
        self.rt = rt
        self.out = out
        self.tty = out.isatty()
        self._pending: list[AlertChange] = []
        rt.alerts.subscribe(self._on_alert)

    def _on_alert(self, change: AlertChange) -> None:
        if change.created:
            self._pending.append(change)

    def status(self, rate: float) -> str:
        """The status line."""
        rt = self.rt
        now = rt.clock()
        seen = rt.live.last_seen
        hb = rt.table.heartbeat_s
        online = int(((now - seen) <= 2.0 * hb + 60.0).sum())  # NaN compares False
        open_alerts = rt.state.count_alerts(statuses=["raised", "acknowledged", "on_site"])
        dead = sum(rt.pipeline.stats.dead.values())
        mqtt = "up" if rt.ingest.connected.is_set() else "DOWN"
        return (f"[gridwatch] mqtt {mqtt} | {rate:7.1f} msg/s | stored {rt.pipeline.stats.stored} | "
                f"devices online {online}/{len(rt.table)} | open alerts {open_alerts} | "
                f"dead letters {dead} | API http://{rt.settings.host}:{rt.settings.port}/")

    async def run(self) -> None:
        """Update the display every second."""
        last_n, last_t = self.rt.pipeline.stats.received, time.monotonic()
        last_plain = 0.0
        while True:
            await asyncio.sleep(1.0)
            n, t = self.rt.pipeline.stats.received, time.monotonic()
            rate = (n - last_n) / max(t - last_t, 1e-6)
            last_n, last_t = n, t
            line = await asyncio.to_thread(self.status, rate)
            pending, self._pending = self._pending, []
            if self.tty:
                for change in pending:
                    self.out.write("\r\x1b[2K" + alert_line(self.rt, change) + "\n")
                self.out.write("\r\x1b[2K" + line)
            else:
                for change in pending:
                    self.out.write(alert_line(self.rt, change) + "\n")
                if t - last_plain >= 10.0:
                    self.out.write(line + "\n")
                    last_plain = t
            self.out.flush()
