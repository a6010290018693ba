"""Turning new condition codes into :class:`Transition` objects, only where they change.

Layer: pure core. Every rule computes the code it wants for a set of devices; the
emitter masks devices in maintenance (no alert while in test mode, GB/T 45839
5.8.4), compares with the stored code, stores the change and builds transitions
for the (few) rows that changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alerts.rules.state import CODE_SEVERITY, HAZARDS, State
from alerts.rules.types import Transition

Detail = Sequence[str] | tuple[npt.NDArray[np.intp], Sequence[str]]
"""Either one string per code (indexed by the new code) or (per-row index, strings)."""


class Emitter:
    """Collects the transitions of one call into the engine.

    Attributes:
        out: transitions in emission order.
        smoke_raised: (ts, device) of each smoke alarm raised in this call, for grouping.
    """

    def __init__(self, st: State, any_maint: bool = True) -> None:
        self.st = st
        self.any_maint = any_maint
        self.out: list[Transition] = []
        self.smoke_raised: list[tuple[float, int]] = []

    def emit(
        self,
        h: int,
        d: npt.NDArray[np.intp],
        new: npt.NDArray[np.integer],
        ts: npt.NDArray[np.float64] | float,
        value: npt.NDArray[np.floating] | float = np.nan,
        detail: Detail = ("", "", "", "", ""),
    ) -> npt.NDArray[np.intp]:
        """Store ``new`` codes of hazard ``h`` for devices ``d``; return the changed rows."""
        st = self.st
        if self.any_maint:
            new = np.where(st.maint.take(d), 0, new)
        old = st.cond[h][d]
        ch: npt.NDArray[np.intp] = (new != old).nonzero()[0]
        if ch.size == 0:
            return ch
        dd = d[ch]
        nn = new[ch].astype(np.int8)
        st.cond[h][dd] = nn
        hazard = HAZARDS[h]
        ts_l = ts[ch].tolist() if isinstance(ts, np.ndarray) else [float(ts)] * ch.size
        v_l = value[ch].tolist() if isinstance(value, np.ndarray) else [float(value)] * ch.size
        codes = nn.tolist()
        if isinstance(detail, tuple) and len(detail) == 2 and isinstance(detail[0], np.ndarray):
            idx, names = detail
            det = [names[i] for i in idx[ch].tolist()]
        else:
            det = [detail[c] for c in codes]  # type: ignore[index,unused-ignore]
        self.out.extend(
            Transition(dev, hazard, CODE_SEVERITY[c], t, float(v), s)
            for dev, c, t, v, s in zip(dd.tolist(), codes, ts_l, v_l, det, strict=True)
        )
        return ch

    def one(self, st_code: int, dev: int, h: int, ts: float, value: float, detail: str) -> None:
        """Store and emit one code change of one device (no maintenance masking)."""
        self.st.cond[h][dev] = st_code
        self.out.append(Transition(dev, HAZARDS[h], CODE_SEVERITY[st_code], ts, value, detail))
