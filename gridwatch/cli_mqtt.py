"""The broker flags shared by ``gridwatch simulate`` and ``gridwatch scenario run``:
TLS files and a password file, each with the environment variable ``gridwatch run``
reads (``GRIDWATCH_MQTT_CA_FILE``, ..., ``GRIDWATCH_MQTT_PASSWORD``).

Layer: composition root (command line).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ingest.connection import BrokerAddress, parse_broker_url, read_secret_file

# flag → (argparse dest, environment variable)
FLAGS = {
    "--mqtt-ca-file": ("mqtt_ca_file", "GRIDWATCH_MQTT_CA_FILE",
                       "CA certificate the broker's must chain to (mqtts://; default the system's)"),
    "--mqtt-cert-file": ("mqtt_cert_file", "GRIDWATCH_MQTT_CERT_FILE", "client certificate (mqtts://)"),
    "--mqtt-key-file": ("mqtt_key_file", "GRIDWATCH_MQTT_KEY_FILE", "its key (mqtts://)"),
    "--mqtt-password-file": ("mqtt_password_file", "GRIDWATCH_MQTT_PASSWORD_FILE",
                             "file holding the MQTT password (or GRIDWATCH_MQTT_PASSWORD)"),
}


def add_mqtt_flags(parser: Any) -> None:
    """Add the TLS and password-file flags to ``parser``."""
    for flag, (dest, env, text) in FLAGS.items():
        parser.add_argument(flag, dest=dest, type=Path, metavar="FILE", help=f"{text}; env {env}")


def broker_from_args(url: str, args: argparse.Namespace) -> BrokerAddress:
    """The broker ``url`` names, with the TLS files and password the flags or the
    environment give (flags win; the URL's own password wins over both).

    Raises:
        MqttConfigError: not a usable URL, or a file that cannot be read.
    """

    def path(dest: str, env: str) -> Path | None:
        given = getattr(args, dest, None)
        if given is None and os.environ.get(env):
            given = Path(os.environ[env])
        return given if isinstance(given, Path) else None

    files = {dest: path(dest, env) for dest, env, _ in FLAGS.values()}
    password_file = files.pop("mqtt_password_file")
    password = os.environ.get("GRIDWATCH_MQTT_PASSWORD") or None
    if password_file is not None:
        password = read_secret_file(password_file)
    return parse_broker_url(url, ca_file=files["mqtt_ca_file"], cert_file=files["mqtt_cert_file"],
                            key_file=files["mqtt_key_file"], password=password)
