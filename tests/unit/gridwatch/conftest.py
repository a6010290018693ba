"""An alarm path over the tiny site, in process: real SQLite, no MQTT, no HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alerts.notify.types import NullNotifier
from alerts.rules.engine import RuleEngine
from alerts.rules.params import params_for_site
from gridwatch.alarm import AlarmPath
from sensors.batch import ReadingBatch
from sensors.fields import FIELD_INDEX, N_FIELDS
from sensors.live import LiveState
from store.db import Database
from store.notify import NotifyStore
from store.state import StateStore
from tests.sites import tiny_site
from topology.index import SiteIndex, device_table
from topology.model import Site


class Clock:
    """A manual clock."""

    manual = True

    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def step(self) -> float:
        return 0.0


class Harness:
    """An alarm path on a data directory; :meth:`restart` builds a new one on it."""

    def __init__(self, data: Path, site: dict[str, Any] | None = None, clock: Clock | None = None) -> None:
        self.data = data
        self.site = Site.model_validate(site or tiny_site())
        self.index = SiteIndex(self.site)
        self.table = device_table(self.index)
        self.clock = clock or Clock()
        self.notifier = NullNotifier()
        self.path = self._build()

    def _build(self) -> AlarmPath:
        self.db = Database(self.data / "state.db")
        self.state = StateStore(self.db)
        self.engine = RuleEngine(self.table, params_for_site(self.index, self.table))
        self.live = LiveState(self.table)
        self.live.restore(self.state.load_device_states())
        path = AlarmPath(index=self.index, db=self.db, state=self.state,
                         notify_store=NotifyStore(self.db), engine=self.engine, live=self.live,
                         notifier=self.notifier, clock=self.clock)
        path.start()
        return path

    def restart(self, *, clean: bool = False) -> AlarmPath:
        """A new process on the same directory (``clean``: stopped first, with its last
        checkpoint; else as after ``kill -9``: the writer just stops)."""
        if clean:
            self.path.stop()
        else:
            self.path.writer.stop()
        self.db.close()
        self.path = self._build()
        return self.path

    def batch(self, rows: list[tuple[str, float, dict[str, float]]], seq0: int = 1) -> ReadingBatch:
        ids, idx, ts, seq = [], [], [], []
        values = np.full((len(rows), N_FIELDS), np.nan)
        for i, (dev, t, fields) in enumerate(rows):
            ids.append(dev)
            idx.append(self.table.index[dev])
            ts.append(t)
            seq.append(seq0 + i)
            for k, v in fields.items():
                values[i, FIELD_INDEX[k]] = float(v)
        a = np.array
        return ReadingBatch(ids, a(idx, dtype=np.int32), a(ts, dtype=np.float64), a(ts, dtype=np.float64),
                            a(seq, dtype=np.int64), np.asfortranarray(values))

    def readings(self, rows: list[tuple[str, float, dict[str, float]]], seq0: int = 1) -> int:
        return self.path.readings(self.batch(rows, seq0), [], [], {}, self.clock())

    def open_keys(self) -> set[str]:
        return {a.key for a in self.state.open_alerts()}


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.path.writer.stop()
    h.db.close()
