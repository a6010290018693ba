"""`gridwatch simulate` wiring through `cli_simulate.register` (no broker needed here)."""

from __future__ import annotations

import argparse

import pytest

from gridwatch import cli_simulate
from tests.servers import free_port


def _parse(argv):
    parser = argparse.ArgumentParser(prog="gridwatch")
    sub = parser.add_subparsers(dest="command")
    cli_simulate.register(sub)
    return parser.parse_args(argv)


def test_register_adds_simulate_with_defaults():
    args = _parse(["simulate"])
    assert args.func is cli_simulate.cmd_simulate
    assert args.mqtt == "mqtt://127.0.0.1:1883" and args.rate == 1.0 and args.inject == []
    args = _parse(
        [
            "simulate",
            "--rate",
            "60",
            "--inject",
            "co:d1",
            "--inject",
            "silent:d2",
            "--inject-after",
            "3",
            "--duration",
            "9",
        ]
    )
    assert args.inject == ["co:d1", "silent:d2"] and args.duration == 9.0


def test_mqtt_urls():
    assert cli_simulate.parse_mqtt_url("mqtt://10.0.0.2:1884") == ("10.0.0.2", 1884, None, None)
    assert cli_simulate.parse_mqtt_url("mqtt://u:p@h") == ("h", 1883, "u", "p")
    assert cli_simulate.parse_mqtt_url("localhost:1999")[:2] == ("localhost", 1999)
    with pytest.raises(ValueError, match="mqtt://host:port"):
        cli_simulate.parse_mqtt_url("http://x")


def test_injections():
    assert cli_simulate.parse_injections(["gas_leak:a-b:c"]) == [("gas_leak", "a-b:c")]
    with pytest.raises(ValueError, match="HAZARD:DEVICE_ID"):
        cli_simulate.parse_injections(["gas_leak"])


def test_unknown_device_and_bad_site_exit_2(tmp_path, capsys):
    assert cli_simulate.cmd_simulate(_parse(["simulate", "--inject", "co:nope"])) == 2
    assert "no device 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("community: 3\n")
    assert cli_simulate.cmd_simulate(_parse(["simulate", "--site", str(bad)])) == 2


def test_no_broker_exits_1_with_a_hint(capsys):
    port = free_port()
    code = cli_simulate.cmd_simulate(_parse(["simulate", "--mqtt", f"mqtt://127.0.0.1:{port}"]))
    assert code == 1
    assert "cannot connect to the MQTT broker" in capsys.readouterr().err


def test_help_lists_the_hazards(capsys):
    with pytest.raises(SystemExit):
        _parse(["simulate", "--help"])
    out = capsys.readouterr().out
    assert "gas_leak" in out and "battery_low" in out and "HAZARD:DEVICE_ID" in out
