"""The scenario library in process: every bundled scenario played against the alarm
core in memory (the ingest's decoder, the rules, the alert fold, escalation; a manual
clock; no broker, no SQLite, no thread), and expectations that are wrong failing with
their reasons, so a pass here means the checks ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridwatch.in_process import InProcessDriver
from simulators.scenario import SITES_DIR, Result, Runner, bundled, field_at, load_scenario, table


def play(path: Path) -> tuple[Result, InProcessDriver]:
    loaded = load_scenario(path)
    driver = InProcessDriver(loaded.site_path)
    return Runner(driver).run(loaded), driver


@pytest.mark.parametrize("path", bundled(), ids=lambda p: p.stem)
def test_bundled_scenario_in_process(path):
    result, _driver = play(path)
    assert result.passed, table([result])
    assert result.outcomes and all(o.status == "pass" for o in result.outcomes), table([result])


WRONG = f"""
site: {SITES_DIR / "small.yaml"}
name: Wrong on purpose, in process
duration_s: 900
events:
  - {{at: 0, device: gas-101, state: {{lel_pct: 30}}}}
  - {{at: 0, topic: gridwatch/small/gas-101/state, payload: '{{{{ not json'}}
expect:
  - name: right - critical at once, to grid 1, escalated past the grid leader
    alert: {{device: gas-101, hazard: gas}}
    severity: critical
    assignee: w-g1
    within_s: 1
    told: [w-g1, w-g1a, w-lead, w-deputy]
    timeline: [raised, escalated]
    fields: {{escalation.level: 2, facts.building_id: b1}}
  - name: wrong severity
    alert: {{device: gas-101, hazard: gas}}
    severity: warning
  - name: wrong - claims nothing happened
    no_alert: {{device: gas-101}}
  - name: wrong - too early
    alert: {{device: gas-101, hazard: gas}}
    after_s: 60
  - name: wrong - a grid 2 worker
    alert: {{device: gas-101, hazard: gas}}
    assignee: w-g2
  - name: wrong - the head told, the assistant not
    alert: {{device: gas-101, hazard: gas}}
    told: [w-head]
    not_told: [w-g1a]
  - name: wrong - acknowledged
    alert: {{device: gas-101, hazard: gas}}
    timeline: [acknowledged]
    not_timeline: [escalated]
  - name: wrong fields
    alert: {{device: gas-101, hazard: gas}}
    fields: {{escalation.level: 3, escalation.no_such_key: 1}}
  - name: wrong dead letters
    dead_letters: {{not_json: 2}}
"""


def test_wrong_expectations_fail_in_process_with_their_reasons(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG, encoding="utf-8")
    result, _driver = play(path)
    assert result.error is None, table([result])
    by_name = {o.name: o for o in result.outcomes}
    assert by_name["right - critical at once, to grid 1, escalated past the grid leader"].status == "pass", \
        table([result])
    failed = {name: o.detail for name, o in by_name.items() if o.status == "fail"}
    assert set(failed) == set(by_name) - {"right - critical at once, to grid 1, escalated past the grid leader"}
    assert failed["wrong severity"] == "severity critical (expected warning)"
    assert failed["wrong - claims nothing happened"].startswith("got #")
    assert "before +60 s" in failed["wrong - too early"]
    assert failed["wrong - a grid 2 worker"] == "assigned to w-g1 (expected w-g2)"
    assert "lacks ['w-head']" in failed["wrong - the head told, the assistant not"]
    assert "has ['w-g1a']" in failed["wrong - the head told, the assistant not"]
    assert "lacks ['acknowledged']" in failed["wrong - acknowledged"]
    assert "has ['escalated']" in failed["wrong - acknowledged"]
    assert "escalation.level = 2 (expected 3)" in failed["wrong fields"]
    assert "escalation.no_such_key = (none) (expected 1)" in failed["wrong fields"]
    assert failed["wrong dead letters"] == "not_json: 1 (expected 2)"


@pytest.mark.parametrize(("event", "error"), [
    ("{at: 5, act: {device: gas-201, action: ack}}", "at 5 s: no open alert on gas-201 to ack"),
    ("{at: 5, act: {device: gas-101, action: close}}", "at 5 s: close refused: cannot close"),
    ("{at: 6, hush: {device: smoke-101}}", "at 6 s: hush refused: smoke-101 is not sounding"),
])
def test_an_action_the_service_refuses_stops_the_run_naming_it(tmp_path, event, error):
    path = tmp_path / "refused.yaml"
    path.write_text(f"site: {SITES_DIR / 'small.yaml'}\nname: x\nduration_s: 60\nevents:\n"
                    "  - {at: 0, device: gas-101, state: {lel_pct: 30}}\n"
                    f"  - {event}\n"
                    "expect:\n  - {no_alert: {device: gas-201}}\n", encoding="utf-8")
    result, _driver = play(path)
    assert result.error is not None and result.error.startswith(f"ScenarioError: {error}"), result.error
    assert not result.passed


def test_field_paths_reach_into_nested_records():
    alert = {"escalation": {"level": 2, "to": ["grid_leader"]}, "facts": {"kind": "gas"}, "value": None}
    assert field_at(alert, "escalation.level") == 2
    assert field_at(alert, "escalation.to") == ["grid_leader"]
    assert field_at(alert, "value") is None
    missing = field_at(alert, "escalation.level.deeper")
    assert missing != 2 and missing is not None and missing == field_at(alert, "nope")


def test_the_driver_decodes_as_the_ingest_and_sweeps_as_the_manual_clock():
    driver = InProcessDriver(SITES_DIR / "small.yaml", start=1_800_000_000.0)
    driver.publish("gridwatch/small/gas-201/state", b'{"lel_pct": 30, "seq": 1}')
    driver.publish("gridwatch/small/gas-201/state", b'{"lel_pct": 30, "seq": 1}')  # a redelivery
    driver.publish("zigbee2mqtt/kitchen_gas_103", b'{"gas": true}')
    driver.publish("gridwatch/small/no-such/state", b'{"lel_pct": 1}')
    assert driver.dead_letters() == {"unknown_device": 1}
    assert [a["device_id"] for a in driver.alerts(None, "gas")] == ["gas-103", "gas-201"]
    assert driver.alerts("gas-201", "gas")[0]["raised_at"] == 1_800_000_000.0
    before = len(driver.notifier.notices)
    assert driver.advance(180.0) == 1_800_000_180.0  # the grid leader's step is due: the sweep ran it
    assert len(driver.notifier.notices) > before
    assert "escalated" in driver.timeline(driver.alerts("gas-201", "gas")[0]["id"])
