"""One truth per reading: a reading is keyed by (device, event time, seq); delivered
again with another value, its first value counts in the live state, the readings
store and the rule core alike; and messages without a key of their own (no ts, no
seq) get one, so two of them at the same clock instant never merge."""

from __future__ import annotations

import math

import numpy as np

from alerts.rules.engine import RuleEngine
from alerts.rules.params import build_params
from alerts.rules.types import Hazard
from ingest.pipeline import Decoder, RawMessage
from sensors.batch import ReadingBatch, Row
from sensors.fields import LEL_PCT, N_FIELDS
from sensors.live import LiveState
from store.sqlite import SQLiteReadingStore
from tests.sites import tiny_site
from topology.index import SiteIndex, device_table
from topology.load import parse_site

T0 = 1_767_225_600.0


def table():
    return device_table(SiteIndex(parse_site(tiny_site())))


def rows(tab, *readings: tuple[float, int, float]) -> ReadingBatch:
    """Readings of gas-101 as (ts, seq, lel_pct)."""
    idx = tab.index["gas-101"]
    out = []
    for ts, seq, lel in readings:
        values = [math.nan] * N_FIELDS
        values[LEL_PCT] = lel
        out.append(Row("gas-101", idx, ts, ts, seq, values))
    return ReadingBatch.from_rows(out)


def lel(live: LiveState, tab) -> float:
    return float(live.values[tab.index["gas-101"], LEL_PCT])


def test_live_state_keeps_the_first_value_of_a_repeated_reading():
    tab = table()
    live = LiveState(tab)
    live.update(rows(tab, (T0, 1, 30.0), (T0, 1, 0.0)))  # the same reading twice, one batch
    assert lel(live, tab) == 30.0
    live.update(rows(tab, (T0, 1, 5.0)))  # and again later
    assert lel(live, tab) == 30.0
    live.update(rows(tab, (T0, 2, 6.0), (T0 - 1, 9, 7.0)))  # a newer seq wins, older ts not
    assert lel(live, tab) == 6.0
    # what was saved comes back with its key: a redelivery after a restart changes nothing
    again = LiveState(tab)
    again.restore({d: (ls, on, data) for d, ls, on, data in live.rows()})
    again.update(rows(tab, (T0, 2, 99.0)))
    assert lel(again, tab) == 6.0
    again.update(rows(tab, (T0 + 1, -1, 8.0)))
    assert lel(again, tab) == 8.0


def test_store_and_rules_keep_the_first_value_too(tmp_path):
    tab = table()
    store = SQLiteReadingStore(tmp_path / "readings.db")
    eng = RuleEngine(tab, build_params(tab))
    gas = tab.index["gas-101"]
    first, again = rows(tab, (T0, 1, 30.0), (T0, 1, 0.0)), rows(tab, (T0, 1, 2.0))
    store.write(first)
    store.write(again)
    trs = eng.evaluate(first, T0) + eng.evaluate(again, T0)
    points = store.history("gas-101", T0 - 1, T0 + 1)
    store.close()
    assert [p.values["lel_pct"] for p in points] == [30.0]
    assert [(t.severity and t.severity.value, t.detail) for t in trs
            if t.hazard is Hazard.GAS] == [("critical", "evacuate")]
    assert eng.condition(gas, Hazard.GAS) == 4
    assert eng.late_dropped == 2


def raw(payload: bytes, recv_ts: float = T0) -> RawMessage:
    return RawMessage("gridwatch/tiny/gas-101/state", payload, recv_ts, 1, 1)


def test_messages_without_ts_or_seq_get_their_own_keys():
    d = Decoder(table())
    out = d.decode([raw(b'{"lel_pct": 1}'), raw(b'{"lel_pct": 2}')])  # the same instant
    assert out.batch.seq.tolist() == [0, 1]
    out = d.decode([raw(b'{"lel_pct": 3}')])  # the device's counter goes on
    assert out.batch.seq.tolist() == [2]
    # a ts far off the clock is replaced by the receive time: no key of its own either
    skewed = f'{{"lel_pct": 4, "ts": {T0 + 7200}}}'.encode()
    assert d.decode([raw(skewed)]).batch.seq.tolist() == [3]
    # a ts or a seq of the device's own: kept, so redeliveries still merge
    own = [raw(f'{{"lel_pct": 5, "ts": {T0}}}'.encode()), raw(b'{"lel_pct": 6, "seq": 7}')]
    assert d.decode(own).batch.seq.tolist() == [-1, 7]


def test_two_keyless_messages_at_one_instant_both_count(tmp_path):
    tab = table()
    d = Decoder(tab)
    batch = d.decode([raw(b'{"lel_pct": 30}'), raw(b'{"lel_pct": 0}')]).batch
    store = SQLiteReadingStore(tmp_path / "readings.db")
    store.write(batch)
    assert store.count("gas-101") == 2
    store.close()
    live = LiveState(tab)
    live.update(batch)
    assert lel(live, tab) == 0.0  # the later one is the newer
    eng = RuleEngine(tab, build_params(tab))
    trs = eng.evaluate(batch, T0)
    assert eng.late_dropped == 0
    # evacuate at once, then 0 %LEL starts the clear timer (the condition holds)
    assert [t.detail for t in trs if t.hazard is Hazard.GAS] == ["evacuate"]
    assert not np.isnan(eng.st.gas_clr[tab.index["gas-101"]])
