"""Bad site files give `file: path: problem (line N)` messages, one line per problem."""

from __future__ import annotations

import re

import pytest

from sensors.errors import SiteError
from topology.load import load_site, parse_site

GOOD = """\
community: {id: demo, name: 示范社区, head: w1}
workers:
  - {id: w1, name: 王芳, role: grid_worker}
  - {id: w2, name: 李强, role: grid_assistant}
grids:
  - {id: g1, name: 第一网格, worker: w1, assistant: w2}
compounds:
  - {id: c1, name: 阳光花园}
buildings:
  - id: b1
    name: 1号楼
    compound: c1
    grid: g1
    units:
      - id: b1-u1
        name: 1单元
        households:
          - id: b1-u1-101
            room: "101"
            devices:
              - {id: d1, kind: gas, heartbeat_s: 1800}
              - {id: d2, kind: smoke}
"""


def _write(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path, text) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(SiteError) as info:
        load_site(path)
    return str(info.value)


def test_the_good_file_loads(tmp_path):
    site = load_site(_write(tmp_path, GOOD))
    assert site.buildings[0].units[0].households[0].devices[0].heartbeat_s == 1800


def test_unknown_grid_reference_names_file_path_value_and_line(tmp_path):
    msg = _error(tmp_path, GOOD.replace("grid: g1", "grid: g9"))
    path = tmp_path / "site.yaml"
    assert msg == f"{path}: buildings[0].grid: unknown grid 'g9' (line 13)"


def test_duplicate_device_id(tmp_path):
    msg = _error(tmp_path, GOOD.replace("{id: d2, kind: smoke}", "{id: d1, kind: smoke}"))
    assert msg.endswith(
        "buildings[0].units[0].households[0].devices[1].id: duplicate device id 'd1' (line 22)"
    )


def test_wrong_type_shows_the_value_and_line(tmp_path):
    msg = _error(tmp_path, GOOD.replace("heartbeat_s: 1800", "heartbeat_s: often"))
    assert re.fullmatch(
        r".*site\.yaml: buildings\[0\]\.units\[0\]\.households\[0\]\.devices\[0\]\.heartbeat_s: "
        r"Input should be a valid number.* \(got 'often'\) \(line 21\)",
        msg,
    ), msg


def test_unknown_kind_lists_the_choices(tmp_path):
    msg = _error(tmp_path, GOOD.replace("kind: smoke", "kind: smok"))
    assert "devices[1].kind: Input should be 'gas', 'co', 'smoke'" in msg
    assert "(got 'smok')" in msg


def test_bad_yaml_gives_line_and_column(tmp_path):
    msg = _error(tmp_path, GOOD.replace("    grid: g1\n", "    grid: [g1\n"))
    assert re.match(r".*site\.yaml: line \d+, column \d+: not valid YAML: ", msg), msg


def test_tab_indentation_is_bad_yaml_with_a_line(tmp_path):
    msg = _error(tmp_path, GOOD.replace("    name: 1号楼", "\tname: 1号楼"))
    assert "line 11" in msg and "not valid YAML" in msg


def test_every_problem_is_listed_one_per_line(tmp_path):
    text = GOOD.replace("grid: g1", "grid: g9").replace("compound: c1", "compound: c7")
    text = text.replace("assistant: w2", "assistant: w3")
    lines = _error(tmp_path, text).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(str(tmp_path / "site.yaml") + ": ") for line in lines)


def test_unknown_key_is_reported(tmp_path):
    msg = _error(
        tmp_path, GOOD.replace("    compound: c1\n", "    compound: c1\n    colour: red\n")
    )
    assert "buildings[0].colour: unknown key (misspelt?" in msg
    assert msg.endswith("(line 13)")


def test_missing_key_is_reported_at_its_parent(tmp_path):
    msg = _error(tmp_path, GOOD.replace("    name: 1号楼\n", ""))
    assert msg.endswith("buildings[0].name: required key is missing (line 10)")


def test_empty_file(tmp_path):
    assert "the file is empty" in _error(tmp_path, "")


def test_missing_file(tmp_path):
    with pytest.raises(SiteError, match="cannot read"):
        load_site(tmp_path / "nope.yaml")


def test_duplicate_z2m_name(tmp_path):
    text = GOOD.replace("{id: d1, kind: gas,", "{id: d1, kind: gas, z2m_name: k1,").replace(
        "{id: d2, kind: smoke}", "{id: d2, kind: smoke, z2m_name: k1}"
    )
    assert "devices[1].z2m_name: duplicate z2m_name 'k1'" in _error(tmp_path, text)


def test_parse_site_without_a_file_has_no_lines():
    with pytest.raises(SiteError) as info:
        parse_site({"community": {"id": "x y", "name": "n"}}, "inline")
    assert str(info.value).startswith("inline: community.id: String should match pattern")
    assert "(line" not in str(info.value)
