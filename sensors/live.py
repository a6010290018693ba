"""Each device's live state: last value of every field, last seen, online.

Layer: pure core. Arrays indexed by registry row; updated from batches by the
ingest thread, read by the API and the console. Readings older than what is
already known do not overwrite newer values (out-of-order delivery).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sensors.batch import ReadingBatch
from sensors.fields import FIELDS, N_FIELDS
from sensors.registry import DeviceTable

UNKNOWN, OFFLINE, ONLINE = -1, 0, 1


class LiveState:
    """Latest known state of every device.

    Attributes:
        values: (devices, N_FIELDS) last value of each field, NaN unknown.
        value_ts: (devices, N_FIELDS) event time of each last value.
        last_seen: (devices,) receive time of the last message, NaN never.
        online: (devices,) int8: -1 unknown, 0 offline (availability), 1 online.
        messages: (devices,) int64 count of accepted messages.
    """

    def __init__(self, table: DeviceTable) -> None:
        """Args: the device table (sets the number of rows)."""
        n = len(table)
        self.table = table
        self.values = np.full((n, N_FIELDS), np.nan)
        self.value_ts = np.full((n, N_FIELDS), -np.inf)
        self.last_seen = np.full(n, np.nan)
        self.online = np.full(n, UNKNOWN, dtype=np.int8)
        self.messages = np.zeros(n, dtype=np.int64)

    def update(self, batch: ReadingBatch) -> None:
        """Fold a batch in; a value older than the known one is ignored."""
        if not len(batch):
            return
        order = np.argsort(batch.ts, kind="stable")
        dev = batch.device_idx[order]
        ts = batch.ts[order]
        vals = batch.values[order]
        np.add.at(self.messages, batch.device_idx, 1)
        np.fmax.at(self.last_seen, batch.device_idx, batch.recv_ts)
        present = ~np.isnan(vals)
        newer = ts[:, None] >= self.value_ts[dev]
        rows, cols = np.nonzero(present & newer)
        # Rows are in time order, so for a repeated (device, field) the last write wins.
        self.values[dev[rows], cols] = vals[rows, cols]
        self.value_ts[dev[rows], cols] = ts[rows]
        self.online[np.unique(batch.device_idx)] = ONLINE

    def set_online(self, idx: int, online: bool, recv_ts: float) -> None:
        """Apply an availability message."""
        self.online[idx] = ONLINE if online else OFFLINE
        if not math.isnan(recv_ts):
            self.last_seen[idx] = np.fmax(self.last_seen[idx], recv_ts)

    def fields_of(self, idx: int) -> dict[str, float | bool]:
        """The known fields of one device, as JSON-ready values."""
        out: dict[str, float | bool] = {}
        for col, spec in enumerate(FIELDS):
            v = float(self.values[idx, col])
            if not math.isnan(v):
                out[spec.name] = bool(v) if spec.boolean else v
        return out

    def rows(self) -> list[tuple[str, float | None, bool | None, dict[str, Any]]]:
        """Every seen device as (id, last_seen, online, fields) for persistence."""
        out: list[tuple[str, float | None, bool | None, dict[str, Any]]] = []
        for idx in np.flatnonzero(~np.isnan(self.last_seen)).tolist():
            on = int(self.online[idx])
            out.append((self.table.ids[idx], float(self.last_seen[idx]),
                        None if on == UNKNOWN else on == ONLINE,
                        {"fields": self.fields_of(idx), "ts": self._ts_of(idx)}))
        return out

    def _ts_of(self, idx: int) -> dict[str, float]:
        return {FIELDS[c].name: float(self.value_ts[idx, c])
                for c in range(N_FIELDS) if np.isfinite(self.value_ts[idx, c])}

    def restore(self, saved: dict[str, tuple[float | None, bool | None, dict[str, Any]]]) -> None:
        """Load what :meth:`rows` saved."""
        col = {f.name: i for i, f in enumerate(FIELDS)}
        for device_id, (last_seen, online, data) in saved.items():
            idx = self.table.index.get(device_id)
            if idx is None:
                continue
            if last_seen is not None:
                self.last_seen[idx] = last_seen
            self.online[idx] = UNKNOWN if online is None else (ONLINE if online else OFFLINE)
            for name, v in data.get("fields", {}).items():
                if name in col:
                    self.values[idx, col[name]] = float(v)
                    self.value_ts[idx, col[name]] = data.get("ts", {}).get(name, -np.inf)
