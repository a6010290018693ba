"""The site generator: sizes, determinism, the responsibility chain and the device mix."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from topology.generate import WUYANG, dump_site_yaml, generate_site, generate_wuyang, split_count
from topology.index import SiteIndex
from topology.load import SAMPLE_SITE, load_site, parse_site

SMALL = {"compounds": 2, "buildings": 5, "units": 12, "households": 160, "grids": 2, "seed": 7}


def _households(site):
    return [h for b in site.buildings for u in b.units for h in u.households]


def test_small_site_validates_with_the_asked_figures():
    site = parse_site(generate_site(**SMALL))
    assert len(site.compounds) == 2
    assert len(site.buildings) == 5
    assert sum(len(b.units) for b in site.buildings) == 12
    assert len(_households(site)) == 160
    assert len(site.grids) == 2


def test_same_seed_same_site_other_seed_other_site():
    assert generate_site(**SMALL) == generate_site(**SMALL)
    assert generate_site(**{**SMALL, "seed": 8}) != generate_site(**SMALL)


def test_every_grid_has_worker_assistant_leader_with_the_right_roles():
    site = parse_site(generate_site(**SMALL))
    roles = {w.id: w.role for w in site.workers}
    for g in site.grids:
        assert roles[g.worker] == "grid_worker"
        assert roles[g.assistant] == "grid_assistant"
        assert roles[g.leader] == "grid_leader"
    assert roles[site.community.head] == "community_head"
    assert roles[site.community.deputy] == "deputy"
    for pc in site.property_companies:
        assert roles[pc.staff[0]] == "property_manager"
        assert {roles[s] for s in pc.staff[1:]} == {"maintenance"}


def test_micro_grids_hold_20_to_30_households_of_one_grid():
    site = parse_site(generate_site(**{**SMALL, "households": 400}))
    members: Counter[str] = Counter()
    for b in site.buildings:
        for u in b.units:
            for h in u.households:
                mg = h.micro_grid or u.micro_grid
                assert mg is not None
                assert next(m for m in site.micro_grids if m.id == mg).grid == b.grid
                members[mg] += 1
    assert set(members) == {m.id for m in site.micro_grids}
    assert all(20 <= n <= 30 for n in members.values()), members


def test_device_mix_and_elderly_households():
    site = parse_site(generate_site(**{**SMALL, "households": 2000, "units": 120, "buildings": 30}))
    households = _households(site)
    kinds = Counter(d.kind.value for h in households for d in h.devices)
    n = len(households)
    assert kinds["gas"] == n  # a gas detector in every kitchen
    assert 0.5 < kinds["smoke"] / n < 0.7
    assert 0.15 < kinds["co"] / n < 0.25
    assert 0.25 < kinds["water"] / n < 0.35
    elderly = [h for h in households if h.elderly_alone]
    assert 0.07 < len(elderly) / n < 0.13
    for h in elderly:
        assert 1 <= len(h.contacts) <= 2
        assert any(d.kind == "door" for d in h.devices)
    for b in site.buildings:
        for u in b.units:
            assert [d.kind for d in u.devices] == ["door"]


def test_notify_base_url_gives_every_worker_a_json_url():
    data = generate_site(**SMALL, notify_base_url="http://127.0.0.1:8765/hook")
    site = parse_site(data)
    for w in site.workers:
        assert w.notify == [f"json://127.0.0.1:8765/hook/{w.id}"]
    assert all(w["notify"] == [] for w in generate_site(**SMALL)["workers"])


def test_z2m_names_only_on_known_models():
    site = parse_site(generate_site(**SMALL, z2m=True))
    for p in SiteIndex(site).devices:
        assert (p.device.z2m_name is not None) == (p.device.model not in (None, "ZB-GW"))


def test_yaml_round_trip(tmp_path):
    data = generate_site(**SMALL)
    path = tmp_path / "site.yaml"
    path.write_text(dump_site_yaml(data), encoding="utf-8")
    assert load_site(path) == parse_site(data)


@pytest.mark.parametrize(
    "figures",
    [
        {"grids": 6},  # more grids than buildings
        {"households": 3},  # fewer households than units
        {"compounds": 0},
    ],
)
def test_impossible_figures_are_refused(figures):
    with pytest.raises(ValueError):
        generate_site(**{**SMALL, **figures})


def test_split_count_sums_and_is_positive():
    rng = np.random.default_rng(1)
    for total, parts in ((10, 10), (3592, 267), (68, 9)):
        sizes = split_count(total, parts, rng)
        assert sum(sizes) == total
        assert min(sizes) >= 1


def test_bundled_sample_has_the_wuyang_figures():
    site = load_site(SAMPLE_SITE)
    assert len(site.compounds) == WUYANG.compounds
    assert len(site.buildings) == WUYANG.buildings
    assert sum(len(b.units) for b in site.buildings) == WUYANG.units
    assert len(_households(site)) == WUYANG.households
    assert len(site.grids) == WUYANG.grids


def test_bundled_sample_is_what_the_generator_makes():
    assert SAMPLE_SITE.read_text(encoding="utf-8") == dump_site_yaml(generate_wuyang())
