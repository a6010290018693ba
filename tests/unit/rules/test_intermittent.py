"""Hazards that come and go in spells shorter than their hold: a third spell within
``intermittent_s`` (10 min) of the one before raises the same hazard, detail
``intermittent``; one or two short blips raise nothing."""

from __future__ import annotations

from alerts.rules.types import Hazard
from sensors.fields import DeviceKind as K
from topology.rules import RuleOverrides, RuleSet

from .conftest import T0, batch, of

MIN = 60.0


def spells(e, dev, field, on, off, starts, length_s, every_s=2.0):
    """Readings of ``field``: ``on`` from each start for ``length_s`` (every
    ``every_s``), then ``off``; a sweep after each reading. Returns the transitions."""
    out = []
    for s in starts:
        t = s
        while t < s + length_s:
            out += e.evaluate(batch((dev, t, {field: on})), t) + e.sweep(t)
            t += every_s
        end = s + length_s
        out += e.evaluate(batch((dev, end, {field: off})), end) + e.sweep(end)
    return out


def test_water_wet_in_short_spells_is_an_intermittent_leak(engine_for):
    e = engine_for([(K.WATER, 0, 0, False)])
    # wet 6 s (under the 10 s debounce) every 2 minutes
    trs = spells(e, 0, "water_leak", 1, 0, [T0, T0 + 120, T0 + 240, T0 + 360], 6.0)
    assert of(trs, Hazard.WATER_LEAK) == [(0, "warning", T0 + 240, "intermittent")]
    # dry readings between spells do not clear it; 10 min after the last spell began do
    later = e.evaluate(batch((0, T0 + 500, {"water_leak": 0})), T0 + 500)
    later += e.sweep(T0 + 959) + e.sweep(T0 + 961)
    assert of(later, Hazard.WATER_LEAK) == [(0, None, T0 + 960, "")]


def test_a_splash_or_two_raise_nothing(engine_for):
    e = engine_for([(K.WATER, 0, 0, False)])
    trs = spells(e, 0, "water_leak", 1, 0, [T0, T0 + 300], 5.0)
    # a third spell 11 min after the second starts a new run
    trs += spells(e, 0, "water_leak", 1, 0, [T0 + 300 + 11 * MIN], 5.0)
    trs += e.sweep(T0 + 3600)
    assert of(trs, Hazard.WATER_LEAK) == []


def test_intermittent_leak_that_stays_wet_goes_critical_unless_acknowledged(engine_for):
    e = engine_for([(K.WATER, 0, 0, False), (K.WATER, 1, 0, False)])
    for dev in (0, 1):
        spells(e, dev, "water_leak", 1, 0, [T0, T0 + 60, T0 + 120], 4.0)
        assert e.condition(dev, Hazard.WATER_LEAK) == 2
    e.acknowledge(1, Hazard.WATER_LEAK, T0 + 130)
    # a dry reading while the intermittent leak holds keeps the acknowledgement
    e.evaluate(batch((1, T0 + 150, {"water_leak": 0})), T0 + 150)
    t = T0 + 200
    e.evaluate(batch((0, t, {"water_leak": 1}), (1, t, {"water_leak": 1})), t)
    trs = e.sweep(t + 601)
    assert of(trs, Hazard.WATER_LEAK) == [(0, "critical", t + 600, "unacknowledged")]
    assert e.condition(1, Hazard.WATER_LEAK) == 2  # acknowledged: stays a warning


def test_gas_crossing_its_levels_in_short_spells(engine_for):
    e = engine_for([(K.GAS, 0, 0, False), (K.GAS, 1, 0, False)])
    # 7 %LEL for 30 s (the warning needs 60 s), every 3 minutes
    trs = spells(e, 0, "lel_pct", 7, 0, [T0, T0 + 180, T0 + 360], 30.0, every_s=10.0)
    assert of(trs, Hazard.GAS) == [(0, "warning", T0 + 360, "intermittent")]
    # 12 %LEL for 10 s (critical needs 15 s): critical, intermittent
    trs = spells(e, 1, "lel_pct", 12, 0, [T0, T0 + 100, T0 + 200], 10.0, every_s=5.0)
    assert of(trs, Hazard.GAS) == [(1, "critical", T0 + 200, "intermittent")]
    # a later, higher spell of the run makes the warning critical
    trs = spells(e, 0, "lel_pct", 12, 0, [T0 + 480], 10.0, every_s=5.0)
    assert of(trs, Hazard.GAS) == [(0, "critical", T0 + 480, "intermittent")]
    # quiet for the clear hold after the last spell: it clears as a steady one does
    trs = e.sweep(T0 + 490 + 301)
    assert of(trs, Hazard.GAS) == [(0, None, T0 + 490 + 300, ""), (1, None, T0 + 210 + 300, "")]


def test_gas_cooking_blips_raise_nothing(engine_for):
    e = engine_for([(K.GAS, 0, 0, False)])
    trs = spells(e, 0, "lel_pct", 8, 0, [T0, T0 + 400], 30.0, every_s=15.0)
    trs += spells(e, 0, "lel_pct", 4, 0, [T0 + 450], 120.0, every_s=15.0)  # under the level
    assert of(trs + e.sweep(T0 + 3600), Hazard.GAS) == []


def test_co_spikes_over_100_ppm_are_an_intermittent_co_alarm(engine_for):
    e = engine_for([(K.CO, 0, 0, False)])
    # 150 ppm for a minute (the dose alarm needs 14), every 4 minutes, 40 ppm between
    trs = spells(e, 0, "co_ppm", 150, 40, [T0, T0 + 240, T0 + 480], 60.0, every_s=30.0)
    assert of(trs, Hazard.CO) == [(0, "critical", T0 + 480, "intermittent")]


def test_co_single_cooking_spell_and_low_spikes_raise_nothing(engine_for):
    e = engine_for([(K.CO, 0, 0, False)])
    trs = spells(e, 0, "co_ppm", 100, 0, [T0], 5 * MIN, every_s=MIN)  # one wok session
    trs += spells(e, 0, "co_ppm", 80, 0, [T0 + 600, T0 + 700, T0 + 800], 30.0)  # under 100
    assert of(trs + e.sweep(T0 + 3 * 3600), Hazard.CO) == []


def test_intermittent_rule_is_overridable_and_quiet_in_maintenance(engine_for):
    e = engine_for([(K.WATER, 0, 0, False), (K.WATER, 1, 0, False)],
                   RuleOverrides(devices={"d0": RuleSet(intermittent_spells=5)}))
    e.set_maintenance(1, True, T0)
    trs = spells(e, 0, "water_leak", 1, 0, [T0 + k * 60 for k in range(5)], 3.0)
    trs += spells(e, 1, "water_leak", 1, 0, [T0 + k * 60 for k in range(5)], 3.0)
    assert of(trs, Hazard.WATER_LEAK) == [(0, "warning", T0 + 240, "intermittent")]
