"""The embedded MQTT broker of the zero-setup mode (amqtt, pure Python).

Layer: adapters. Only for a laptop or a small site: amqtt drains about 3k QoS 1
messages/s here (shared/MEASURED.md), Mosquitto about 30x that. A deployment
points ``--mqtt`` at a real broker instead.

Every client must log in: the broker draws a random password per run for each of
its users (the service, the bundled simulator) and hands them over in-process
(:meth:`EmbeddedBroker.login`); anonymous clients and wrong passwords are
refused, so no other local process can take the ingest's client id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session
from amqtt.utils import gen_client_id

log = logging.getLogger(__name__)


# The users of the embedded broker: the service itself and the bundled simulator.
USERS = ("gridwatch", "simulator")


class PasswordAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
    """amqtt authentication against an in-memory user → password table."""

    @dataclass
    class Config:
        """The table, handed over in-process (never written anywhere)."""

        users: dict[str, str] = field(default_factory=dict)

    async def authenticate(self, *, session: Session) -> bool:
        """True only for a known user with its password (compared in constant time)."""
        users: dict[str, str] = self._get_config_option("users", {}) or {}
        expected = users.get(session.username or "")
        given = session.password or ""
        ok = expected is not None and hmac.compare_digest(expected.encode(), given.encode())
        if not ok:
            log.warning("embedded broker refused client %r (user %r)",
                        session.client_id, session.username)
        return ok


class _LoginFirstBroker(Broker):  # type: ignore[misc]  # amqtt ships no type hints
    """amqtt 0.12 drops a client id's session, and takes over its connection, before it
    checks the newcomer's password: a refused client could still cut the ingest off.
    This broker refuses a wrong login before it touches any session (the rest is
    amqtt's own ``_initialize_client_session``)."""

    async def _initialize_client_session(
        self, reader: Any, writer: Any, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, Session]:
        try:
            handler, session = await BrokerProtocolHandler.init_from_connect(
                reader, writer, self.plugins_manager)
        except (AMQTTError, MQTTError, NoDataError) as exc:
            with contextlib.suppress(Exception):
                await writer.close()
            raise AMQTTError(f"{remote_address}:{remote_port}: no usable CONNECT: {exc}") from exc
        if not await self._authenticate(session, None):
            handler.attach(session, reader, writer)
            with contextlib.suppress(Exception):
                await handler.mqtt_connack_authorize(False)
            with contextlib.suppress(Exception):
                await writer.close()
            raise AMQTTError(f"{remote_address}:{remote_port}: login refused")
        if session.clean_session:
            if session.client_id:
                await self._delete_session(session.client_id)
            else:
                session.client_id = gen_client_id()
            session.parent = 0
        elif session.client_id in self._sessions:
            old, _ = self._sessions[session.client_id]
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "keep_alive",
                         "username", "password"):
                setattr(old, name, getattr(session, name))
            session = old
            session.parent = 1
        else:
            session.parent = 0
        delay = self.config.get("timeout-disconnect-delay", 0)
        if session.keep_alive > 0 and isinstance(delay, int):
            session.keep_alive += delay
        return handler, session


class EmbeddedBroker:
    """An amqtt broker on one loopback TCP listener, run on the caller's event loop.

    Attributes:
        credentials: user → password, drawn at random for this run.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        """Args: host and port to listen on."""
        self.host = host
        self.port = port
        self.credentials = {user: secrets.token_urlsafe(24) for user in USERS}
        self._broker: Broker | None = None

    def login(self, user: str) -> tuple[str, str]:
        """(username, password) of one of :data:`USERS`."""
        return user, self.credentials[user]

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                f"{__name__}.PasswordAuthPlugin": {"users": dict(self.credentials)},
            },
        }

    async def start(self) -> None:
        """Start listening; returns once the port accepts connections."""
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = _LoginFirstBroker(self._config())
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
        self.login = self.broker.login
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
