"""The device registry as arrays: what the ingest and the rule core need per device.

Layer: pure core. Built once from the site (see ``topology.index.SiteIndex.device_table``);
rows are indexed by a device's registry position (``device_idx``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.fields import DeviceKind

KIND_CODES: tuple[DeviceKind, ...] = tuple(DeviceKind)
KIND_CODE: dict[DeviceKind, int] = {k: i for i, k in enumerate(KIND_CODES)}


@dataclass(slots=True)
class DeviceTable:
    """Per-device facts in arrays, one row per device.

    Attributes:
        community: the community id (the MQTT topic's second level).
        ids: device ids, row order.
        index: device id → row.
        kind: int8 code of each device's kind (``KIND_CODES[code]``).
        heartbeat_s: expected reporting interval, seconds.
        household: int32 row of the device's household, -1 for common areas.
        unit: int32 row of the device's unit, -1 when listed on a building.
        elderly_alone: True where the household is flagged elderly living alone.
    """

    community: str
    ids: list[str]
    index: dict[str, int]
    kind: npt.NDArray[np.int8]
    heartbeat_s: npt.NDArray[np.float64]
    household: npt.NDArray[np.int32]
    unit: npt.NDArray[np.int32]
    elderly_alone: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.ids)
