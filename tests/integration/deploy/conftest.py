"""The deploy/ Mosquitto as it ships, on free loopback ports, with TLS files made by
deploy/mosquitto/make_certs.sh and credentials by deploy/mosquitto/make_credentials.py.

Layer: test support. :class:`DeployMosquitto` runs deploy/mosquitto/mosquitto.conf with
only its paths and the two listener ports moved; :class:`TlsClient` is a paho client
that waits for its CONNACK (or its failure) and records what it receives.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import paho.mqtt.client as mqtt
import pytest

from tests.servers import MosquittoServer, free_port

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
MAKE_CERTS = DEPLOY / "mosquitto" / "make_certs.sh"
DEVICES = ["gas-101", "smoke-101", "gas-201"]


def load_make_credentials() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_credentials", DEPLOY / "mosquitto" / "make_credentials.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_certs(out: Path, *names: str, ca_key_dir: Path | None = None) -> Path:
    """Run the shipped one-shot certificate script; returns ``out``."""
    if not shutil.which("openssl"):
        pytest.fail("openssl is not installed: apt-get install -y openssl", pytrace=False)
    env = {**os.environ, **({"CA_KEY_DIR": str(ca_key_dir)} if ca_key_dir else {})}
    subprocess.run(["sh", str(MAKE_CERTS), str(out), *names], check=True, env=env,
                   capture_output=True, timeout=60)
    return out


@dataclass
class Stack:
    """TLS files, credentials and the password of every user."""

    tls: Path
    creds: Path
    csv_dir: Path
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    root = tmp_path_factory.mktemp("deploy")
    tls = make_certs(root / "tls", "localhost", ca_key_dir=root / "ca")
    make = load_make_credentials()
    passwords = make.write_credentials(
        "tiny", DEVICES, root / "creds", service_password="svc-pw-0123456789",
        csv_dir=root / "private",
    )
    return Stack(tls, root / "creds", root / "private", passwords)


class DeployMosquitto(MosquittoServer):
    """Mosquitto run with deploy/mosquitto/mosquitto.conf; ``port`` is the device
    listener (8883 in the file), ``service_port`` the service listener (8884)."""

    def __init__(self, stack: Stack, *, conf_edit: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__()
        self.stack = stack
        self.service_port = free_port()
        self.conf_edit = conf_edit

    def _write_config(self) -> None:
        conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
        conf = conf.replace("/mosquitto/creds/", f"{self.stack.creds}/")
        conf = conf.replace("/mosquitto/tls/", f"{self.stack.tls}/")
        conf = conf.replace("/mosquitto/data/", f"{self.data_dir}/")
        conf = re.sub(r"^listener 8883$", f"listener {self.port} 127.0.0.1", conf, flags=re.M)
        conf = re.sub(r"^listener 8884$", f"listener {self.service_port} 127.0.0.1", conf,
                      flags=re.M)
        conf = conf.replace("log_dest stdout", f"log_dest file {self.log_path}")
        for old, new in self.conf_edit:
            assert old in conf, old
            conf = conf.replace(old, new)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            conf += "\nuser root\n"  # as root Mosquitto would drop to a user that cannot read tmp
        self.config_path.write_text(conf)

    def _accepts(self) -> bool:
        if not super()._accepts():
            return False
        try:
            with socket.create_connection((self.host, self.service_port), timeout=0.2):
                return True
        except OSError:
            return False


@pytest.fixture
def broker(stack: Stack) -> Iterator[DeployMosquitto]:
    with DeployMosquitto(stack) as b:
        yield b


class TlsClient:
    """A paho client over TLS that waits for its CONNACK and records what it receives.

    ``accepted`` is False when the broker refused the login; ``error`` holds the TLS
    or socket error when the connection never got that far.
    """

    def __init__(self, host: str, port: int, *, client_id: str, username: str | None = None,
                 password: str | None = None, ca: Path | None = None,
                 cert: tuple[Path, Path] | None = None, clean_session: bool = True) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=clean_session, protocol=mqtt.MQTTv311)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca is not None:
            ctx = ssl.create_default_context(cafile=str(ca))
            if cert is not None:
                ctx.load_cert_chain(str(cert[0]), str(cert[1]))
            self.client.tls_set_context(ctx)
        self.connack = threading.Event()
        self.disconnected = threading.Event()
        self.reason: mqtt.ReasonCode | None = None
        self.error: BaseException | None = None
        self.received: list[tuple[str, bytes]] = []
        self.marker = threading.Event()
        self.subscribed = threading.Event()

        def on_connect(client, userdata, flags, reason_code, properties):
            self.reason = reason_code
            self.connack.set()

        def on_message(client, userdata, msg):
            self.received.append((msg.topic, bytes(msg.payload)))
            if msg.topic.endswith("/marker"):
                self.marker.set()

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_disconnect = lambda *a: self.disconnected.set()
        try:
            self.client.connect(host, port)
        except (OSError, ssl.SSLError) as exc:
            self.error = exc
            return
        self.client.loop_start()
        self.connack.wait(5)

    @property
    def accepted(self) -> bool:
        return self.reason is not None and not self.reason.is_failure

    def topics(self) -> list[str]:
        return [t for t, _ in self.received]

    def close(self) -> None:
        if self.error is None:
            self.client.disconnect()
            self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:  # a refused handshake leaves it open
            sock.close()


def tls_handshake_error(host: str, port: int, ca: Path) -> BaseException | None:
    """The error of a bare TLS handshake trusting only ``ca`` (None: it succeeded)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    try:
        with socket.create_connection((host, port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=host):
            return None
    except (OSError, ssl.SSLError) as exc:
        return exc
