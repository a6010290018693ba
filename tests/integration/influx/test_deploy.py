"""The Grafana dashboard's InfluxQL against a real InfluxDB (the deploy Mosquitto's
configuration is checked in tests/integration/deploy/)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .conftest import InfluxServer

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_dashboard_queries_parse_on_influxdb(influx_server: InfluxServer) -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "community.json").read_text())
    for db in ("gridwatch", "gridwatch_rollup"):
        httpx.post(
            f"{influx_server.url}/query", params={"q": f'CREATE DATABASE "{db}"'}
        ).raise_for_status()
    queries = [t["query"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"] for v in dashboard["templating"]["list"]]
    assert len(queries) >= 8
    for template in queries:
        q = template.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "1m")
        q = q.replace("$community", ".*").replace("$building", ".*")
        r = httpx.get(f"{influx_server.url}/query", params={"db": "gridwatch", "q": q})
        assert r.status_code == 200, (q, r.text)
        assert "error" not in r.json()["results"][0], (q, r.text)
