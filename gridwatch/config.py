"""Settings, validated once at start-up (no network calls) and passed down.

Layer: composition root. Every flag of ``gridwatch run`` has an environment
variable ``GRIDWATCH_<NAME>``; flags win over the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything ``gridwatch run`` needs."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", extra="ignore")

    site: Path | None = Field(default=None, description="Site file (YAML); default: the bundled sample")
    data_dir: Path = Field(default=Path("data"), description="Where the SQLite files live")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    mqtt: str | None = Field(default=None, description="mqtt://[user:pass@]host:port of a broker")
    mqtt_port: int = Field(default=1883, ge=0, le=65535, description="Embedded broker's port")
    mqtt_protocol: Literal["auto", "5", "3.1.1"] = "auto"
    mqtt_client_id: str | None = None
    simulate: bool = False
    sim_rate: float = Field(default=1.0, gt=0, le=10_000)
    sim_hazard_after_s: float = Field(default=20.0, ge=0)
    sim_fault_rate: float = Field(default=0.002, ge=0, le=100,
                                  description="simulated link dropouts per device per day")
    clock: Literal["system", "manual"] = "system"
    admin_token: SecretStr | None = None
    store: Literal["sqlite", "influx"] = "sqlite"
    influx_url: str | None = None
    influx_database: str = "gridwatch"
    influx_token: SecretStr | None = None
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    sqlite_sync: Literal["normal", "full"] = "normal"
    max_skew_s: float = Field(default=300.0, gt=0)
    sweep_interval_s: float = Field(default=5.0, gt=0)
    snapshot_interval_s: float = Field(default=10.0, gt=0)
    console: bool = True
    public_url: str | None = Field(
        default=None, description="Base URL people open from a notice (default http://HOST:PORT)")
    notify_retries: int = Field(default=3, ge=0, le=20, description="Retries per channel")
    notify_backoff_s: float = Field(default=1.0, gt=0, le=3600, description="First retry delay")
    notify_timeout_s: float = Field(default=5.0, gt=0, le=120, description="Per-try timeout")
    escalation_tick_s: float = Field(default=1.0, gt=0, le=60)
    log_level: str = "WARNING"

    @field_validator("mqtt")
    @classmethod
    def _mqtt_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        u = urlsplit(v)
        if u.scheme not in ("mqtt", "tcp") or not u.hostname:
            raise ValueError("must look like mqtt://host:port")
        try:
            _ = u.port
        except ValueError:
            raise ValueError("port is not a number") from None
        return v

    def mqtt_parts(self) -> tuple[str, int, str | None, str | None]:
        """(host, port, username, password) of the broker to use."""
        if self.mqtt is None:
            return "127.0.0.1", self.mqtt_port, None, None
        u = urlsplit(self.mqtt)
        return u.hostname or "127.0.0.1", u.port or 1883, u.username, u.password
