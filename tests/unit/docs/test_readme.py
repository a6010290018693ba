"""The README names only flags and endpoints that exist, and every setting of
``gridwatch run`` is a flag or says why not (issue 16: docs that cannot drift)."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import pytest

from gridwatch.cli import build_parser, demo_data_dir, not_flags, run_flags
from gridwatch.config import Settings

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ROUTERS = ("system", "auth", "devices", "alerts", "overview", "statistics", "users", "reports",
           "silences", "notifications", "modes")


def _parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.update({f"{name} {k}".strip(): v for k, v in _parsers(sub).items()})
    return out


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def test_every_flag_the_readme_names_exists():
    parsers = _parsers(build_parser())
    known = set().union(*(_options(p) for p in parsers.values()))
    gridwatch_text = re.sub(r"`(?:node|python|pip|apt-get) [^`]*`", "", README)  # other programs' flags
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", gridwatch_text))
    assert named, "the README names no flags?"
    assert sorted(named - known) == []


def test_the_run_row_of_the_readme_names_only_run_flags():
    row = next(line for line in README.splitlines() if line.startswith("| `gridwatch run"))
    run = _options(_parsers(build_parser())["run"])
    assert sorted(set(re.findall(r"--[a-z][a-z0-9-]+", row)) - run) == []


def test_every_setting_is_a_run_flag_or_says_why_not():
    flags = {name: flag for flag, name in run_flags()}
    run = _options(_parsers(build_parser())["run"])
    for name in Settings.model_fields:
        assert name in flags or not_flags().get(name), f"setting {name} has no flag and no reason"
        if name in flags:
            assert flags[name] in run
    assert set(not_flags()) <= set(Settings.model_fields)
    assert {"admin_token", "influx_password", "mqtt_password"} <= set(not_flags())
    assert "--mqtt-password" not in run and "--influx-token" in run


def test_run_flags_reach_the_settings(monkeypatch):
    args = build_parser().parse_args(["run", "--max-skew-s", "120", "--notify-retries", "5",
                                      "--notify-backoff-s", "0.5", "--no-console", "--clock", "manual"])
    got = {k: getattr(args, k) for _, k in run_flags() if getattr(args, k, None) is not None}
    s = Settings(**got)
    assert (s.max_skew_s, s.notify_retries, s.notify_backoff_s, s.console, s.clock) == (
        120.0, 5, 0.5, False, "manual")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--clock", "sundial"])


def _routes() -> set[tuple[str, str]]:
    out = set()
    for name in ROUTERS:
        module = importlib.import_module(f"api.routes.{name}")
        for router in (getattr(module, "router", None), getattr(module, "clock_router", None)):
            for r in getattr(router, "routes", []):
                for m in getattr(r, "methods", ()):
                    out.add((m, re.sub(r"\{[^}]+\}", "{}", r.path)))
    return out


def test_every_endpoint_the_readme_names_exists():
    routes = _routes()
    paths = {p for _, p in routes}
    named = re.findall(r"(?:(GET|POST|PUT|DELETE) )?(/api/[A-Za-z0-9_{}/.-]*[A-Za-z0-9_}])", README)
    assert len(named) > 10
    missing = []
    for method, path in named:
        norm = re.sub(r"\{[^}]+\}", "{}", path)
        if (method and (method, norm) not in routes) or (not method and norm not in paths):
            missing.append(f"{method} {path}".strip())
    assert missing == []


def test_the_readme_reconnect_backoff_matches_the_ingest():
    from ingest import mqtt

    src = Path(mqtt.__file__).read_text(encoding="utf-8")
    first = re.search(r"\bbackoff = ([\d.]+)\n", src)
    cap = re.search(r"min\(backoff \* 2, ([\d.]+)\)", src)
    assert first and cap, "ingest/mqtt.py no longer spells its reconnect backoff as this test reads it"
    lo, hi = float(first.group(1)), float(cap.group(1))
    assert f"reconnects with backoff ({lo:g} s doubling to {hi:g} s)" in README


def test_a_demo_run_gets_a_fresh_data_directory_and_keeps_the_newest_three(tmp_path):
    made = [demo_data_dir(tmp_path, 1_790_000_000.0 + i) for i in range(5)]
    assert len(set(made)) == 5 and all(d.parent == tmp_path / "demo" for d in made)
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [d.name for d in made[-3:]]
    again = demo_data_dir(tmp_path, 1_790_000_004.0)  # same second: still a new directory
    assert again != made[-1] and again.exists()


def test_the_readme_alert_line_is_what_the_console_prints_for_the_demo_leak():
    from types import SimpleNamespace

    from alerts.model import Alert, AlertStatus, Facts
    from alerts.rules.types import Severity
    from gridwatch.console import alert_line
    from topology.index import SiteIndex
    from topology.load import SAMPLE_SITE, load_site

    line = next(x for x in README.splitlines() if x.startswith("ALERT #"))
    index = SiteIndex(load_site(SAMPLE_SITE))
    device = next(d for d in index.devices if d.kind.value == "gas" and d.household_id)  # the demo's leak
    grid = index.grids[device.grid_id]
    a = Alert(id=1, key=f"{device.id}:gas", hazard="gas", severity=Severity.CRITICAL, status=AlertStatus.RAISED,
              active=True, device_id=device.id, place_id=device.place_id, grid_id=device.grid_id,
              assignee=grid.worker, raised_at=0.0, updated_at=0.0, value=26.0,
              facts=Facts(address=index.address(device)))
    assert alert_line(SimpleNamespace(index=index), SimpleNamespace(alert=a)) == line  # type: ignore[arg-type]
