"""Each device's live state: last value of every field, last seen, online.

Layer: pure core. Arrays indexed by registry row; updated from batches by the
ingest thread, read by the API and the console. A field's value is the one of the
newest reading that carried it, by (event time, ``seq``): readings older than what is
already known do not overwrite newer values (out-of-order delivery), and a reading
delivered again with the same (event time, ``seq``) is the same reading: its first
value counts, as in the rule core and the readings store.
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
        value_seq: (devices, N_FIELDS) ``seq`` of each last value.
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
        self.value_seq = np.full((n, N_FIELDS), np.iinfo(np.int64).min, dtype=np.int64)
        self.last_seen = np.full(n, np.nan)
        self.online = np.full(n, UNKNOWN, dtype=np.int8)
        self.messages = np.zeros(n, dtype=np.int64)

    ARRAYS = ("values", "value_ts", "value_seq", "last_seen", "online", "messages")

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every array (a checkpoint keeps these: a few ms, where :meth:`rows`
        builds a dict per device)."""
        return {name: getattr(self, name).copy() for name in self.ARRAYS}

    def restore_arrays(self, snap: dict[str, np.ndarray]) -> bool:
        """Load :meth:`snapshot`'s arrays; False (nothing changed) when they do not fit
        this registry."""
        if any(name not in snap or snap[name].shape != getattr(self, name).shape for name in self.ARRAYS):
            return False
        for name in self.ARRAYS:
            getattr(self, name)[...] = snap[name]
        return True

    def update(self, batch: ReadingBatch) -> None:
        """Fold a batch in: per field, the value of the newest reading by (event time,
        ``seq``) wins; an older one is ignored, and of two readings with the same key
        (a redelivery, within the batch or after an earlier one) the first counts."""
        n = len(batch)
        if not n:
            return
        dev_all = batch.device_idx.astype(np.intp)
        np.add.at(self.messages, dev_all, 1)
        np.fmax.at(self.last_seen, dev_all, batch.recv_ts)
        self.online[np.unique(dev_all)] = ONLINE
        # by device, event time, seq and arrival; a repeated key keeps its first row
        order = np.lexsort((np.arange(n), batch.seq, batch.ts, dev_all))
        dev, ts, seq = dev_all[order], batch.ts[order], batch.seq[order]
        first = np.ones(n, dtype=np.bool_)
        first[1:] = (dev[1:] != dev[:-1]) | (ts[1:] != ts[:-1]) | (seq[1:] != seq[:-1])
        if not first.all():
            order, dev, ts, seq = order[first], dev[first], ts[first], seq[first]
        vals = batch.values[order]
        known_ts, known_seq = self.value_ts[dev], self.value_seq[dev]
        newer = (ts[:, None] > known_ts) | ((ts[:, None] == known_ts) & (seq[:, None] > known_seq))
        take = newer & ~np.isnan(vals)
        for col in np.flatnonzero(take.any(axis=0)).tolist():
            rows = np.flatnonzero(take[:, col])
            d = dev[rows]
            last = rows[np.append(d[1:] != d[:-1], True)]  # the newest row of each device
            self.values[dev[last], col] = vals[last, col]
            self.value_ts[dev[last], col] = ts[last]
            self.value_seq[dev[last], col] = seq[last]

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
                        {"fields": self.fields_of(idx), "ts": self._ts_of(idx),
                         "seq": self._seq_of(idx)}))
        return out

    def _ts_of(self, idx: int) -> dict[str, float]:
        return {FIELDS[c].name: float(self.value_ts[idx, c])
                for c in range(N_FIELDS) if np.isfinite(self.value_ts[idx, c])}

    def _seq_of(self, idx: int) -> dict[str, int]:
        return {FIELDS[c].name: int(self.value_seq[idx, c])
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
                    self.value_seq[idx, col[name]] = data.get("seq", {}).get(
                        name, np.iinfo(np.int64).min)
