"""The Grafana dashboard's queries against a real influxd holding known data, checking
the numbers (issue 14: "Devices reporting" counted distinct seq values; "Low
batteries" missed devices at 20 % without the flag).

The queries are read from ``deploy/grafana/dashboards/community.json`` and Grafana's
macros are filled in as Grafana does for "all" selections; the data goes in through
GridWatch's own writer.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from sensors.batch import ReadingBatch, Row
from sensors.fields import FIELD_INDEX, N_FIELDS
from store.influx import InfluxReadingStore

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards" / "community.json"
T0 = 1_790_000_000.0 - 1_790_000_000.0 % 3600  # an hour boundary
DEVICES = [f"dev-{i}" for i in range(6)]
TAGS = {d: {"community": "tiny", "grid": "g1", "building": "b1" if i < 3 else "b2", "kind": "smoke"}
        for i, d in enumerate(DEVICES)}


# The panels' queries before the fix, to show the data tells right from wrong.
OLD_REPORTING = ('SELECT count(distinct("seq")) FROM (SELECT last("seq") AS "seq" FROM "reading" '
                 'WHERE $timeFilter GROUP BY time($__interval), "device") GROUP BY time($__interval)')
OLD_LOW = ('SELECT last("battery_pct") AS "battery %" FROM "reading" WHERE $timeFilter '
           'AND "battery_low" = 1 GROUP BY "device"')


def row(device: str, ts: float, seq: int, **values: float) -> Row:
    v = [math.nan] * N_FIELDS
    for name, x in values.items():
        v[FIELD_INDEX[name]] = float(x)
    return Row(device, 0, ts, ts, seq, v)


def panel_query(title: str) -> str:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    (panel,) = [p for p in panels if p.get("title") == title]
    return str(panel["targets"][0]["query"])


def fill(query: str, start: float, end: float, interval: str = "10m") -> str:
    """Grafana's macros for "All" communities and buildings and a time range."""
    time_filter = f"time >= {int(start * 1e9)} AND time < {int(end * 1e9)}"
    return (query.replace("$timeFilter", time_filter).replace("$__interval", interval)
            .replace("/^$community$/", "/^.*$/").replace("/^$building$/", "/^.*$/"))


def series(store: InfluxReadingStore, q: str) -> list[dict[str, Any]]:
    results = store.query(q)
    assert all("error" not in r for r in results), results
    return [s for r in results for s in r.get("series", ())]


@pytest.fixture
def store(influx_server, database, tmp_path):
    s = InfluxReadingStore(influx_server.url, database, series_tags=TAGS, spool_dir=tmp_path / "spool",
                           downsample_interval_s=None, timeout_s=5.0)
    yield s
    s.close()


def test_devices_reporting_counts_devices_not_seq_values(store):
    """Six devices in the first ten minutes, all counting seq 1, 2, 3 (so distinct seq
    values are 3); four of them in the second ten minutes, one of those twice."""
    rows = [row(d, T0 + 60 * k + i, k + 1, smoke=0) for i, d in enumerate(DEVICES) for k in range(3)]
    rows += [row(d, T0 + 600 + 30 * i, 4, smoke=0) for i, d in enumerate(DEVICES[:4])]
    rows += [row(DEVICES[0], T0 + 900, 5, smoke=0)]
    store.write(ReadingBatch.from_rows(rows))
    (s,) = series(store, fill(panel_query("Devices reporting"), T0, T0 + 1800))
    counts = {int(v[0] / 1e9) - int(T0): v[1] for v in s["values"]}
    assert counts == {0: 6, 600: 4, 1200: 0}
    # the data tells the two apart: the query of issue 14 counted distinct last seq
    # values, 1 here (every device's last seq of the first ten minutes was 3)
    (old,) = series(store, fill(OLD_REPORTING, T0, T0 + 1800))
    assert old["values"][0][1] == 1


def test_low_batteries_include_devices_at_the_threshold_without_the_flag(store):
    """Latest reports: dev-0 at 15 % no flag, dev-1 at exactly 20 % no flag, dev-2 flag
    set at 50 %, dev-3 at 80 %, dev-4 was at 10 % but its new battery reads 90 %,
    dev-5 at 21 %."""
    rows = [row("dev-0", T0 + 10, 1, battery_pct=15),
            row("dev-1", T0 + 10, 1, battery_pct=20, battery_low=0),
            row("dev-2", T0 + 10, 1, battery_pct=50, battery_low=1),
            row("dev-3", T0 + 10, 1, battery_pct=80, battery_low=0),
            row("dev-4", T0 + 10, 1, battery_pct=10, battery_low=1),
            row("dev-4", T0 + 600, 2, battery_pct=90, battery_low=0),
            row("dev-5", T0 + 10, 1, battery_pct=21)]
    store.write(ReadingBatch.from_rows(rows))
    found = series(store, fill(panel_query("Low batteries"), T0, T0 + 3600))
    low = {s["tags"]["device"]: dict(zip(s["columns"], s["values"][0], strict=True)) for s in found}
    assert set(low) == {"dev-0", "dev-1", "dev-2"}
    assert low["dev-1"]["battery %"] == 20 and low["dev-2"]["low flag"] == 1
    # the query of issue 14 listed the flagged ones only, the replaced battery among them
    old = {s["tags"]["device"] for s in series(store, fill(OLD_LOW, T0, T0 + 3600))}
    assert old == {"dev-2", "dev-4"}


def test_every_raw_reading_panel_runs_on_influxdb_1x(store):
    store.write(ReadingBatch.from_rows([row(d, T0 + 5, 1, lel_pct=1, battery_pct=50) for d in DEVICES]))
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    ran = 0
    for p in panels:
        for t in p.get("targets", ()):
            q = t["query"]
            if re.search(r'FROM "reading"', q) or 'FROM (SELECT' in q:
                series(store, fill(q, T0, T0 + 3600))
                ran += 1
    assert ran >= 6
