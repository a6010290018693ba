"""The store protocols every backend implements.

Layer: adapters (the interface the service and the API program against).

Two protocols, because the two kinds of data live in different places:

* :class:`ReadingStore`: the time series (SQLite by default, InfluxDB for a
  district). Written by the ingest thread, read by the API.
* the alert-state store (alerts, device last state, dead letters, audit log):
  always SQLite, see :mod:`store.sqlite`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sensors.batch import ReadingBatch


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One reading (or one aggregation window) of one device.

    Attributes:
        ts: event time, epoch seconds (window start when aggregated).
        values: field name → value; booleans come back as 0.0 / 1.0 numbers when
            aggregated (the share of the window they were true), as bool otherwise.
        seq: the device's counter when known (raw readings only).
    """

    ts: float
    values: dict[str, float | bool] = field(default_factory=dict)
    seq: int | None = None


@runtime_checkable
class ReadingStore(Protocol):
    """Where readings go; a backend is chosen at start-up (``--store``)."""

    def write(self, batch: ReadingBatch) -> None:
        """Store a batch; when this returns the batch is durable (stored or spooled).

        Writing the same reading twice (same device, event time and seq, as after
        an MQTT redelivery) stores it once.

        Raises:
            StoreError: the batch could not be made durable; the caller must not
                acknowledge it.
        """
        ...

    def history(
        self,
        device_id: str,
        start: float,
        end: float,
        *,
        every_s: float | None = None,
        limit: int = 10_000,
    ) -> list[HistoryPoint]:
        """Readings of one device with ``start <= ts < end``, oldest first.

        With ``every_s`` the readings are aggregated into windows of that length
        (numbers: mean; flags: share of the window they were true).
        """
        ...

    def count(self, device_id: str | None = None) -> int:
        """How many readings are stored (for one device, or all)."""
        ...

    def health(self) -> dict[str, object]:
        """Backend facts for ``/api/health`` (reachable, spool size, ...)."""
        ...

    def close(self) -> None:
        """Flush and release everything."""
        ...
