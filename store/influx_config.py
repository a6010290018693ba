"""Settings of the InfluxDB reading store, and the factory that opens it.

Layer: adapters (config beside its adapter). Validated at start-up with no
network call; built once by the composition root and passed down. Environment
variables mirror the fields with the ``GRIDWATCH_INFLUX_`` prefix
(``GRIDWATCH_INFLUX_URL``, ``GRIDWATCH_INFLUX_TOKEN``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.influx import InfluxReadingStore


class InfluxSettings(BaseSettings):
    """Where and how readings go to InfluxDB (``--store influx``).

    Attributes:
        url: base URL of the server (1.x, 2.x or 3.x; the v1-compatible API is used).
        database: database (1.x), or the database name mapped to a bucket (2.x DBRP, 3.x).
        retention_policy: retention policy raw readings are written to (None: default).
        token: API token for 2.x / 3.x (``Authorization: Token ...``).
        token_file: a file holding the token (its first line), when ``token`` is not given.
        ca_file: PEM CA file an ``https://`` server's certificate must chain to
            (None: the system's CAs).
        username: 1.x user (HTTP basic auth with ``password``).
        password: 1.x password.
        create_database: on 1.x, create the database when it is missing.
        batch_max_points: points per POST.
        max_in_flight: concurrent POSTs per write.
        flush_interval_s: how often the spool is retried while InfluxDB is away.
        timeout_s: HTTP timeout; a write slower than this goes to the spool.
        gzip_level: 1-9, 0 to post uncompressed.
        spool_max_bytes: cap on the disk spool; when full, writes fail and health
            reports a data gap.
        spool_dirname: the spool's directory under the service's data directory.
        raw_retention_s: keep raw readings this long (None: forever; see store.influx).
        rollup_database: database of the 1-minute and 1-hour rollups (None: ``database``).
        rollup_retention_policy: retention policy of the rollups.
        downsample_interval_s: how often rollups are computed (None: off).
        downsample_lateness_s: how long a minute stays open to late readings.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_INFLUX_", extra="forbid")

    url: str = "http://127.0.0.1:8086"
    database: str = "gridwatch"
    retention_policy: str | None = None
    token: SecretStr | None = None
    token_file: FilePath | None = None
    ca_file: FilePath | None = None
    username: str | None = None
    password: SecretStr | None = None
    create_database: bool = True
    batch_max_points: int = Field(5000, ge=1, le=100_000)
    max_in_flight: int = Field(2, ge=1, le=16)
    flush_interval_s: float = Field(1.0, gt=0)
    timeout_s: float = Field(10.0, gt=0)
    gzip_level: int = Field(1, ge=0, le=9)
    spool_max_bytes: int = Field(1 << 30, ge=1 << 16)
    spool_dirname: str = "influx-spool"
    raw_retention_s: float | None = Field(None, gt=0)
    rollup_database: str | None = None
    rollup_retention_policy: str | None = None
    downsample_interval_s: float | None = Field(60.0, gt=0)
    downsample_lateness_s: float = Field(120.0, ge=0)

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        return url.rstrip("/")

    @field_validator("database")
    @classmethod
    def _check_database(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("database must not be empty")
        return name

    @model_validator(mode="after")
    def _check_auth(self) -> InfluxSettings:
        if self.token is None and self.token_file is not None:
            lines = self.token_file.read_text(encoding="utf-8").splitlines()
            if not lines or not lines[0]:
                raise ValueError(f"the token file {self.token_file} is empty")
            self.token = SecretStr(lines[0])
        if self.ca_file is not None and not self.url.startswith("https://"):
            raise ValueError("ca_file is for an https:// URL")
        if self.token is not None and self.username is not None:
            raise ValueError("give a token (2.x/3.x) or a username and password (1.x), not both")
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self


def open_influx_store(
    settings: InfluxSettings,
    *,
    series_tags: Mapping[str, Mapping[str, str]],
    data_dir: Path,
) -> InfluxReadingStore:
    """Open the InfluxDB reading store the settings describe.

    No network call happens here: the store connects (and creates the database
    on 1.x) in the background, spooling to ``data_dir / spool_dirname`` meanwhile.

    Args:
        settings: validated settings.
        series_tags: device id → tags (community, grid, building, device, kind).
        data_dir: the service's data directory.
    """
    return InfluxReadingStore(
        settings.url,
        settings.database,
        retention_policy=settings.retention_policy,
        token=settings.token.get_secret_value() if settings.token else None,
        ca_file=settings.ca_file,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        series_tags=series_tags,
        spool_dir=data_dir / settings.spool_dirname,
        spool_max_bytes=settings.spool_max_bytes,
        batch_max_points=settings.batch_max_points,
        flush_interval_s=settings.flush_interval_s,
        max_in_flight=settings.max_in_flight,
        timeout_s=settings.timeout_s,
        gzip_level=settings.gzip_level,
        create_database=settings.create_database,
        raw_retention_s=settings.raw_retention_s,
        rollup_database=settings.rollup_database,
        rollup_retention_policy=settings.rollup_retention_policy,
        downsample_interval_s=settings.downsample_interval_s,
        downsample_lateness_s=settings.downsample_lateness_s,
    )
