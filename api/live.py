"""Live events for the pages: alert changes fanned out to every open event stream.

Layer: adapters. :class:`EventHub` is subscribed to :class:`alerts.service.AlertService`
(whose listeners run on worker threads) and hands each change to the asyncio
queue of every stream with ``call_soon_threadsafe``. A slow page loses events
rather than memory: its queue is bounded and it is told to reload its state.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from alerts.service import AlertChange

QUEUE_SIZE = 1000
CLOSE: Any = object()
OVERFLOW: Any = object()


@dataclass(eq=False)
class Subscription:
    """One open event stream."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

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

    def subscribe(self) -> Subscription:
        """A new subscription on the running loop (call from async code)."""
        sub = Subscription(asyncio.get_running_loop())
        with self._lock:
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
