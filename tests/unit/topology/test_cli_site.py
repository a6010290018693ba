"""`gridwatch site ...` through `cli_site.register` on a fresh argparse parser."""

from __future__ import annotations

import argparse
import json

import pytest

from gridwatch import cli_site
from topology.load import SAMPLE_SITE, load_site

SMALL = [
    "--compounds",
    "1",
    "--buildings",
    "2",
    "--units",
    "4",
    "--households",
    "50",
    "--grids",
    "1",
]


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="gridwatch")
    sub = parser.add_subparsers(dest="command")
    cli_site.register(sub)
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_prints_a_summary(capsys):
    code, out, _ = _run(["site", "validate", str(SAMPLE_SITE)], capsys)
    assert code == 0
    assert "households       3,592" in out
    assert "gas            3,592" in out


def test_validate_bad_file_exits_1_with_the_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "community: {id: x, name: y}\nbuildings: [{id: b, name: b, compound: c, grid: g}]\n"
    )
    code, out, err = _run(["site", "validate", str(bad)], capsys)
    assert code == 1
    assert out == ""
    assert f"{bad}: buildings[0].compound: unknown compound 'c' (line 2)" in err.splitlines()


def test_generate_writes_a_valid_file(tmp_path, capsys):
    out_file = tmp_path / "small.yaml"
    code, _, err = _run(["site", "generate", *SMALL, "--seed", "3", "-o", str(out_file)], capsys)
    assert code == 0 and "wrote" in err
    site = load_site(out_file)
    assert sum(len(u.households) for b in site.buildings for u in b.units) == 50


def test_generate_to_stdout_and_refuses_impossible_sizes(capsys):
    code, out, _ = _run(["site", "generate", *SMALL], capsys)
    assert code == 0 and out.startswith("# GridWatch site file")
    code, _, err = _run(["site", "generate", *SMALL, "--grids", "5"], capsys)
    assert code == 2 and "grids <= buildings" in err
    assert "--grids 5" in err and "total for the whole community" in err  # what it got, and what they mean


def test_schema_prints_json(capsys):
    code, out, _ = _run(["site", "schema"], capsys)
    assert code == 0
    assert json.loads(out)["title"] == "GridWatch site file"


def test_site_without_a_command_shows_help(capsys):
    code, _, err = _run(["site"], capsys)
    assert code == 2 and "validate" in err


def test_help_is_written_for_a_person(capsys):
    with pytest.raises(SystemExit):
        _run(["site", "generate", "--help"], capsys)
    out = capsys.readouterr().out
    assert "Wuyang" in out and "--households N" in out
