"""The terminal status display of ``gridwatch run``: the system alive at a glance.

Layer: composition root. One line updated in place (messages/s, devices online,
open alerts, dead letters), a line for each new alert with who it went to, and for a
critical one, a moment later, the notice each recipient got (or would have got, where
they have no channel, as in the demo) with its channels. When stdout is not a
terminal, a plain status line every 10 seconds instead. Words come from the one
catalogue (:mod:`alerts.words`) the pages and notices use.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from alerts.service import AlertChange
from alerts.words import hazard_name, value_unit, word
from api import queries
from api.principal import open_principal
from api.views import online_mask
from gridwatch.runtime import Runtime

# A critical alert's notices are shown this long after it was raised (they go out at once).
NOTICE_DELAY_S = 2.0


def alert_line(rt: Runtime, change: AlertChange) -> str:
    """One line for a new alert: what, where, to whom."""
    a = change.alert
    worker = rt.index.workers.get(a.assignee or "")
    who = f"{worker.name} ({worker.id}, grid {a.grid_id})" if worker else str(a.assignee)
    value = "" if a.value is None else f" value={a.value:g}"
    unit = value_unit(a.hazard)
    value += f" {unit}" if value and unit else ""
    return (f"ALERT #{a.id} {a.severity.value.upper()} {word('sev_' + a.severity.value)} "
            f"{hazard_name(a.hazard)} ({a.hazard}) on {a.device_id}{value} "
            f"at {a.facts.address or a.place_id} → {who}")


def notice_lines(rt: Runtime, alert_id: int) -> list[str]:
    """One line per recipient of an alert's notices so far: who, on which channels
    (``no channel`` where none is set up), and the notice's title as they read it."""
    a = rt.state.get_alert(alert_id)
    if a is None:
        return []
    attempts, _ = rt.notify_store.attempts(alert_id, limit=1000)
    s = rt.settings
    items = queries.notice_messages(rt, open_principal("console"), a, attempts,
                                    public_url=s.public_url or f"http://{s.host}:{s.port}", tz=None)
    out = []
    for m in items:
        channels = ", ".join(ch for ch in m["channels"] if ch != "-")
        how = (f"via {channels}, {'delivered' if m['delivered'] else 'NOT delivered'}" if channels
               else "no channel set up, would read")
        who = f"{m['name'] or m['recipient']} ({m['role']})"
        out.append(f"  NOTICE #{alert_id} → {who} [{how}]: {m['title']}")
    if out:
        out.append(f"  (full texts: http://{s.host}:{s.port}/#/alert/{alert_id})")
    return out


class Console:
    """Prints the status of a runtime until cancelled."""

    def __init__(self, rt: Runtime, out: TextIO = sys.stdout) -> None:
        """Args: the runtime to watch, and where to print."""
        self.rt = rt
        self.out = out
        self.tty = out.isatty()
        self._pending: list[AlertChange] = []
        self._notices: list[tuple[float, int]] = []  # (show after, alert id)
        rt.alerts.subscribe(self._on_alert)

    def _on_alert(self, change: AlertChange) -> None:
        if change.created:
            self._pending.append(change)
            if change.alert.severity.value == "critical":
                self._notices.append((time.monotonic() + NOTICE_DELAY_S, change.alert.id))

    def _due_notices(self, t: float) -> list[str]:
        due = [i for at, i in self._notices if at <= t]
        self._notices = [(at, i) for at, i in self._notices if at > t]
        return [line for i in due for line in notice_lines(self.rt, i)]

    def status(self, rate: float) -> str:
        """The status line."""
        rt = self.rt
        now = rt.clock()
        online = int(online_mask(rt, now).sum())  # the rule core's definition, as the pages
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
            texts = [alert_line(self.rt, change) for change in pending]
            texts += await asyncio.to_thread(self._due_notices, t)
            if self.tty:
                for text in texts:
                    self.out.write("\r\x1b[2K" + text + "\n")
                self.out.write("\r\x1b[2K" + line)
            else:
                for text in texts:
                    self.out.write(text + "\n")
                if t - last_plain >= 10.0:
                    self.out.write(line + "\n")
                    last_plain = t
            self.out.flush()
