"""Broker URLs, TLS files and passwords, as every MQTT client of GridWatch reads them."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from gridwatch.config import Settings
from ingest.connection import MqttConfigError, MqttTls, parse_broker_url


def test_urls_and_their_default_ports() -> None:
    plain = parse_broker_url("mqtt://u:p%40ss@broker:1884")
    assert (plain.host, plain.port, plain.username, plain.password, plain.tls) == (
        "broker", 1884, "u", "p@ss", None)
    tls = parse_broker_url("mqtts://svc@broker", ca_file=Path("/ca.pem"), password="from-file")
    assert (tls.port, tls.username, tls.password) == (8883, "svc", "from-file")
    assert tls.tls == MqttTls(Path("/ca.pem"))
    assert tls.describe() == "mqtts://svc@broker:8883"  # never the password
    assert parse_broker_url("localhost:1999").port == 1999
    assert parse_broker_url("mqtts://h").tls == MqttTls()  # the system's CAs
    assert parse_broker_url("mqtt://h", password="x").password is None  # no user, no password


@pytest.mark.parametrize(("url", "kw", "says"), [
    ("http://h", {}, "must look like"),
    ("mqtt://h:port", {}, "not a number"),
    ("mqtt://h", {"ca_file": Path("/ca.pem")}, "not mqtts"),
    ("mqtts://h", {"key_file": Path("/k.pem")}, "needs its certificate"),
])
def test_unusable_urls_say_why(url: str, kw: dict, says: str) -> None:
    with pytest.raises(MqttConfigError, match=says):
        parse_broker_url(url, **kw)


def test_tls_checks_the_broker_certificate_and_host_name() -> None:
    ctx = MqttTls().context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_tls_files_that_are_not_certificates_are_a_config_error(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate")
    with pytest.raises(MqttConfigError, match="not usable"):
        MqttTls(junk).context()


def test_settings_take_tls_and_the_password_from_files(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    s = Settings(mqtt="mqtts://gridwatch@mosquitto:8884", mqtt_ca_file=ca, mqtt_password_file=pw)
    assert s.mqtt_parts() == ("mosquitto", 8884, "gridwatch", "s3cret")
    assert s.mqtt_tls() == MqttTls(ca)
    with pytest.raises(ValidationError, match="not mqtts"):
        Settings(mqtt="mqtt://h:1883", mqtt_ca_file=ca)
    with pytest.raises(ValidationError, match="need --mqtt"):
        Settings(mqtt_ca_file=ca)
    with pytest.raises(ValidationError):
        Settings(mqtt="mqtts://h", mqtt_ca_file=tmp_path / "missing.crt")


def test_settings_read_secrets_from_a_secrets_directory(tmp_path: Path) -> None:
    (tmp_path / "gridwatch_mqtt_password").write_text("from-secret")
    s = Settings(mqtt="mqtts://gridwatch@h", _secrets_dir=tmp_path)  # type: ignore[call-arg]
    assert s.mqtt_parts()[3] == "from-secret"
