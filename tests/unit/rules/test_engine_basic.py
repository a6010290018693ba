"""The first rule set: gas, CO, smoke, water, door held open, offline, tamper, battery."""

from __future__ import annotations

from alerts.rules.types import Hazard
from sensors.fields import DeviceKind as K

from .conftest import T0, batch, of

GAS = (K.GAS, 0, 0, False)


def test_gas_warning_after_hold_then_critical_then_hysteresis(engine_for):
    e = engine_for([GAS])
    assert e.evaluate(batch((0, T0, {"lel_pct": 6})), T0) == []
    assert of(e.sweep(T0 + 59), Hazard.GAS) == []
    assert of(e.sweep(T0 + 61), Hazard.GAS) == [(0, "warning", T0 + 60, "")]
    e.evaluate(batch((0, T0 + 100, {"lel_pct": 11})), T0 + 100)
    assert of(e.sweep(T0 + 116), Hazard.GAS) == [(0, "critical", T0 + 115, "")]
    # below warn but above clear: stays critical; below clear for 5 min: clears
    assert e.evaluate(batch((0, T0 + 200, {"lel_pct": 4})), T0 + 200) == []
    assert e.evaluate(batch((0, T0 + 300, {"lel_pct": 1})), T0 + 300) == []
    assert of(e.sweep(T0 + 599), Hazard.GAS) == []
    assert of(e.sweep(T0 + 600), Hazard.GAS) == [(0, None, T0 + 600, "")]


def test_gas_blip_does_not_alarm_and_evacuate_is_immediate(engine_for):
    e = engine_for([GAS])
    e.evaluate(batch((0, T0, {"lel_pct": 8}), (0, T0 + 20, {"lel_pct": 0})), T0 + 20)
    assert of(e.sweep(T0 + 3600), Hazard.GAS) == []
    trs = e.evaluate(batch((0, T0 + 4000, {"lel_pct": 30})), T0 + 4000)
    assert of(trs, Hazard.GAS) == [(0, "critical", T0 + 4000, "evacuate")]


def test_co_constant_exposure_alarms_inside_window(engine_for):
    e = engine_for([(K.CO, 0, 0, False)])
    e.evaluate(batch((0, T0, {"co_ppm": 100})), T0)
    assert of(e.sweep(T0 + 9 * 60), Hazard.CO) == []
    trs = of(e.sweep(T0 + 41 * 60), Hazard.CO)
    assert len(trs) == 1 and trs[0][1] == "critical"
    assert T0 + 10 * 60 <= trs[0][2] <= T0 + 40 * 60


def test_smoke_alarm_is_critical_at_once_and_clears(engine_for):
    e = engine_for([(K.SMOKE, 0, 0, False)])
    assert of(e.evaluate(batch((0, T0, {"smoke": 1})), T0), Hazard.SMOKE) == [
        (0, "critical", T0, "device_alarm")]
    assert of(e.evaluate(batch((0, T0 + 5, {"smoke": 1})), T0 + 5), Hazard.SMOKE) == []
    assert of(e.evaluate(batch((0, T0 + 9, {"smoke": 0})), T0 + 9), Hazard.SMOKE) == [
        (0, None, T0 + 9, "")]


def test_water_leak_debounce_warning_then_critical_unless_acknowledged(engine_for):
    e = engine_for([(K.WATER, 0, 0, False), (K.WATER, 1, 0, False)])
    e.evaluate(batch((0, T0, {"water_leak": 1}), (1, T0, {"water_leak": 1})), T0)
    assert of(e.sweep(T0 + 5), Hazard.WATER_LEAK) == []
    assert of(e.sweep(T0 + 11), Hazard.WATER_LEAK) == [
        (0, "warning", T0 + 10, "wet"), (1, "warning", T0 + 10, "wet")]
    e.acknowledge(1, Hazard.WATER_LEAK, T0 + 60)
    assert of(e.sweep(T0 + 601), Hazard.WATER_LEAK) == [(0, "critical", T0 + 600, "unacknowledged")]
    assert of(e.evaluate(batch((1, T0 + 700, {"water_leak": 0})), T0 + 700),
              Hazard.WATER_LEAK) == [(1, None, T0 + 700, "")]


