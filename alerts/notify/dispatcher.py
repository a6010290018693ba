"""Delivering notices: every person on their channels (apprise URLs), with retries,
fallback and a record of every attempt; the MQTT integration topic besides.

Layer: adapter. :meth:`Dispatcher.submit` only queues. Each delivery try is one task
on a thread pool, and a retry is scheduled for later instead of sleeping in a worker,
so a slow or dead channel holds one worker for at most one try (apprise's connect and
read timeouts) and never delays other notices, let alone the ingest.

Per person and notice: the channels are tried in the person's order; a channel is
retried with exponential backoff (``retry_backoff_s`` doubling, ``retries`` times),
then the next channel takes over. A critical alarm goes out on the person's first two
channels at once, each with the rest as its fallback (GB/T 45839 5.10.4: at least two
channels).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import apprise
import orjson

from alerts.notify.messages import render
from alerts.notify.types import Notice, NoticeType
from alerts.routing import Recipient
from store.notify import Attempt, NotifyStore

log = logging.getLogger(__name__)

TWO_CHANNEL_NOTICES = frozenset({NoticeType.ALARM, NoticeType.ESCALATION, NoticeType.REMINDER,
                                 NoticeType.INCIDENT_UPDATE})


def redact(url: str) -> str:
    """A channel URL without credentials, tokens or paths: ``scheme://host[:port]``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("://", 1)[0] + "://?"
    return f"{parts.scheme}://{host}{port}"


class Delivery(NamedTuple):
    """What one try on one channel came to (the channel interface's answer).

    Attributes:
        ok: delivered.
        error: why not, when not.
        retryable: whether trying the same channel again can help (a refused or
            timed-out request can; a URL no plugin knows cannot).
    """

    ok: bool
    error: str | None = None
    retryable: bool = True


@dataclass(slots=True)
class _Chain:
    """One person's delivery of one notice along a list of channels."""

    notice: Notice
    recipient: Recipient
    urls: list[str]
    position: int = 0
    attempt: int = 1
    rounds: int = 0  # times every channel failed (a durable notice starts over)
    permanent: set[int] = field(default_factory=set)  # channels that can never deliver

    @property
    def outbox_id(self) -> int | None:
        """The notice's outbox row for this person (None: nobody waits for it)."""
        ids = self.notice.extra.get("outbox")
        return ids.get(self.recipient.id) if isinstance(ids, dict) else None


# A durable notice whose every channel failed starts over after this long (doubling
# per round, at most ``PENDING_RETRY_MAX_S``): it stays pending until one delivers.
PENDING_RETRY_S = 30.0
PENDING_RETRY_MAX_S = 300.0


