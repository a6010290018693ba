"""The embedded MQTT broker of the zero-setup mode (amqtt, pure Python).

Layer: adapters. Only for a laptop or a small site: amqtt drains about 3k QoS 1
messages/s here (shared/MEASURED.md), Mosquitto about 30x that. A deployment
points ``--mqtt`` at a real broker instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from amqtt.broker import Broker

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """An amqtt broker on one loopback TCP listener, run on the caller's event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        """Args: host and port to listen on."""
        self.host = host
        self.port = port
        self._broker: Broker | None = None

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }

    async def start(self) -> None:
        """Start listening; returns once the port accepts connections."""
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(self._config())
        await self._broker.start()
        log.info("embedded MQTT broker on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop the broker and close every connection."""
        if self._broker is not None:
            with contextlib.suppress(Exception):  # amqtt may raise on an already-closed session
                await asyncio.wait_for(self._broker.shutdown(), timeout=5)
            self._broker = None


class BrokerThread:
    """The embedded broker on its own thread and event loop, so a busy broker never
    slows the API or the alert side."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        """Args: host and port to listen on."""
        self.broker = EmbeddedBroker(host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start and wait until the broker listens.

        Raises:
            OSError: the port could not be bound (or the broker did not start).
        """
        self._thread = threading.Thread(target=self._run, name="gridwatch-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise OSError("embedded broker did not start in time")
        if self._error is not None:
            raise OSError(f"embedded broker failed to start: {self._error}") from self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.broker.start())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self.broker.stop())
        loop.close()

    def stop(self) -> None:
        """Stop the broker and its thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
