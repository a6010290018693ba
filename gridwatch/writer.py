"""The one writer of the alarm side: a thread that runs every change as a job in one
SQLite transaction, in order, and retries a job the database refused.

Layer: composition root. A job is a function run inside :meth:`Database.write`;
hooks of the owner (:class:`gridwatch.alarm.AlarmPath`) run before the commit
(escalation of the changes the job made) and after it (notices out, pages told)
or after a rollback (in-memory state put back). A job the database refuses
(locked by another process, disk full, read only) is retried with backoff until it
commits: nothing is dropped, and the ingest, which waits for its job, does not
acknowledge the broker meanwhile. The refusal is a fault the owner turns into a
system alert and a failing health check.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sensors.errors import GridWatchError
from store.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

# Backoff between tries of a refused job: short first (a backup's lock is brief).
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0


class WriterStopped(GridWatchError):
    """The writer was stopped before the job ran."""


class WriterHooks(Protocol):
    """What the owner of the writer does around each transaction."""

    def before_commit(self) -> None:
        """Inside the transaction, after the job (escalation of its changes)."""
        ...

    def after_commit(self) -> None:
        """The transaction committed (notices out, listeners told)."""
        ...

    def after_rollback(self) -> None:
        """The transaction rolled back (in-memory state put back)."""
        ...

    def fault(self, exc: BaseException | None, tries: int) -> None:
        """The database refused a job (``exc``), or accepts again (None)."""
        ...


@dataclass(slots=True)
class _Job:
    name: str
    fn: Callable[[], Any]
    future: Future[Any] = field(default_factory=Future)


class Writer:
    """Runs jobs one at a time, each in one transaction."""

    def __init__(self, db: Database, hooks: WriterHooks) -> None:
        """Args: the database; the owner's hooks."""
        self.db = db
        self.hooks = hooks
        self._q: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="alarm-writer", daemon=True)
        self._stopping = threading.Event()
        self.failing_since: float | None = None
        self.last_error = ""
        self.jobs = 0
        self.retries = 0
        self.ident: int | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def on_thread(self) -> bool:
        """Whether the caller is the writer thread (jobs may call each other inline)."""
        return threading.get_ident() == self.ident

    def submit(self, name: str, fn: Callable[[], T]) -> Future[T]:
        """Queue a job; its future has the job's result (or exception)."""
        job = _Job(name, fn)
        if self._stopping.is_set():
            job.future.set_exception(WriterStopped(f"{name}: the writer is stopped"))
            return job.future
        self._q.put(job)
        return job.future

    def call(self, name: str, fn: Callable[[], T], timeout_s: float | None = None) -> T:
        """Run a job and wait for it (inline when called from the writer thread).

        Raises:
            TimeoutError: not done in ``timeout_s`` (it is cancelled if not started).
        """
        if self.on_thread():
            return fn()
        fut = self.submit(name, fn)
        try:
            return fut.result(timeout_s)
        except TimeoutError:
            fut.cancel()
            raise

    def backlog(self) -> int:
        """Jobs waiting."""
        return self._q.qsize()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Run what is queued, then stop."""
        self._stopping.set()
        self._q.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        self.ident = threading.get_ident()
        while True:
            job = self._q.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            self._execute(job)

    def _execute(self, job: _Job) -> None:
        tries = 0
        while True:
            try:
                with self.db.write():
                    result = job.fn()
                    self.hooks.before_commit()
            except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as exc:
                self._rolled_back()
                tries += 1
                self.retries += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                    log.error("the alarm store refused %s (%s); retrying until it accepts", job.name, exc)
                self._hook_fault(exc, tries)
                if self._stopping.is_set() and tries >= 3:
                    job.future.set_exception(exc)
                    return
                time.sleep(min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** min(tries - 1, 8)))
                continue
            except BaseException as exc:  # a refused action, or a bug: the job fails alone
                self._rolled_back()
                job.future.set_exception(exc)
                return
            break
        self.jobs += 1
        if self.failing_since is not None:
            log.warning("the alarm store accepts again after %d tries", tries)
            self.failing_since = None
            self._hook_fault(None, 0)
        try:
            self.hooks.after_commit()
        except Exception:
            log.exception("after-commit of %s failed", job.name)
        job.future.set_result(result)

    def _rolled_back(self) -> None:
        try:
            self.hooks.after_rollback()
        except Exception:
            log.exception("putting state back after a rollback failed")

    def _hook_fault(self, exc: BaseException | None, tries: int) -> None:
        try:
            self.hooks.fault(exc, tries)
        except Exception:
            log.exception("reporting a store fault failed")


__all__ = ["RETRY_FIRST_S", "RETRY_MAX_S", "Writer", "WriterHooks", "WriterStopped"]
