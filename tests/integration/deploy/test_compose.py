"""docker-compose.yml against the Compose Specification's JSON Schema (the copy that
the check-jsonschema package vendors from compose-spec/compose-spec) and for the
properties the stack promises; its Mosquitto healthcheck run on a real Mosquitto."""

from __future__ import annotations

import importlib.resources
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import DeployMosquitto, Stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
LONG_RUNNING = [n for n, s in SERVICES.items() if s.get("restart") == "unless-stopped"]


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text(encoding="utf-8"))


def mounts(service: str) -> dict[str, str]:
    """source → target of a service's volumes."""
    out = {}
    for v in SERVICES[service].get("volumes", []):
        source, target = v.split(":")[:2]
        out[source] = target
    return out


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(COMPOSE), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]
    broken = dict(COMPOSE, services={"x": {"image": "a", "depends_on": {"y": {"condition": "bad"}}}})
    assert list(validator.iter_errors(broken))  # the schema does check what it is given


def test_healthchecks_and_depends_on_conditions_everywhere() -> None:
    assert set(LONG_RUNNING) == {"mosquitto", "influxdb", "gridwatch", "grafana"}
    for name in LONG_RUNNING:
        assert SERVICES[name]["healthcheck"]["test"], name
    for name, service in SERVICES.items():
        for dep, how in service.get("depends_on", {}).items():
            assert isinstance(how, dict) and how["condition"] in (
                "service_healthy", "service_completed_successfully"), (name, dep)
            one_shot = SERVICES[dep].get("restart") == "no"
            assert how["condition"] == ("service_completed_successfully" if one_shot
                                        else "service_healthy"), (name, dep)
    assert set(SERVICES["gridwatch"]["depends_on"]) == {"certs", "mosquitto", "influxdb"}
    assert set(SERVICES["mosquitto"]["depends_on"]) == {"certs", "credentials"}


def test_only_what_users_need_is_published() -> None:
    published = {n: s.get("ports", []) for n, s in SERVICES.items() if s.get("ports")}
    assert published == {
        "mosquitto": ["8883:8883"],  # MQTT over TLS for devices and the bridge
        "gridwatch": ["127.0.0.1:8000:8000"],  # loopback: a reverse proxy adds HTTPS
        "grafana": ["127.0.0.1:3000:3000"],
    }
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    assert re.findall(r"^listener (\d+)", conf, flags=re.M) == ["8883", "8884"]
    assert "1883" not in conf


def test_secrets_come_from_files_never_from_the_environment_or_a_command_line(tmp_path: Path) -> None:
    secret_names = set(COMPOSE["secrets"])
    for name, spec in COMPOSE["secrets"].items():
        assert spec == {"file": f"./secrets/{name}"}
    subprocess.run(["sh", str(ROOT / "deploy" / "make-secrets"), str(tmp_path / "s")], check=True,
                   capture_output=True)
    assert {p.name for p in (tmp_path / "s").iterdir()} == secret_names
    used = {s for service in SERVICES.values() for s in service.get("secrets", [])}
    assert used == secret_names
    for name, service in SERVICES.items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert key.endswith(("_FILE", "_DIR")), (name, key)
                assert str(value).startswith("/run/secrets"), (name, key)
        words = [str(w) for w in [*service.get("command", []), *service.get("entrypoint", [])]]
        assert not any(re.match(r"mqtts?://[^/@]*:[^/@]*@", w) for w in words), name
        assert "--influx-token" not in words and "--admin-token" not in words, name
    gw = SERVICES["gridwatch"]
    assert gw["environment"]["GRIDWATCH_SECRETS_DIR"] == "/run/secrets"
    assert set(gw["secrets"]) == {"gridwatch_admin_token", "gridwatch_mqtt_password",
                                  "gridwatch_influx_token"}


def test_the_broker_mounts_neither_the_device_passwords_nor_the_ca_key() -> None:
    cred = SERVICES["credentials"]
    assert cred["command"][cred["command"].index("--csv-dir") + 1] == "/private"
    assert mounts("credentials")["mqtt-private"] == "/private"
    assert mounts("certs")["mqtt-ca"] == "/ca" and SERVICES["certs"]["environment"]["CA_KEY_DIR"] == "/ca"
    for name in SERVICES:
        if name not in ("credentials",):
            assert "mqtt-private" not in mounts(name), name
        if name != "certs":
            assert "mqtt-ca" not in mounts(name), name
    assert mounts("mosquitto")["./deploy/mosquitto/mosquitto.conf"] == (
        "/mosquitto/config/mosquitto.conf")
    assert all(v.endswith(":ro") for v in SERVICES["mosquitto"]["volumes"]
               if v.startswith(("mqtt-creds", "mqtt-tls", "./")))


def test_the_service_uses_the_service_listener_with_its_certificate() -> None:
    gw = SERVICES["gridwatch"]
    cmd = gw["command"]
    assert cmd[cmd.index("--mqtt") + 1] == "mqtts://gridwatch@mosquitto:8884"
    env = gw["environment"]
    assert (env["GRIDWATCH_MQTT_CA_FILE"], env["GRIDWATCH_MQTT_CERT_FILE"],
            env["GRIDWATCH_MQTT_KEY_FILE"]) == ("/tls/ca.crt", "/tls/service.crt", "/tls/service.key")
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    service_listener = conf.split("listener 8884", 1)[1].split("\n\n", 1)[0]
    assert "require_certificate true" in service_listener
    dockerfile = (ROOT / "Dockerfile").read_text()
    health = json.loads(re.search(r"HEALTHCHECK .*?CMD (\[[^\n]*\])", dockerfile, re.S).group(1))
    assert gw["healthcheck"]["test"] == ["CMD", *health]


def test_the_brokers_healthcheck_passes_on_a_running_broker_only(
    broker: DeployMosquitto, stack: Stack
) -> None:
    test = SERVICES["mosquitto"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    cmd = (test[1].replace("$$", "$").replace("/mosquitto/tls/", f"{stack.tls}/")
           .replace("/mosquitto/creds/", f"{stack.creds}/")
           .replace("-p 8883", f"-p {broker.port}"))
    assert shlex.split(cmd)[0] == "mosquitto_sub"
    ok = subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=20, check=False)
    assert ok.returncode == 0, ok.stderr
    broker.stop()
    down = subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=20, check=False)
    assert down.returncode != 0
