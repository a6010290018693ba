"""The rules: section of the site file becomes per-device parameters."""

from __future__ import annotations

import math

import pytest
import yaml
from pydantic import ValidationError

from alerts.rules.params import DEFAULTS, NAMES, build_params, co_rates, params_for_site
from sensors.errors import SiteError
from sensors.fields import DeviceKind as K
from topology.index import SiteIndex, device_table
from topology.load import SAMPLE_SITE, load_site
from topology.model import Site
from topology.rules import RuleOverrides, RuleSet

from .conftest import make_table

DEVS = [(K.GAS, 0, 0, False), (K.GAS, 1, 0, False), (K.DOOR, -1, 0, False), (K.DOOR, 0, 0, True),
        (K.WATER, 1, 0, False)]


def test_defaults_cite_a_source_and_match_the_schema():
    assert set(NAMES) == set(RuleSet.model_fields)
    assert all(src for _, src in DEFAULTS.values())


def test_kind_and_place_kind_defaults():
    p = build_params(make_table(DEVS))
    assert p.device("unprotected_s", 0) == 86_400 and math.isinf(p.device("unprotected_s", 4))
    assert p.device("door_open_max_s", 2) == 600 and math.isinf(p.device("door_open_max_s", 3))
    assert p.device("stuck_ignore_zero", 0) == 1.0 and p.device("stuck_ignore_zero", 4) == 0.0


def test_resolution_order_site_kind_place_device():
    ov = RuleOverrides.model_validate(yaml.safe_load("""
defaults: {gas_warn_lel: 4, offline_margin_s: 60}
kinds: {gas: {gas_warn_lel: 6}}
places: {b1: {gas_warn_lel: 7}, h1: {gas_warn_lel: 8}}
devices: {d0: {gas_warn_lel: 9}}
"""))
    table = make_table(DEVS)
    chains = [("b1", "h0"), ("b1", "h1"), ("b1",), ("b1", "h0"), ("b1", "h1")]
    p = build_params(table, ov, chains)
    assert [p.device("gas_warn_lel", i) for i in range(2)] == [9, 8]
    assert p.device("gas_warn_lel", 2) == 7  # a door: place beats kind (kind is gas only)
    assert p.device("offline_margin_s", 4) == 60
    assert len(p.co_rate) == len(set(p.profile.tolist()))


def test_overrides_are_strict():
    with pytest.raises(ValidationError):
        RuleOverrides.model_validate({"defaults": {"gas_warn_pct": 5}})
    with pytest.raises(ValidationError):
        RuleOverrides.model_validate({"kinds": {"toaster": {}}})
    with pytest.raises(ValidationError):
        RuleOverrides.model_validate({"co_curve": [[50, 60], [40, 70]]})


def test_site_file_rules_section_and_unknown_ids():
    site = load_site(SAMPLE_SITE)
    data = site.model_dump(mode="json")
    dev = SiteIndex(site).devices[0]
    data["rules"] = {"devices": {dev.id: {"maintenance": True}},
                     "places": {dev.building_id: {"welfare_warn_s": 43_200}}}
    index = SiteIndex(Site.model_validate(data))
    p = params_for_site(index, device_table(index))
    assert p.device("maintenance", 0) == 1.0 and p.device("welfare_warn_s", 0) == 43_200
    assert p.tz_offset_s == 8 * 3600
    data["rules"] = {"places": {"nowhere": {}}}
    index = SiteIndex(Site.model_validate(data))
    with pytest.raises(SiteError, match="nowhere"):
        params_for_site(index, device_table(index))


def test_co_rates_meet_the_curve():
    rates = co_rates([(30, math.inf), (100, 25.0)], 320.0, 1.0)
    tau = 320 * 60 / math.log(2)
    assert rates[0] == 0 and math.isclose(rates[1] * tau, 0.5)
    assert math.isclose(rates[2] * tau * -math.expm1(-25 * 60 / tau), 1.0)


def test_readme_example_is_a_valid_rules_section():
    from pathlib import Path

    import alerts.rules

    text = (Path(alerts.rules.__file__).parent / "README.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    site = load_site(SAMPLE_SITE)
    data = site.model_dump(mode="json") | yaml.safe_load(block)
    index = SiteIndex(Site.model_validate(data))
    p = params_for_site(index, device_table(index))
    door = index.device_index["c1-b01-u1-101-door"]
    assert p.device("maintenance", door) == 1.0 and p.device("door_night_end_h", door) == 6
