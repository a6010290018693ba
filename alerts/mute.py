"""The mute stages: whether the notices about an alert are held now, and why.

Layer: pure core (no I/O, no clock: every call takes ``now``).

Alertmanager's shape: a silence or an inhibition does not change the alert; it is a
stage between the alert and its notices. The escalation engine asks :meth:`Mutes.mute`
each time a notice is due (a first notice, a step, a reminder, a deadline), records on
the alert's timeline when an alert becomes held or free again, and the pages ask
:meth:`Mutes.suppression` for what holds an alert now. Nothing about a silence or an
outage is written into an alert, so lifting a silence, or a gateway coming back, needs
no rewrite of the alerts it held: the next look sees them free.

- **Silencer**: the silences and maintenance windows in force (:mod:`alerts.noise`).
  A matching alert's notices are held until the silence ends.
- **Inhibitor**: a device heard through a gateway (``via`` in the site file, or the only
  gateway of its building) is not heard while the gateway is offline. Its offline or
  unprotected alert, while nobody has taken it, is held as long as the gateway's own
  offline alert is active, and for ``GATEWAY_GRACE_S`` after it cleared (a Zigbee device
  rejoins and reports within minutes; a device still unheard after that speaks).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from alerts.book import OpenAlerts
from alerts.lifecycle import alert_key
from alerts.model import Alert, AlertStatus
from alerts.noise import INHIBITED_HAZARDS, Silence, gateways_of, silence_for
from topology.index import SiteIndex

# How long the devices behind a gateway that came back have to be heard again before
# their own offline alerts speak.
GATEWAY_GRACE_S = 300.0


@dataclass(frozen=True, slots=True)
class Muted:
    """Why an alert's notices are held now.

    Attributes:
        stage: ``silenced`` or ``inhibited``.
        by: the silence's id, or the id of the gateway's offline alert.
        note: the reason in words (for the timeline).
        until: when it ends at the latest, epoch s (infinity: when something changes).
    """

    stage: str
    by: int
    note: str
    until: float

    @property
    def key(self) -> str:
        """``silenced:<id>`` or ``inhibited:<id>``: what the escalation keeps."""
        return f"{self.stage}:{self.by}"


class Silencer:
    """The silences in force or scheduled. Replaced whole (one reference swap), so pages
    read it from any thread while the alarm writer changes it."""

    def __init__(self, index: SiteIndex) -> None:
        """Args: the site (for the places a silence names)."""
        self.index = index
        self._silences: tuple[Silence, ...] = ()

    @property
    def silences(self) -> tuple[Silence, ...]:
        """The silences not yet over (as of the last :meth:`set`)."""
        return self._silences

    def set(self, silences: Iterable[Silence], now: float) -> None:
        """Replace the silences (those over by ``now`` are dropped)."""
        self._silences = tuple(s for s in silences if not s.over(now))

    def mute(self, alert: Alert, now: float) -> Muted | None:
        """The silence that holds an alert's notices now (the one ending last)."""
        if not self._silences:
            return None
        s = silence_for(self._silences, self.index, alert, now)
        if s is None:
            return None
        end = s.ends_at if s.ended_at is None else min(s.ends_at, s.ended_at)
        return Muted("silenced", s.id, f"#{s.id} by {s.author}: {s.reason}", end)

    def next_change(self, now: float) -> float:
        """The next time a silence starts or ends after ``now`` (infinity: none)."""
        times = [t for s in self._silences for t in (s.starts_at, s.ends_at) if t > now]
        return min(times, default=math.inf)


class Inhibitor:
    """Holds the alerts a gateway outage explains, from the open alerts themselves."""

    def __init__(self, index: SiteIndex, alerts: OpenAlerts, *, grace_s: float = GATEWAY_GRACE_S) -> None:
        """Args: the site (who is behind which gateway), the open alerts, the grace."""
        self.gateway_of = gateways_of(index)
        self.alerts = alerts
        self.grace_s = grace_s
        self.gateways = frozenset(self.gateway_of.values())

    def mute(self, alert: Alert, now: float) -> Muted | None:
        """The gateway outage that holds an alert's notices now."""
        if alert.hazard not in INHIBITED_HAZARDS or alert.status is not AlertStatus.RAISED:
            return None
        gw = self.gateway_of.get(alert.device_id or "")
        if gw is None:
            return None
        key = alert_key(gw, "offline")
        outage = self.alerts.open(key) or self.alerts.recently_closed(key, now)
        if outage is None:
            return None
        if outage.active:
            return Muted("inhibited", outage.id, f"gateway {gw} is offline (#{outage.id})", math.inf)
        back = outage.cleared_at if outage.cleared_at is not None else outage.updated_at
        if now < back + self.grace_s:
            return Muted("inhibited", outage.id, f"gateway {gw} is back since {back:.0f}; "
                         "waiting for this device to be heard", back + self.grace_s)
        return None


class Mutes:
    """The mute stages in order: a silence, then an inhibition."""

    def __init__(self, silencer: Silencer, inhibitor: Inhibitor) -> None:
        """Args: the two stages."""
        self.silencer = silencer
        self.inhibitor = inhibitor

    def mute(self, alert: Alert, now: float) -> Muted | None:
        """What holds an alert's notices now, if anything."""
        return self.silencer.mute(alert, now) or self.inhibitor.mute(alert, now)

    def suppression(self, alert: Alert, now: float) -> dict[str, object] | None:
        """What the pages show: ``{"silenced_by", "inhibited_by", "until", "note"}`` (each
        stage that holds it), or None when its notices are free."""
        if not alert.is_open:
            return None
        s = self.silencer.mute(alert, now)
        i = self.inhibitor.mute(alert, now)
        if s is None and i is None:
            return None
        until = max(m.until for m in (s, i) if m is not None)
        return {"silenced_by": s.by if s else None, "inhibited_by": i.by if i else None,
                "until": None if math.isinf(until) else until,
                "note": "; ".join(m.note for m in (s, i) if m is not None)}

    def is_gateway(self, device_id: str | None) -> bool:
        """Whether a device is a gateway others are heard through (its outage holds them)."""
        return device_id is not None and device_id in self.inhibitor.gateways


__all__ = ["GATEWAY_GRACE_S", "Inhibitor", "Muted", "Mutes", "Silencer"]
