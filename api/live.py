"""Live events for the pages: alert changes fanned out to every open event stream,
and device states computed once per interval for all of them.

Layer: adapters. No number of open pages can delay an alarm: the device states are
computed at most once per interval, on a thread of their own (not the pool the
API's handlers use, never under a lock the alarm writer takes), and each stream only looks at
the devices that changed; streams are capped per user and in all
(:class:`TooManyStreams`). :class:`EventHub` is subscribed to :class:`alerts.service.AlertService`
(whose listeners run on worker threads) and hands each change to the asyncio
queue of every stream with ``call_soon_threadsafe``. A slow page loses events
rather than memory: its queue is bounded and it is told to reload its state.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from alerts.service import AlertChange
from sensors.errors import GridWatchError

QUEUE_SIZE = 1000
# Open event streams at most, per user and in all (a page holds one).
MAX_STREAMS_PER_USER = 8
MAX_STREAMS = 256


class TooManyStreams(GridWatchError):
    """A user (or everybody together) has as many live streams open as allowed."""
CLOSE: Any = object()
OVERFLOW: Any = object()


@dataclass(eq=False)
class Subscription:
    """One open event stream."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    user: str = ""

    def put(self, item: Any) -> None:
        """Enqueue on the loop's thread; on overflow keep one OVERFLOW marker."""
        if item is CLOSE:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(CLOSE)
            return
        if self.queue.full():
            if not self.overflowed:
                self.overflowed = True
                self.queue.get_nowait()
                self.queue.put_nowait(OVERFLOW)
            return
        self.queue.put_nowait(item)


class EventHub:
    """Fans alert changes out to subscriptions; thread-safe."""

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self.closed = False

    def subscribe(self, user: str = "") -> Subscription:
        """A new subscription on the running loop (call from async code).

        Raises:
            TooManyStreams: ``user`` has :data:`MAX_STREAMS_PER_USER` open, or all
                users :data:`MAX_STREAMS`.
        """
        sub = Subscription(asyncio.get_running_loop(), user=user)
        with self._lock:
            mine = sum(1 for x in self._subs if x.user == user)
            if mine >= MAX_STREAMS_PER_USER or len(self._subs) >= MAX_STREAMS:
                raise TooManyStreams(f"{mine} live streams open for {user!r}, {len(self._subs)} in all")
            if self.closed:
                sub.put(CLOSE)
            else:
                self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a subscription."""
        with self._lock:
            self._subs.discard(sub)

    def _send(self, item: Any) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.put, item)
            except RuntimeError:  # its loop is closed
                self.unsubscribe(sub)

    def publish(self, change: AlertChange) -> None:
        """An alert changed (the AlertService listener; any thread)."""
        self._send(change)

    def close(self) -> None:
        """End every stream (the service is stopping)."""
        with self._lock:
            self.closed = True
        self._send(CLOSE)

    @property
    def subscribers(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._subs)


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    """Every device's state at one moment, in two views: ``full`` (from every open
    alert) and ``public`` (without the alerts that are personal data: welfare, door
    at night). ``version`` counts the snapshots taken."""

    version: int
    full: dict[str, str]
    public: dict[str, str]


class SharedDeviceStates:
    """One device-state snapshot per interval for every stream (see the module doc)."""

    def __init__(self, compute: Callable[[], tuple[dict[str, str], dict[str, str]]],
                 interval_s: float = 2.0, keep: int = 64) -> None:
        """Args: computes (full, public) states; the interval; how many versions of
        changed device ids are kept for streams that fell behind."""
        self._compute = compute
        self.interval_s = interval_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-states")
        self._lock: asyncio.Lock | None = None
        self._snap = DeviceSnapshot(0, {}, {})
        self._at = -float("inf")
        self._changed: deque[tuple[int, frozenset[str]]] = deque(maxlen=keep)
        self.computed = 0

    async def current(self) -> DeviceSnapshot:
        """The snapshot, taken anew when older than the interval (once for all callers)."""
        if time.monotonic() - self._at < self.interval_s:
            return self._snap
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if time.monotonic() - self._at >= self.interval_s:
                full, public = await asyncio.get_running_loop().run_in_executor(self._pool, self._compute)
                old = self._snap
                changed = frozenset(k for k, v in full.items() if old.full.get(k) != v) | frozenset(
                    k for k, v in public.items() if old.public.get(k) != v)
                self._snap = DeviceSnapshot(old.version + 1, full, public)
                self._changed.append((self._snap.version, changed))
                self._at = time.monotonic()
                self.computed += 1
        return self._snap

    def changed_since(self, version: int) -> frozenset[str] | None:
        """Device ids changed after ``version`` (None: too long ago, reload)."""
        if version == self._snap.version:
            return frozenset()
        kept = [c for v, c in self._changed if v > version]
        if not self._changed or self._changed[0][0] > version + 1:
            return None
        return frozenset().union(*kept)

    def close(self) -> None:
        """Stop the thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)
