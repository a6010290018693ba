"""Scenario files: what the loader refuses (and how it says so), and how a timeline
expands into messages."""

from __future__ import annotations

import orjson
import pytest

from simulators.scenario import (
    Outcome,
    Result,
    ScenarioError,
    bundled,
    expand,
    junit_xml,
    load_scenario,
    table,
)


def write(tmp_path, text: str, name: str = "s.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_the_library_has_at_least_25_scenarios_and_every_one_loads():
    paths = bundled()
    assert len(paths) >= 25
    tags = set()
    for p in paths:
        sc = load_scenario(p).scenario
        tags.update(sc.tags)
    # every rule family, the escalation chain and the bad-input paths are covered
    assert {"gas", "co", "smoke", "heat", "water", "door", "welfare", "health", "escalation",
            "bad-input", "zigbee2mqtt", "must-not"} <= tags


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("name: x\nduration_s: 10\nexpect: []\n", "expect", "at least 1"),
    ("name: x\nduration_s: 10\nexpect:\n  - {alert: {device: gas-101}, no_alert: {device: gas-101}}\n",
     "expect.0", "exactly one of alert"),
    ("name: x\nduration_s: 10\nevents:\n  - {at: 0, state: {lel_pct: 1}}\nexpect:\n  - {no_alert: {}}\n",
     "events.0", "needs a device"),
    ("name: x\nduration_s: -1\nexpect:\n  - {no_alert: {}}\n", "duration_s", "greater than or equal"),
    ("name: x\nduration_s: 10\nbogus: 1\nexpect:\n  - {no_alert: {}}\n", "bogus", "Extra inputs"),
    ("name: x\nduration_s: 10\nstart_local: '25:00'\nexpect:\n  - {no_alert: {}}\n", "start_local",
     "pattern"),
    ("name: x\nduration_s: 10\nevents:\n  - {device: gas-101, state: {}, repeat: {every_s: 0.001, "
     "until_s: 2592000}}\nexpect:\n  - {no_alert: {}}\n", "(top)", "at most 200,000"),
])
def test_a_bad_scenario_is_refused_with_its_path_and_problem(tmp_path, text, where, problem):
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    msg = str(exc.value)
    assert str(p) in msg and where in msg and problem in msg


def test_names_the_site_does_not_have_are_refused(tmp_path):
    p = write(tmp_path, """
name: typos
duration_s: 10
events:
  - {at: 0, device: gas-110, state: {lel_pct: 30}}
  - {at: 1, z2m: {name: kitchen_gas_301, state: {gas: true}}}
  - {at: 2, act: {device: gas-101, action: ack, actor: w-nobody}}
  - {at: 3, away: {household: b9-u1-901}}
expect:
  - {alert: {device: gas-110}, told: [w-lead, w-ghost]}
""")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    msg = str(exc.value)
    for needle in ("events.0.device: no device 'gas-110'", "events.1.z2m.name",
                   "events.2.act.actor: no worker 'w-nobody'", "events.3.away.household",
                   "expect.0.alert.device", "no worker 'w-ghost'"):
        assert needle in msg
    assert "w-lead" not in msg.replace("w-lead,", "")  # a real worker is not flagged


def test_not_yaml_and_missing_site_are_refused(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(write(tmp_path, "name: [unclosed\n"))
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(binary)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (5 << 20))
    with pytest.raises(ScenarioError, match="larger than 4 MiB"):
        load_scenario(big)
    with pytest.raises(ScenarioError, match="site: no file"):
        load_scenario(write(tmp_path, "name: x\nsite: nowhere.yaml\nduration_s: 1\n"
                                      "expect:\n  - {no_alert: {}}\n", "t.yaml"))


def test_a_ramp_grows_and_caps_and_repeats_count_from_the_event(tmp_path):
    p = write(tmp_path, """
name: expand
duration_s: 600
events:
  - {at: 30, device: gas-101, ramp: {field: lel_pct, per_minute: 4, every_s: 15, until_s: 600, cap: 10}}
  - {at: 0, device: door-102, state: {open: false}, repeat: {every_s: 100, until_s: 300}}
  - {at: 0, device: gas-201, state: {lel_pct: 1}, skew_s: 7200}
  - {at: 0, device: gas-201, state: {lel_pct: 2}, no_ts: true}
  - {at: 50, act: {device: gas-101, action: ack}}
expect:
  - {no_alert: {}}
""")
    steps = expand(load_scenario(p).scenario, "small")
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    gas = [(s.at, orjson.loads(s.payload)) for s in steps if s.topic == "gridwatch/small/gas-101/state"]
    assert gas[0] == (30, {"lel_pct": 0.0, "seq": 1})
    assert gas[1] == (45, {"lel_pct": 1.0, "seq": 2})
    assert max(v["lel_pct"] for _, v in gas) == 10  # capped
    assert len(gas) == 41 and gas[-1][0] == 630
    door = [s.at for s in steps if "door-102" in s.topic]
    assert door == [0, 100, 200, 300]
    skews = [s.skew for s in steps if "gas-201" in s.topic]
    assert sorted(skews, key=lambda x: x is None) == [7200, None]
    assert [s.kind for s in steps if s.at == 50] == ["action"]


def test_the_reports_show_failures_with_their_reasons(tmp_path):
    good = Result(tmp_path / "a.yaml", "a", [Outcome("x", "pass"), Outcome("y", "skip", "no silences")])
    bad = Result(tmp_path / "b.yaml", "b <&>", [Outcome("x", "fail", "severity warning (expected critical)")])
    broke = Result(tmp_path / "c.yaml", "c", error="ScenarioError: cannot reach the broker")
    text = table([good, bad, broke])
    assert "PASS  a" in text and "FAIL  b <&>" in text and "severity warning (expected critical)" in text
    assert text.splitlines()[-1] == "1 of 3 scenarios passed"
    xml = junit_xml([good, bad, broke])
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    root = ET.fromstring(xml)
    suites = root.findall("testsuite")
    assert [s.get("failures") for s in suites] == ["0", "1", "0"]
    assert [s.get("errors") for s in suites] == ["0", "0", "1"]
    assert suites[0].find("testcase[@name='y']/skipped") is not None
    assert suites[1].get("name") == "b <&>"


def test_the_library_table_lists_every_scenario():
    from simulators.scenario import SCENARIO_DIR  # noqa: PLC0415

    readme = (SCENARIO_DIR / "README.md").read_text(encoding="utf-8")
    for p in bundled():
        assert f"[`{p.name}`]({p.name}) | {load_scenario(p).scenario.name} |" in readme, p.name
