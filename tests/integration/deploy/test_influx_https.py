"""The InfluxDB store over https with a private CA (a real influxd serving TLS with a
certificate from deploy/mosquitto/make_certs.sh), and its token read from a file."""

from __future__ import annotations

import math
import ssl
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from sensors.batch import ReadingBatch, Row
from sensors.fields import FIELD_INDEX, N_FIELDS
from store.influx_config import InfluxSettings, open_influx_store
from tests.integration.influx.conftest import InfluxServer

from .conftest import make_certs

pytestmark = pytest.mark.integration

TAGS = {"gas-1": {"community": "tiny", "grid": "g1", "building": "b1", "kind": "gas"}}


class HttpsInflux(InfluxServer):
    """influxd with ``https-enabled``: its certificate from ``tls``."""

    def __init__(self, tls: Path) -> None:
        super().__init__()
        self.tls = tls

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.http_port}"

    def _write_config(self) -> None:
        super()._write_config()
        conf = self.config_path.read_text().replace(
            "  log-enabled = false\n",
            "  log-enabled = false\n  https-enabled = true\n"
            f'  https-certificate = "{self.tls / "server.crt"}"\n'
            f'  https-private-key = "{self.tls / "server.key"}"\n', 1)
        self.config_path.write_text(conf)

    def _ready(self) -> bool:
        try:
            ctx = ssl.create_default_context(cafile=str(self.tls / "ca.crt"))
            r = httpx.get(f"{self.url}/ping", timeout=0.5, verify=ctx)
            return r.status_code == 204
        except httpx.HTTPError:
            return False


def reading(ts: float) -> ReadingBatch:
    v = [math.nan] * N_FIELDS
    v[FIELD_INDEX["lel_pct"]] = 2.5
    return ReadingBatch.from_rows([Row("gas-1", 0, ts, ts, 1, v)])


def test_the_store_writes_over_https_trusting_only_the_given_ca(tmp_path: Path) -> None:
    tls = make_certs(tmp_path / "tls", "localhost")
    other = make_certs(tmp_path / "other", "localhost")
    server = HttpsInflux(tls)
    try:
        server.start()
        good = open_influx_store(
            InfluxSettings(url=server.url, database="gw_https", ca_file=tls / "ca.crt",
                           downsample_interval_s=None, timeout_s=5.0),
            series_tags=TAGS, data_dir=tmp_path / "a")
        wrong = open_influx_store(
            InfluxSettings(url=server.url, database="gw_https_wrong", ca_file=other / "ca.crt",
                           downsample_interval_s=None, timeout_s=2.0, flush_interval_s=0.2),
            series_tags=TAGS, data_dir=tmp_path / "b")
        try:
            t0 = time.time() - 60
            good.write(reading(t0))
            assert good.count("gas-1") == 1
            assert good.health()["reachable"] is True
            wrong.write(reading(t0))  # spooled: that server is not the one it trusts
            health = wrong.health()
            assert health["reachable"] is False and health["spool_records"] == 1
            assert "CERTIFICATE_VERIFY_FAILED" in str(health["last_error"])
        finally:
            good.close()
            wrong.close()
    finally:
        server.cleanup()


def test_influx_settings_read_the_token_from_a_file(tmp_path: Path) -> None:
    token = tmp_path / "influx_token"
    token.write_text("tok-0123456789\n")
    settings = InfluxSettings(url="https://influx.example:8086", token_file=token)
    assert settings.token is not None and settings.token.get_secret_value() == "tok-0123456789"
    with pytest.raises(ValidationError, match="https"):
        InfluxSettings(url="http://127.0.0.1:8086", ca_file=token)