def test_unit_door_held_open(engine_for):
    e = engine_for([(K.DOOR, -1, 0, False), (K.DOOR, 0, 0, False)])
    e.evaluate(batch((0, T0, {"open": 1}), (1, T0, {"open": 1})), T0)
    assert of(e.sweep(T0 + 601), Hazard.DOOR_OPEN) == [(0, "warning", T0 + 600, "held_open")]
    assert of(e.evaluate(batch((0, T0 + 700, {"open": 0})), T0 + 700), Hazard.DOOR_OPEN) == [
        (0, None, T0 + 700, "")]


def test_offline_after_margin_over_heartbeat_and_back(engine_for):
    e = engine_for([GAS], heartbeat_s=600.0)
    e.evaluate(batch((0, T0, {"lel_pct": 0})), T0)
    limit = 2 * 600 + 120
    assert of(e.sweep(T0 + limit - 1), Hazard.OFFLINE) == []
    assert of(e.sweep(T0 + limit + 5), Hazard.OFFLINE) == [(0, "warning", T0 + limit, "heartbeat")]
    trs = e.evaluate(batch((0, T0 + 5000, {"lel_pct": 0})), T0 + 5000)
    assert of(trs, Hazard.OFFLINE) == [(0, None, T0 + 5000, "")]


def test_gas_device_unprotected_after_24h(engine_for):
    e = engine_for([GAS, (K.WATER, 0, 0, False)])
    e.evaluate(batch((0, T0, {"lel_pct": 0}), (1, T0, {"water_leak": 0})), T0)
    trs = e.sweep(T0 + 86_401)
    assert of(trs, Hazard.UNPROTECTED) == [(0, "critical", T0 + 86_400, "unprotected")]


def test_tamper_and_battery(engine_for):
    e = engine_for([(K.SMOKE, 0, 0, False)])
    trs = e.evaluate(batch((0, T0, {"tamper": 1, "battery_pct": 15})), T0)
    assert of(trs, Hazard.TAMPER) == [(0, "warning", T0, "tamper")]
    assert of(trs, Hazard.BATTERY_LOW) == [(0, "warning", T0, "low")]
    # inside the hysteresis band: no flapping
    assert of(e.evaluate(batch((0, T0 + 10, {"battery_pct": 25})), T0 + 10),
              Hazard.BATTERY_LOW) == []
    assert of(e.evaluate(batch((0, T0 + 20, {"battery_pct": 3})), T0 + 20),
              Hazard.BATTERY_LOW) == [(0, "critical", T0 + 20, "dead")]
    assert of(e.evaluate(batch((0, T0 + 30, {"battery_pct": 90, "tamper": 0})), T0 + 30),
              Hazard.BATTERY_LOW) == [(0, None, T0 + 30, "")]


def test_battery_daily_reminder(engine_for):
    e = engine_for([(K.SMOKE, 0, 0, False)], heartbeat_s=3600)
    e.evaluate(batch((0, T0, {"battery_low": 1})), T0)
    for k in range(1, 4):
        e.evaluate(batch((0, T0 + k * 86_400 - 100, {"battery_low": 1})), T0 + k * 86_400 - 100)
        trs = of(e.sweep(T0 + k * 86_400 + 1), Hazard.BATTERY_LOW)
        assert trs == [(0, "warning", T0 + k * 86_400, "reminder")]


def test_out_of_order_and_duplicates_are_dropped(engine_for):
    e = engine_for([GAS])
    e.evaluate(batch((0, T0 + 100, {"lel_pct": 0})), T0 + 100)
    assert e.evaluate(batch((0, T0 + 50, {"lel_pct": 50}), (0, T0 + 100, {"lel_pct": 50})),
                      T0 + 100) == []
    assert e.late_dropped == 2
    # inside one batch, rows are applied in event-time order whatever the arrival order
    trs = e.evaluate(batch((0, T0 + 300, {"lel_pct": 0}), (0, T0 + 200, {"lel_pct": 30})),
                     T0 + 300)
    assert of(trs, Hazard.GAS) == [(0, "critical", T0 + 200, "evacuate")]
