"""Columnar batches of decoded readings: what ingest hands to the store and the rule core.

Layer: pure core. One row per accepted message; ``values`` has one column per
:data:`sensors.fields.FIELDS` entry (NaN where the message did not carry it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.fields import N_FIELDS

NO_SEQ = -1


@dataclass(slots=True)
class ReadingBatch:
    """Readings in columns, in arrival order.

    Attributes:
        device_ids: the device id of each row.
        device_idx: the registry index of each row's device (int32).
        ts: event time of each row, epoch seconds (float64): the device's ``ts``
            when present and within the allowed skew, else ``recv_ts``.
        recv_ts: when the service received the row, epoch seconds (float64).
        seq: the device's message counter, or :data:`NO_SEQ` (int64).
        values: (rows, N_FIELDS) float64, column-major when built here (the rule core
            reads whole fields); booleans as 0.0 / 1.0, absent as NaN.
    """

    device_ids: list[str]
    device_idx: npt.NDArray[np.int32]
    ts: npt.NDArray[np.float64]
    recv_ts: npt.NDArray[np.float64]
    seq: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.device_ids)

    @classmethod
    def empty(cls) -> ReadingBatch:
        """A batch with no rows."""
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> ReadingBatch:
        """Build a batch from decoded rows (see :class:`Row`)."""
        n = len(rows)
        # column-major: the rule kernel reads whole fields (alerts.rules.kernel)
        values = np.asfortranarray(np.array([r.values for r in rows], dtype=np.float64)) if n \
            else np.empty((0, N_FIELDS), dtype=np.float64, order="F")
        return cls(
            device_ids=[r.device_id for r in rows],
            device_idx=np.fromiter((r.device_idx for r in rows), dtype=np.int32, count=n),
            ts=np.fromiter((r.ts for r in rows), dtype=np.float64, count=n),
            recv_ts=np.fromiter((r.recv_ts for r in rows), dtype=np.float64, count=n),
            seq=np.fromiter((r.seq for r in rows), dtype=np.int64, count=n),
            values=values.reshape(n, N_FIELDS),
        )

    def take(self, mask_or_index: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> ReadingBatch:
        """The rows selected by a boolean mask or an index array, as a new batch."""
        idx = np.flatnonzero(mask_or_index) if mask_or_index.dtype == np.bool_ else mask_or_index
        return ReadingBatch(
            device_ids=[self.device_ids[i] for i in idx.tolist()],
            device_idx=self.device_idx[idx],
            ts=self.ts[idx],
            recv_ts=self.recv_ts[idx],
            seq=self.seq[idx],
            values=self.values[idx],
        )


@dataclass(slots=True)
class Row:
    """One decoded reading before it joins a batch."""

    device_id: str
    device_idx: int
    ts: float
    recv_ts: float
    seq: int
    values: list[float]
