"""A scenario's values are bounded (issue 14: a 649-byte YAML bomb in a state took
``scenario run`` to 5.5 GB)."""

from __future__ import annotations

import pytest

from simulators.scenario import SCENARIO_DIR, ScenarioError, load_scenario

BOMB = """\
name: bomb
site: small
duration_s: 60
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
events:
  - {at: 0, device: gas-101, state: {lel_pct: *h}}
expect:
  - {alert: {device: gas-101}}
"""


def write(tmp_path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_a_yaml_bomb_is_refused_before_it_expands(tmp_path):
    with pytest.raises(ScenarioError, match="aliases"):
        load_scenario(write(tmp_path, BOMB))


@pytest.mark.parametrize("state", [
    "{lel_pct: [1, 2, 3]}",  # not a scalar
    "{lel_pct: {nested: 1}}",
    "{" + ", ".join(f"k{i}: 1" for i in range(65)) + "}",  # too many keys
    "{note: " + "x" * 300 + "}",  # too long a string
])
def test_a_state_is_a_small_flat_object(tmp_path, state):
    text = (f"name: s\nsite: small\nduration_s: 60\nevents:\n  - {{at: 0, device: gas-101, state: {state}}}\n"
            "expect:\n  - {alert: {device: gas-101}}\n")
    with pytest.raises(ScenarioError, match="not a valid scenario"):
        load_scenario(write(tmp_path, text))


def test_every_bundled_scenario_still_loads():
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        assert load_scenario(path).scenario.events is not None