class Dispatcher:
    """A :class:`alerts.notify.types.Notifier` that delivers through apprise."""

    def __init__(
        self,
        store: NotifyStore,
        *,
        public_url: str = "",
        tz: tzinfo | None = None,
        retries: int = 3,
        retry_backoff_s: float = 1.0,
        workers: int = 16,
        timeout_s: float = 5.0,
        mqtt_publish: Callable[[bytes], None] | None = None,
        clock: Callable[[], float] = time.time,
        on_delivered: Callable[[int, str], None] | None = None,
        record: Callable[[Attempt], None] | None = None,
    ) -> None:
        """Args: where attempts are recorded; the link base; the site's time zone; how
        often a channel is retried, the first backoff; the pool size; apprise's connect
        and read timeout per try; where integration JSON goes; the service clock; who
        is told that a durable notice (one with an outbox id) was delivered; where an
        attempt is recorded (default: ``store.record``)."""
        self.store = store
        self.on_delivered = on_delivered
        self._record_attempt = record or store.record
        self.undelivered = 0  # durable notices whose every channel failed, waiting to start over
        self.undeliverable = 0  # notices no channel of the person can ever deliver
        self.public_url = public_url
        self.tz = tz
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self.timeout_s = timeout_s
        self.mqtt_publish = mqtt_publish
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify")
        self._later: list[tuple[float, int, _Chain]] = []
        self._tie = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._inflight = 0
        self.sent = 0
        self.failed = 0
        self._timer = threading.Thread(target=self._run_timer, name="notify-retries", daemon=True)
        self._timer.start()

    def warm_up(self, urls: list[str]) -> None:
        """Load the apprise plugins of these channels now (apprise loads them lazily on
        first use, which cost the first notices ~100-300 ms in bench/latency)."""
        seen: set[str] = set()
        for url in urls:
            scheme = url.split("://", 1)[0]
            if scheme in seen:
                continue
            seen.add(scheme)
            try:
                apprise.Apprise.instantiate(url)
            except Exception:  # a bad URL is reported when it is used
                log.debug("warming up %s:// failed", scheme, exc_info=True)

    # -- Notifier ----------------------------------------------------------------------

    def submit(self, notice: Notice) -> None:
        """Queue a notice for every recipient; returns at once."""
        if self.mqtt_publish is not None:
            try:
                self.mqtt_publish(self._integration_json(notice))
            except Exception:
                log.exception("publishing notice on MQTT failed")
        for r in notice.recipients:
            urls = list(r.urls)
            if not urls:
                self._record(_Chain(notice, r, []), "-", ok=False, error="no channel", t0=time.monotonic())
                continue
            critical = str(notice.alert.severity) == "critical" and notice.notice in TWO_CHANNEL_NOTICES
            if critical and len(urls) >= 2:
                rest = urls[2:]
                self._start(_Chain(notice, r, [urls[0], *rest]))
                self._start(_Chain(notice, r, [urls[1], *rest]))
            else:
                self._start(_Chain(notice, r, urls))

    # -- delivery ----------------------------------------------------------------------

    def _start(self, chain: _Chain) -> None:
        with self._cond:
            if self._closed:
                return
            self._inflight += 1
        self._pool.submit(self._try, chain)

    def _try(self, chain: _Chain) -> None:
        url = chain.urls[chain.position]
        t0 = time.monotonic()
        ok, error, retryable = False, None, True
        try:
            title, body = render(chain.notice, language=chain.recipient.language,
                                 public_url=self.public_url, tz=self.tz)
            ok, error, retryable = self._deliver(url, title, body, chain.notice)
        except (ValueError, TypeError) as exc:  # a URL a plugin cannot take: never will
            error, retryable = f"{type(exc).__name__}: {exc}"[:300], False
        except Exception as exc:  # a plugin bug: recorded, never raised
            error = f"{type(exc).__name__}: {exc}"[:300]
        self._record(chain, url, ok=ok, error=error, t0=t0)
        if ok:
            if chain.outbox_id is not None and self.on_delivered is not None:
                try:
                    self.on_delivered(chain.outbox_id, redact(url))
                except Exception:
                    log.exception("recording a delivery failed (the notice may be sent again)")
            if chain.rounds:
                with self._cond:
                    self.undelivered -= 1
            self._done(True)
            return
        if not retryable:
            chain.permanent.add(chain.position)
        if retryable and chain.attempt <= self.retries:
            delay = self.retry_backoff_s * 2 ** (chain.attempt - 1)
            chain.attempt += 1
            self._schedule(chain, delay)
        elif chain.position + 1 < len(chain.urls):
            chain.position += 1  # this channel keeps failing: fall back to the next
            chain.attempt = 1
            self._pool.submit(self._try, chain)
        elif len(chain.permanent) == len(chain.urls):
            # No channel of this person can ever deliver (URLs no plugin knows): starting
            # over cannot help. Counted, so the health check shows it; the outbox keeps
            # the notice for a restart with a corrected site file.
            with self._cond:
                self.undeliverable += 1
            self._done(False)
        elif chain.outbox_id is not None and not self._closed:
            # Every channel failed: the person is not told yet. The notice stays pending
            # and starts over later (until a channel takes it or the service stops; the
            # outbox sends it again after a restart).
            with self._cond:
                if not chain.rounds:
                    self.undelivered += 1
            self._done(False)  # not in flight while it waits (wait_idle does not wait for it)
            chain.rounds += 1
            chain.position, chain.attempt = 0, 1
            self._schedule(chain, min(PENDING_RETRY_MAX_S, PENDING_RETRY_S * 2 ** (chain.rounds - 1)))
        else:
            self._done(False)

    def _deliver(self, url: str, title: str, body: str, notice: Notice) -> Delivery:
        a = apprise.Apprise()
        sep = "&" if "?" in url else "?"
        timeouts = f"{sep}cto={self.timeout_s:g}&rto={self.timeout_s:g}"
        if not a.add(url + timeouts) and not a.add(url):
            return Delivery(False, "not a channel URL apprise knows", retryable=False)
        notify_type = (apprise.NotifyType.FAILURE if str(notice.alert.severity) == "critical"
                       else apprise.NotifyType.WARNING)
        if notice.notice in (NoticeType.ALARM_CLEARED, NoticeType.FAULT_RECOVERED):
            notify_type = apprise.NotifyType.SUCCESS
        with apprise.LogCapture(level=logging.WARNING) as output:  # type: ignore[no-untyped-call]
            ok = bool(a.notify(title=title, body=body, notify_type=notify_type))
            text = output.getvalue().strip() if not ok else ""
        if ok:
            return Delivery(True)
        last = text.splitlines()[-1] if text else "delivery failed"
        return Delivery(False, last.split(" - ", 2)[-1][:300])  # without the log line's time and level

    def _record(self, chain: _Chain, url: str, *, ok: bool, error: str | None, t0: float) -> None:
        now = time.monotonic()
        try:
            self._record_attempt(Attempt(
                ts=time.time(), alert_id=chain.notice.alert.id, notice=chain.notice.notice.value,
                recipient=chain.recipient.id, channel=redact(url) if url != "-" else "-",
                attempt=chain.attempt, ok=ok, error=error, duration_ms=(now - t0) * 1000,
                since_notice_ms=max(0.0, (self.clock() - chain.notice.created_at) * 1000),
                reason=chain.notice.reason,
            ))
        except Exception:
            log.exception("recording a notification attempt failed")

    def _done(self, ok: bool) -> None:
        with self._cond:
            self._inflight -= 1
            if ok:
                self.sent += 1
            else:
                self.failed += 1
            self._cond.notify_all()

    def _schedule(self, chain: _Chain, delay_s: float) -> None:
        with self._cond:
            heapq.heappush(self._later, (time.monotonic() + delay_s, next(self._tie), chain))
            self._cond.notify_all()

    def _run_timer(self) -> None:
        with self._cond:
            while not self._closed:
                if not self._later:
                    self._cond.wait()
                    continue
                due, _, chain = self._later[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._later)
                if chain.rounds and chain.position == 0 and chain.attempt == 1:
                    self._inflight += 1  # a pending notice starting over
                self._pool.submit(self._try, chain)

    def _integration_json(self, notice: Notice) -> bytes:
        a = notice.alert
        # welfare and door-at-night alerts exist only for elderly-alone homes: on the
        # feed they name the grid, not the household (issue 14)
        private = a.hazard in ("welfare", "door_night")
        return orjson.dumps({
            "notice": notice.notice.value, "reason": notice.reason, "level": notice.level,
            "at": notice.created_at,
            "alert": {"id": a.id, "hazard": a.hazard, "severity": str(a.severity),
                      "status": str(a.status), "active": a.active,
                      "device_id": None if private else a.device_id,
                      "place_id": None if private else a.place_id, "grid_id": a.grid_id,
                      "assignee": a.assignee, "value": a.value, "raised_at": a.raised_at,
                      "address": None if private else a.facts.address},
            # workers only: an emergency contact on the feed would tell every subscriber
            # which household lives alone (issue 14); names, phones and URLs never go here
            "recipients": [r.id for r in notice.recipients if r.role != "contact"],
        })

    # -- lifecycle ---------------------------------------------------------------------

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is being delivered or waiting for a retry (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._inflight > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stats(self) -> dict[str, Any]:
        """Counters for the health endpoint."""
        with self._cond:
            return {"delivered": self.sent, "failed": self.failed, "in_flight": self._inflight,
                    "retries_waiting": len(self._later), "undelivered": self.undelivered,
                    "undeliverable": self.undeliverable}

    def close(self, timeout_s: float = 5.0) -> None:
        """Give deliveries in progress ``timeout_s``, then stop (retries not yet due are dropped,
        their attempts are on record)."""
        self.wait_idle(timeout_s)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._timer.join(2)


__all__ = ["Delivery", "Dispatcher", "redact"]
