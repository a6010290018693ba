"""Settings, validated once at start-up (no network calls) and passed down.

Layer: composition root. Every flag of ``gridwatch run`` has an environment
variable ``GRIDWATCH_<NAME>``; flags win over the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.connection import BrokerAddress, MqttTls, parse_broker_url, read_secret_file


class Settings(BaseSettings):
    """Everything ``gridwatch run`` needs."""

    # A secret may also be a file named like its variable (gridwatch_admin_token,
    # gridwatch_influx_token, ...) in $GRIDWATCH_SECRETS_DIR, e.g. compose's /run/secrets.
    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", extra="ignore",
                                      secrets_dir=os.environ.get("GRIDWATCH_SECRETS_DIR") or None)

    site: Path | None = Field(default=None, description="Site file (YAML); default: the bundled sample")
    data_dir: Path = Field(default=Path("data"), description="Where the SQLite files live")
    host: str = Field(default="127.0.0.1", description="API address")
    port: int = Field(default=8000, ge=0, le=65535, description="API port")
    mqtt: str | None = Field(
        default=None, description="Broker: mqtt://[user@]host:port, or mqtts:// for TLS (port 8883)")
    mqtt_port: int = Field(default=1883, ge=0, le=65535, description="Embedded broker's port")
    mqtt_protocol: Literal["auto", "5", "3.1.1"] = Field(default="auto", description="MQTT version")
    mqtt_client_id: str | None = Field(
        default=None, description="Ingest client id (default gridwatch-ingest-COMMUNITY-RANDOM, kept in the data dir)")
    mqtt_ca_file: FilePath | None = Field(
        default=None, description="CA certificate the broker's must chain to (mqtts://; default the system's)")
    mqtt_cert_file: FilePath | None = Field(default=None, description="Client certificate (mqtts://)")
    mqtt_key_file: FilePath | None = Field(default=None, description="Client certificate's key (mqtts://)")
    mqtt_password_file: FilePath | None = Field(
        default=None, description="File holding the MQTT password (or GRIDWATCH_MQTT_PASSWORD)")
    mqtt_password: SecretStr | None = None
    simulate: bool = Field(default=False, description="Also run the bundled simulator against the broker")
    sim_rate: float = Field(default=1.0, gt=0, le=10_000, description="Simulator speed multiplier")
    sim_hazard_after_s: float = Field(default=20.0, ge=0, description="Seconds before the simulator leaks gas")
    sim_fault_rate: float = Field(default=0.002, ge=0, le=100,
                                  description="simulated link dropouts per device per day")
    clock: Literal["system", "manual"] = Field(
        default="system", description="manual: time moves only through POST /api/clock (admin token needed)")
    clock_start: float | None = Field(
        default=None, ge=0,
        description="manual clock: its first time, epoch s (default now; a restart resumes where it was)")
    admin_token: SecretStr | None = None
    store: Literal["sqlite", "influx"] = Field(default="sqlite", description="Reading store")
    influx_url: str | None = Field(default=None, description="InfluxDB URL, e.g. http://127.0.0.1:8086")
    influx_database: str = Field(default="gridwatch", description="InfluxDB database or bucket")
    influx_token: SecretStr | None = None
    influx_username: str | None = Field(default=None, description="InfluxDB 1.x user")
    influx_password: SecretStr | None = None
    sqlite_sync: Literal["normal", "full"] = Field(default="normal", description="SQLite synchronous mode")
    max_skew_s: float = Field(default=300.0, gt=0, description="A device ts further off than this uses the receive time")
    sweep_interval_s: float = Field(default=5.0, gt=0, description="How often the absence rules run")
    snapshot_interval_s: float = Field(default=10.0, gt=0, description="How often rule state is saved")
    console: bool = Field(default=True, description="Status display in the terminal (--no-console: none)")
    public_url: str | None = Field(
        default=None, description="Base URL people open from a notice (default http://HOST:PORT)")
    notify_retries: int = Field(default=3, ge=0, le=20, description="Retries per channel")
    notify_backoff_s: float = Field(default=1.0, gt=0, le=3600, description="First retry delay")
    notify_timeout_s: float = Field(default=5.0, gt=0, le=120, description="Per-try timeout")
    escalation_tick_s: float = Field(default=1.0, gt=0, le=60, description="How often escalations are due")
    log_level: str = Field(default="WARNING", description="DEBUG, INFO, WARNING, ERROR")
    # -- HTTP security (api/guard.py reads these) --
    allowed_hosts: str = Field(
        default="", description="Host names the API answers to, comma-separated, besides 127.0.0.1, "
        "localhost, ::1 and the host of --public-url (others get 400: DNS rebinding)")
    trusted_proxies: str = Field(
        default="", description="Addresses or networks of reverse proxies whose X-Forwarded-For/-Proto "
        "are believed, comma-separated (default: none, not even 127.0.0.1)")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024,
                                description="Largest request body the API reads (413 beyond)")
    http_max_connections: int = Field(default=0, ge=0, le=100_000, description=(
        "Open HTTP connections at most (0: a quarter of the file descriptors, at most 1024)"))
    http_header_timeout_s: float = Field(default=10.0, gt=0, le=300,
                                         description="A request's headers must arrive within this")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: str) -> str:
        import ipaddress  # noqa: PLC0415

        for x in (p.strip() for p in v.split(",")):
            if x:
                ipaddress.ip_network(x, strict=False)  # ValueError names the bad one
        return v

    @field_validator("admin_token")
    @classmethod
    def _strong_admin_token(cls, v: SecretStr | None) -> SecretStr | None:
        from store.strength import token_problem  # noqa: PLC0415 - keep settings import light

        if v is not None and not v.get_secret_value():
            return None  # GRIDWATCH_ADMIN_TOKEN= (empty) is no token
        if v is not None and (problem := token_problem(v.get_secret_value())):
            raise ValueError(f"GRIDWATCH_ADMIN_TOKEN {problem}")
        return v

    def host_list(self, field: str) -> list[str]:
        """A comma-separated setting (allowed_hosts, trusted_proxies) as a list."""
        raw: str = getattr(self, field)
        return [x.strip() for x in raw.split(",") if x.strip()]

    @field_validator("mqtt")
    @classmethod
    def _mqtt_url(cls, v: str | None) -> str | None:
        if v is not None:
            parse_broker_url(v)  # raises MqttConfigError, a ValueError, with the reason
        return v

    @model_validator(mode="after")
    def _mqtt_tls_files(self) -> Settings:
        if self.mqtt is not None:
            parse_broker_url(self.mqtt, ca_file=self.mqtt_ca_file, cert_file=self.mqtt_cert_file,
                             key_file=self.mqtt_key_file)
        elif self.mqtt_ca_file or self.mqtt_cert_file or self.mqtt_key_file:
            raise ValueError("MQTT TLS files need --mqtt mqtts://HOST:PORT")
        return self

    def mqtt_broker(self) -> BrokerAddress | None:
        """The external broker (None: the embedded one), its TLS files and password: the
        URL's, else ``mqtt_password_file``'s, else ``GRIDWATCH_MQTT_PASSWORD``.

        Raises:
            MqttConfigError: the password file cannot be read, or TLS files for mqtt://.
        """
        if self.mqtt is None:
            return None
        password = self.mqtt_password.get_secret_value() if self.mqtt_password else None
        if self.mqtt_password_file is not None:
            password = read_secret_file(self.mqtt_password_file)
        return parse_broker_url(self.mqtt, ca_file=self.mqtt_ca_file, cert_file=self.mqtt_cert_file,
                                key_file=self.mqtt_key_file, password=password)

    def mqtt_tls(self) -> MqttTls | None:
        """TLS settings of the external broker (None: plain TCP or the embedded broker)."""
        broker = self.mqtt_broker()
        return broker.tls if broker is not None else None

    def mqtt_parts(self) -> tuple[str, int, str | None, str | None]:
        """(host, port, username, password) of the broker to use."""
        broker = self.mqtt_broker()
        if broker is None:
            return "127.0.0.1", self.mqtt_port, None, None
        return broker.host, broker.port, broker.username, broker.password
