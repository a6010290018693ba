"""``InfluxReadingStore.close()`` returns while the downsampler catches up on years of
readings (issue 14: the catch-up ignored the stop flag and a CI test hit its 300 s
timeout)."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pytest

from sensors.batch import ReadingBatch, Row
from sensors.fields import FIELD_INDEX, N_FIELDS
from store.influx import InfluxReadingStore

pytestmark = pytest.mark.integration


def reading(ts: float) -> Row:
    v = [math.nan] * N_FIELDS
    v[FIELD_INDEX["lel_pct"]] = 1.0
    return Row("gas-1", 0, ts, ts, 1, v)


def test_close_returns_during_a_long_catch_up(influx_server, database, tmp_path: Path):
    now = time.time()
    tags = {"gas-1": {"community": "tiny", "grid": "g1", "building": "b1", "kind": "gas"}}
    store = InfluxReadingStore(influx_server.url, database, series_tags=tags, spool_dir=tmp_path / "spool",
                               flush_interval_s=0.05, downsample_interval_s=0.01, timeout_s=5.0)
    store.write(ReadingBatch.from_rows([reading(now - 5 * 365 * 86400), reading(now - 60)]))
    # five years of minutes to roll up, 600 s a query: about 260,000 queries
    time.sleep(1.0)  # let the maintenance thread get into the catch-up
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "close() is still waiting for the catch-up"
    reached = store.health()["downsampled_to_ts"]
    assert reached is not None and reached < now - 4 * 365 * 86400  # it was stopped, not finished
