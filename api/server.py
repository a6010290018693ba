"""How the API is served: uvicorn's limits, and an HTTP/1.1 protocol that bounds
connections that never finish a request.

Layer: adapters. The composition root passes :func:`server_options` to
``uvicorn.Config``.

uvicorn times out idle keep-alive connections but not a request whose headers
never end: a slow client holding thousands of such sockets used every file
descriptor of the process, and then every notification failed too ("Too many
open files"). :class:`BoundedH11Protocol` adds two bounds:

* a connection must finish a request's headers within ``header_timeout_s`` of
  opening (or of its previous answer), else it is closed;
* at most ``max_connections`` are open: a new one over the cap closes the oldest
  connection that is still waiting for its request (a half-open one), or, when
  every one is busy answering, is itself closed at once.

Bodies are bounded by :mod:`api.guard`, headers by h11 (16 KiB in all).
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5.0
MAX_HEADER_BYTES = 16 * 1024


def default_max_connections() -> int:
    """A quarter of the process's file descriptors, at most 1024: the rest stay for
    SQLite, MQTT and the notification channels."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(1024, soft // 4))


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a connection cap (class
    attributes, set by :func:`server_options` through a subclass)."""

    header_timeout_s: float = HEADER_TIMEOUT_S
    max_connections: int = 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection; over the cap, make room or refuse."""
        self._opened_at = time.monotonic()
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        if len(self.connections) > self.max_connections and not self._evict_one():
            transport.abort()
            return
        self._arm()

    def _waiting(self) -> bool:
        """No request in progress: before the first one, or idle after an answer."""
        return self.cycle is None or self.cycle.response_complete

    def _evict_one(self) -> bool:
        waiting = [c for c in self.connections
                   if c is not self and isinstance(c, BoundedH11Protocol) and c._waiting()
                   and not c.transport.is_closing()]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._opened_at)
        oldest.transport.abort()
        return True

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.header_timeout_s, self._expire, self.cycle)

    def _expire(self, cycle: Any) -> None:
        if self.cycle is cycle and self._waiting() and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        """The next request's headers get their own deadline."""
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)


def server_options(settings: Any) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``: timeouts, limits, the bounded
    protocol, and which proxies' ``X-Forwarded-*`` headers are believed."""
    cap = int(getattr(settings, "http_max_connections", 0) or default_max_connections())
    protocol = type("GridWatchH11Protocol", (BoundedH11Protocol,),
                    {"max_connections": cap,
                     "header_timeout_s": float(getattr(settings, "http_header_timeout_s", HEADER_TIMEOUT_S))})
    proxies = trusted_proxies(settings.host_list("trusted_proxies"))
    return {
        "http": protocol,
        "timeout_keep_alive": int(KEEP_ALIVE_S),
        # uvicorn answers 503 from len(connections) >= limit; the protocol keeps
        # len(connections) <= cap by itself, so uvicorn's check only bounds running tasks
        "limit_concurrency": cap + 1,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or "",
        "server_header": False,
        "timeout_graceful_shutdown": 5,
    }


def trusted_proxies(values: list[str]) -> list[str]:
    """Addresses and networks as uvicorn takes them, each checked.

    Raises:
        ValueError: one is neither an address nor a network.
    """
    out = []
    for v in values:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise ValueError(f"trusted proxy {v!r} is not an address or network") from None
        out.append(v)
    return out
