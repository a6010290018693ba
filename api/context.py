"""What the API needs from the running service, as a protocol (the runtime provides it).

Layer: adapters. Keeps the API independent of the composition root.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from alerts.service import AlertChange, AlertService
from ingest.mqtt import MqttIngest
from ingest.pipeline import IngestPipeline
from sensors.live import LiveState
from sensors.registry import DeviceTable
from store.protocol import ReadingStore
from store.state import StateStore
from store.users import UserStore
from topology.index import SiteIndex


class ApiContext(Protocol):
    """The parts of a running GridWatch the API reads and drives."""

    index: SiteIndex
    table: DeviceTable
    live: LiveState
    readings: ReadingStore
    state: StateStore
    users: UserStore
    alerts: AlertService
    pipeline: IngestPipeline
    ingest: MqttIngest
    engine_lock: threading.Lock
    engine: Any
    settings: Any
    clock: Any
    counters: Any

    def sweep(self) -> list[AlertChange]:
        """Run the absence rules now."""
        ...
