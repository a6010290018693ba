import math

import numpy as np

from ingest.pipeline import Decoder, RawMessage
from sensors.fields import LEL_PCT
from sensors.live import OFFLINE, ONLINE, LiveState
from tests.sites import tiny_site
from topology.index import SiteIndex, device_table
from topology.load import parse_site


def table():
    return device_table(SiteIndex(parse_site(tiny_site())))


def msg(topic, payload, ts=1000.0):
    return RawMessage(topic, payload, ts, 1, 1)


def test_decoder_sorts_good_bad_and_availability():
    d = Decoder(table())
    out = d.decode([
        msg("gridwatch/tiny/gas-101/state", b'{"lel_pct": 3, "seq": 1}'),
        msg("gridwatch/tiny/gas-101/state", b"nope"),
        msg("gridwatch/tiny/ghost/state", b"{}"),
        msg("gridwatch/other/gas-101/state", b"{}"),
        msg("gridwatch/tiny/door-102/state", b'{"lel_pct": 3}'),
        msg("gridwatch/tiny/gas-101/availability", b"offline"),
        msg("gridwatch/tiny/gas-101/bogus", b"{}"),
        msg("gridwatch/tiny/alerts", b'{"alert": 1}'),
    ])
    assert len(out.batch) == 1 and out.batch.values[0, LEL_PCT] == 3.0
    assert [x.reason for x in out.dead] == ["not_json", "unknown_device", "wrong_community",
                                           "kind_mismatch", "bad_topic"]
    assert out.availability == [(d.table.index["gas-101"], False, 1000.0)]
    assert out.skipped == 1


def test_live_state_ignores_older_values():
    t = table()
    live = LiveState(t)
    d = Decoder(t)
    i = t.index["gas-101"]
    live.update(d.decode([msg("gridwatch/tiny/gas-101/state", b'{"lel_pct": 5, "ts": 1000}', 1000.0)]).batch)
    live.update(d.decode([msg("gridwatch/tiny/gas-101/state", b'{"lel_pct": 1, "ts": 990}', 1001.0)]).batch)
    assert live.values[i, LEL_PCT] == 5.0 and live.last_seen[i] == 1001.0
    assert live.online[i] == ONLINE and int(live.messages[i]) == 2
    live.set_online(i, False, 1002.0)
    assert live.online[i] == OFFLINE
    rows = live.rows()
    fresh = LiveState(t)
    fresh.restore({r[0]: r[1:] for r in rows})
    assert fresh.values[i, LEL_PCT] == 5.0 and fresh.online[i] == OFFLINE
    assert math.isnan(fresh.last_seen[t.index["gas-201"]])
    assert np.isnan(fresh.values[t.index["gas-201"]]).all()


def test_zigbee2mqtt_messages_map_to_site_devices():
    site = tiny_site()
    hh = site["buildings"][0]["units"][0]["households"][0]
    hh["devices"][0].update({"model": "HS1CG", "z2m_name": "kitchen gas 101"})
    hh["devices"][2].update({"model": "SJCGQ11LM", "z2m_name": "leak-101"})
    index = SiteIndex(parse_site(site))
    t = device_table(index)
    d = Decoder(t, z2m=index.z2m_names())
    out = d.decode([
        msg("zigbee2mqtt/kitchen gas 101", b'{"gas": false, "battery_low": false, "tamper": false}'),
        msg("zigbee2mqtt/leak-101", b'{"water_leak": true, "battery": 80, "voltage": 3000}'),
        msg("zigbee2mqtt/leak-101/availability", b'{"state": "offline"}'),
        msg("zigbee2mqtt/stranger", b'{"gas": true}'),
        msg("zigbee2mqtt/bridge/state", b'{"state": "online"}'),
        msg("zigbee2mqtt/leak-101", b'{"water_leak": "yes"}'),
    ])
    assert out.batch.device_ids == ["gas-101", "water-101"]
    assert out.batch.values[0, LEL_PCT] == 0.0
    assert out.availability == [(t.index["water-101"], False, 1000.0)]
    assert [x.reason for x in out.dead] == ["unknown_device", "bad_topic", "wrong_type"]
