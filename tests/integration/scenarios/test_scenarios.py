"""The scenario library end to end: a handful of bundled scenarios, each on a fresh
embedded service (its own broker, the API, SQLite, the manual clock), chosen for what
only the whole service does; a scenario with wrong expectations failing with its
reasons (table, JUnit XML, exit status), embedded and in process; and the library
driving a separately started ``gridwatch run --clock manual`` on a real Mosquitto.
Every bundled scenario runs in process in ``tests/unit/scenarios/``."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from gridwatch.cli_scenario import run_embedded
from simulators.scenario import SITES_DIR, bundled, load_scenario, table
from tests.integration.harness import ROOT, ServiceProcess
from tests.servers import MosquittoServer

# What each needs of the whole service (the rest of the library runs only in process).
END_TO_END = {
    "duplicate_delivery": "one message delivered twice by the broker, decoded by the MQTT ingest",
    "z2m_door_battery_and_availability": "Zigbee2MQTT state and availability topics through the broker; "
                                         "an acknowledgement over HTTP",
    "escalation_full_chain": "escalation to the community head, notices through the dispatcher "
                             "and the notifications endpoint",
    "lifecycle_to_closed": "acknowledge, on site, resolve and close over HTTP",
    "maintenance_window_ends": "a maintenance window set over HTTP, kept in SQLite, ending",
    "smoke_hush_rearms": "a hush over HTTP, re-armed by the sweep",
    "welfare_away": "a household away over HTTP; a start at a local time",
    "maintenance_mode": "maintenance mode over HTTP, journaled",
}


@pytest.mark.parametrize("path", [p for p in bundled() if p.stem in END_TO_END], ids=lambda p: p.stem)
def test_bundled_scenario(path):
    result = run_embedded(load_scenario(path))
    assert result.passed, table([result])
    assert result.outcomes and all(o.status == "pass" for o in result.outcomes), table([result])


WRONG = """
name: Wrong on purpose
duration_s: 120
events:
  - {at: 0, device: gas-101, state: {lel_pct: 30}}
expect:
  - name: right - critical at once
    alert: {device: gas-101, hazard: gas}
    severity: critical
    within_s: 1
  - name: wrong severity
    alert: {device: gas-101, hazard: gas}
    severity: warning
  - name: wrong - claims nothing happened
    no_alert: {device: gas-101}
  - name: wrong - too early
    alert: {device: gas-101, hazard: gas}
    after_s: 60
  - name: wrong - a grid 2 worker
    alert: {device: gas-101, hazard: gas}
    assignee: w-g2
  - name: wrong - escalated within two minutes
    alert: {device: gas-101, hazard: gas}
    timeline: [escalated]
"""


def gridwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gridwatch.cli", *args], capture_output=True, text=True,
        timeout=240, cwd=ROOT, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
        check=False,
    )


def test_the_end_to_end_scenarios_exist():
    assert {p.stem for p in bundled()} >= set(END_TO_END)


@pytest.mark.parametrize("how", [[], ["--in-process"]], ids=["embedded", "in-process"])
def test_wrong_expectations_fail_with_their_reasons(tmp_path, how):
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG.replace("name: Wrong", f"site: {SITES_DIR / 'small.yaml'}\nname: Wrong"))
    junit = tmp_path / "out.xml"
    p = gridwatch("scenario", "run", str(path), "--junit", str(junit), *how)
    assert p.returncode == 1, p.stdout + p.stderr
    out = p.stdout
    assert "FAIL  Wrong on purpose" in out
    assert "pass  right - critical at once" in out
    assert "fail  wrong severity: severity critical (expected warning)" in out
    assert "fail  wrong - claims nothing happened: got #" in out
    assert "before +60 s" in out
    assert "assigned to w-g1 (expected w-g2)" in out
    assert "lacks ['escalated']" in out
    assert out.strip().splitlines()[-1] == "0 of 1 scenarios passed"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "6" and suite.get("failures") == "5"
    failed = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failed == ["wrong severity", "wrong - claims nothing happened", "wrong - too early",
                      "wrong - a grid 2 worker", "wrong - escalated within two minutes"]


def test_a_bad_file_exits_2_naming_it(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nduration_s: 10\nevents:\n  - {at: 0, device: gas-999, state: {}}\n"
                    "expect:\n  - {no_alert: {}}\n")
    p = gridwatch("scenario", "run", str(path))
    assert p.returncode == 2
    assert str(path) in p.stderr and "no device 'gas-999'" in p.stderr


def test_the_library_drives_a_running_service_on_mosquitto(tmp_path):
    """`scenario run --url` against `gridwatch run --clock manual` on a real broker:
    scenarios share the service, so they use devices of their own."""
    chosen = [bundled_path("tamper"), bundled_path("water_burst_pipe"),
              bundled_path("hostile_payloads"), bundled_path("z2m_gas_alarm")]
    token = "scenario-admin-token-0123456789abc"
    with MosquittoServer() as broker:
        svc = ServiceProcess(
            ["--site", str(SITES_DIR / "small.yaml"), "--data-dir", str(tmp_path / "data"),
             "--mqtt", broker.url, "--clock", "manual"],
            env={"GRIDWATCH_ADMIN_TOKEN": token}, log=tmp_path / "service.log",
        ).start()
        try:
            junit = tmp_path / "run.xml"
            p = gridwatch("scenario", "run", *map(str, chosen), "--url", svc.api, "--mqtt",
                          broker.url, "--junit", str(junit),
                          env={"GRIDWATCH_ADMIN_TOKEN": token})  # the token from the environment
            no_token = gridwatch("scenario", "run", str(chosen[0]), "--url", svc.api, "--mqtt",
                                 broker.url, env={"GRIDWATCH_ADMIN_TOKEN": ""})
        finally:
            svc.stop()
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().splitlines()[-1] == "4 of 4 scenarios passed"
    assert no_token.returncode == 2 and "--token" in no_token.stderr
    root = ET.parse(junit).getroot()
    assert sum(int(s.get("tests", "0")) for s in root.findall("testsuite")) >= 5


def bundled_path(stem: str):
    return next(p for p in bundled() if p.stem == stem)
