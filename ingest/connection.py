"""How every GridWatch MQTT client reaches its broker: the URL forms, TLS files and
credentials, applied the same way to each paho client (the ingest, the alerts
publisher, the simulator, the scenario runner).

Layer: adapters. ``mqtt://[user[:password]@]host[:port]`` is plain TCP (port 1883
by default); ``mqtts://`` is TLS (port 8883 by default): the broker's certificate
must chain to ``ca_file`` (or to the system's CAs when none is given) and name
the host; a client certificate and key are optional. A password may come from
the URL, a file, or the caller's environment, never only from a command line.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from sensors.errors import ConfigError

PLAIN_SCHEMES = ("mqtt", "tcp")
TLS_SCHEMES = ("mqtts", "ssl")
DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


class MqttConfigError(ConfigError, ValueError):
    """A broker URL, TLS file or password file is not usable (said before connecting)."""


@dataclass(frozen=True, slots=True)
class MqttTls:
    """TLS settings of a client connection.

    Attributes:
        ca_file: PEM file of the CA(s) the broker's certificate must chain to
            (None: the system's trusted CAs).
        cert_file: PEM client certificate, for brokers that require one.
        key_file: its private key (PEM; None when it is inside ``cert_file``).
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2 or later, the broker's certificate and host name checked.

        Raises:
            MqttConfigError: a file is missing or not a certificate / key.
        """
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            if self.ca_file is not None:
                ctx.load_verify_locations(cafile=str(self.ca_file))
            if self.cert_file is not None:
                ctx.load_cert_chain(str(self.cert_file),
                                    str(self.key_file) if self.key_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise MqttConfigError(f"MQTT TLS files not usable: {exc}") from exc
        return ctx

    def apply(self, client: mqtt.Client) -> None:
        """Make ``client`` connect with TLS (call before ``connect``)."""
        client.tls_set_context(self.context())


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where a client connects and who it says it is.

    Attributes:
        host: broker host name or address (checked against its certificate with TLS).
        port: broker port.
        username: user name, or None to connect without one.
        password: password (None: none).
        tls: TLS settings; None for plain TCP.
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: MqttTls | None = None

    def configure(self, client: mqtt.Client) -> None:
        """Set ``client``'s credentials and TLS (call before ``connect``)."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls is not None:
            self.tls.apply(client)

    def describe(self) -> str:
        """``mqtts://user@host:port`` without the password (for logs and messages)."""
        scheme = "mqtts" if self.tls is not None else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def read_secret_file(path: Path) -> str:
    """The secret in ``path``: its first line, without the line ending.

    Raises:
        MqttConfigError: the file cannot be read or is empty.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MqttConfigError(f"cannot read the secret file {path}: {exc}") from exc
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise MqttConfigError(f"the secret file {path} is empty")
    return secret


def parse_broker_url(
    url: str,
    *,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    password: str | None = None,
) -> BrokerAddress:
    """The broker a URL names, with TLS files and a password from elsewhere.

    Args:
        url: ``mqtt://`` or ``mqtts://`` (also ``tcp://``, ``ssl://``), optionally with
            ``user[:password]@``; a bare ``host:port`` means ``mqtt://``.
        ca_file: CA file for ``mqtts://`` (None: the system's CAs).
        cert_file: client certificate for ``mqtts://``.
        key_file: its key.
        password: used when the URL has a user but no password (from a file or the
            environment).

    Raises:
        MqttConfigError: not a usable URL, TLS files given for plain ``mqtt://``, or a
            key without a certificate.
    """
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise MqttConfigError(f"must look like mqtt://host:port or mqtts://host:port, not {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise MqttConfigError(f"the port of {url!r} is not a number") from None
    tls: MqttTls | None = None
    if scheme in TLS_SCHEMES:
        if key_file is not None and cert_file is None:
            raise MqttConfigError("an MQTT key file needs its certificate file")
        tls = MqttTls(ca_file, cert_file, key_file)
    elif ca_file or cert_file or key_file:
        raise MqttConfigError(f"TLS files given, but {url!r} is not mqtts://")
    username = unquote(parts.username) if parts.username else None
    secret = unquote(parts.password) if parts.password is not None else password
    return BrokerAddress(parts.hostname, port, username, secret if username else None, tls)
