"""InfluxDB reading store: line protocol in, InfluxQL out, a disk spool between.

Layer: adapters. Implements :class:`store.protocol.ReadingStore` over the
v1-compatible HTTP API (``/write``, ``/query``, ``/ping``), which InfluxDB 1.x,
2.x (token auth, DBRP or the bucket's virtual mapping) and 3.x all serve, so
one code path covers every generation. The schema is in :mod:`store.lineprotocol`.

Writing. :meth:`InfluxReadingStore.write` encodes the batch in chunks of
``batch_max_points``, gzips each and posts up to ``max_in_flight`` at once. It
returns once every chunk is stored (HTTP 204) or appended to the disk spool
(:mod:`store.spool`), so the caller may acknowledge the MQTT messages then.
Chunks that meet a connection error, a timeout or a 5xx/401/403/404 go to the
spool; while the spool holds anything, new batches go there too, so replay
keeps the arrival order. A 400 (bad points; InfluxDB keeps the good ones of a
partial write) is logged and counted, never spooled: it would fail forever.
When the spool is full, write raises :class:`sensors.errors.StoreError` and
health reports ``data_gap`` until the spool has drained.

Nothing is buffered in memory across calls: batching by age belongs to the
caller (ingest collects messages for a while before it calls write and acks).

Background. One maintenance thread replays the spool in order every
``flush_interval_s`` (sooner when woken by a write) and, when the spool is
empty, runs the downsampling job:

* ``reading_1m``: per device and minute, ``<field>`` (mean), ``<field>_min``,
  ``<field>_max`` and ``n`` (readings), computed with an InfluxQL ``GROUP BY
  time(1m), *`` query and written back with ``/write``; windows older than
  ``downsample_lateness_s`` are final, the latest ones are recomputed on the
  next run (the rewrite overwrites). ``reading_1h`` is built the same way from
  ``reading_1m`` (mean of the minute means, min of mins, max of maxes, sum of n).
  No continuous queries, tasks or ``SELECT INTO``: none of them exists on every
  generation.
* raw retention: on 1.x the job deletes raw points older than
  ``raw_retention_s`` (``DELETE FROM reading WHERE time < ...``; rollups stay).
  2.x and 3.x have no per-measurement delete on the v1 API: give the raw bucket
  or database that retention period and point ``rollup_database`` (and
  ``rollup_retention_policy``) at a longer-lived one; health says which applies.

Errors from httpx are translated here (``StoreUnavailable``/``StoreError``).
"""

from __future__ import annotations

import logging
import math
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

from sensors.batch import ReadingBatch
from sensors.errors import StoreError, StoreUnavailable
from sensors.fields import FIELDS
from store.influx_downsample import Downsampler
from store.lineprotocol import MEASUREMENT, ROLLUP_1H, ROLLUP_1M, SEQ_FIELD, LineEncoder, ts_from_ns
from store.protocol import HistoryPoint
from store.spool import Spool, SpoolFull

log = logging.getLogger(__name__)

_FIELD_NAMES = [f.name for f in FIELDS]
_BOOLEAN = frozenset(f.name for f in FIELDS if f.boolean)
_SPOOL_STATUSES = frozenset({401, 403, 404, 408, 429})


class _Rejected(StoreError):
    """InfluxDB refused the points themselves (HTTP 400): retrying cannot help."""


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(text: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def time_bound_ns(ts: float) -> int:
    """An epoch-seconds bound as the ns integer InfluxQL compares ``time`` with."""
    return int(round(ts * 1e6)) * 1000


class InfluxReadingStore:
    """Readings in InfluxDB, with a disk spool so no reading is lost while it is away.

    Args:
        url: base URL, e.g. ``http://127.0.0.1:8086``.
        database: database (1.x), or the database name mapped to a bucket (2.x, 3.x).
        retention_policy: retention policy to write raw readings to (None: the default).
        token: API token (2.x, 3.x), sent as ``Authorization: Token ...``.
        username: user (1.x), sent with ``password`` as HTTP basic auth.
        password: password of ``username``.
        series_tags: device id → tags (community, grid, building, device, kind).
        spool_dir: directory of the disk spool.
        spool_max_bytes: cap on the spool's size on disk.
        batch_max_points: points per POST.
        flush_interval_s: how often the spool is retried while InfluxDB is away.
        max_in_flight: concurrent POSTs of one write.
        timeout_s: HTTP timeout; a write slower than this is spooled.
        gzip_level: 1-9, or 0 to post uncompressed.
        create_database: on 1.x, create the database when missing.
        raw_retention_s: keep raw readings this long (1.x: deleted by the job; None: forever).
        rollup_database: where ``reading_1m``/``reading_1h`` go (None: ``database``).
        rollup_retention_policy: retention policy of the rollups (None: the default).
        downsample_interval_s: how often the downsampling job runs (None: never).
        downsample_lateness_s: how long a minute stays open to late readings.
        clock: the current time, epoch s (tests pass a fake one).
        transport: an httpx transport (tests), else a real connection pool.
        ca_file: PEM CA file an ``https://`` server's certificate must chain to (None:
            the system's CAs).
    """

    def __init__(
        self,
        url: str,
        database: str,
        *,
        retention_policy: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        series_tags: Mapping[str, Mapping[str, str]],
        spool_dir: Path,
        spool_max_bytes: int = 1 << 30,
        batch_max_points: int = 5000,
        flush_interval_s: float = 1.0,
        max_in_flight: int = 2,
        timeout_s: float = 10.0,
        gzip_level: int = 1,
        create_database: bool = True,
        raw_retention_s: float | None = None,
        rollup_database: str | None = None,
        rollup_retention_policy: str | None = None,
        downsample_interval_s: float | None = 60.0,
        downsample_lateness_s: float = 120.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.retention_policy = retention_policy
        self.batch_max_points = batch_max_points
        self.flush_interval_s = flush_interval_s
        self.max_in_flight = max_in_flight
        self.gzip_level = gzip_level
        self.create_database = create_database
        self.raw_retention_s = raw_retention_s
        self.rollup_database = rollup_database or database
        self.rollup_retention_policy = rollup_retention_policy
        self._clock = clock
        self._encoder = LineEncoder(series_tags)
        self._spool = Spool(spool_dir, max_bytes=spool_max_bytes)
        headers = {"Authorization": f"Token {token}"} if token else {}
        auth = (username, password or "") if username else None
        self._client = httpx.Client(
            base_url=self.url,
            headers=headers,
            auth=auth,
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=max_in_flight + 2),
            # https:// with a private CA: only that CA (else the system's)
            verify=ssl.create_default_context(cafile=str(ca_file)) if ca_file else True,
        )
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="influx-post")
        self._lock = threading.Lock()  # counters and the spool-or-post decision
        self._stats: dict[str, int] = dict.fromkeys(
            (
                "written_points",
                "spooled_batches",
                "replayed_records",
                "rejected_batches",
                "refused_batches",
                "refused_points",
            ),
            0,
        )
        self._data_gap = False
        self._reachable: bool | None = None
        self._last_error: str | None = None
        self.server_version: str | None = None
        self._database_ready = False
        self._stop = threading.Event()
        self._downsampler = Downsampler(
            self, interval_s=downsample_interval_s, lateness_s=downsample_lateness_s,
            stopping=self._stop.is_set,
        )
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._maintain, name="influx-maint", daemon=True)
        self._thread.start()

    # -- ReadingStore ----------------------------------------------------------

    def write(self, batch: ReadingBatch) -> None:
        """Store a batch; on return it is in InfluxDB or in the disk spool.

        Raises:
            StoreError: the spool is full (or the disk failed); nothing of the
                batch that was not stored is kept, so the caller must not ack it.
        """
        n = len(batch)
        if not n:
            return
        if not self._spool.is_empty():
            self._spool_bodies(
                [self._body(batch, i) for i in range(0, n, self.batch_max_points)], n
            )
            return
        failed: list[bytes] = []
        in_flight: list[tuple[bytes, Future[None]]] = []
        for start in range(0, n, self.batch_max_points):
            body = self._body(batch, start)
            if failed:  # InfluxDB is away: don't wait for each chunk to time out
                failed.append(body)
                continue
            in_flight.append((body, self._pool.submit(self._post_body, body)))
            if len(in_flight) >= self.max_in_flight:
                failed.extend(self._settle(in_flight.pop(0)))
        for item in in_flight:
            failed.extend(self._settle(item))
        if failed:
            self._spool_bodies(failed, n)
            return
        with self._lock:
            self._stats["written_points"] += n

    def history(
        self,
        device_id: str,
        start: float,
        end: float,
        *,
        every_s: float | None = None,
        limit: int = 10_000,
    ) -> list[HistoryPoint]:
        """Readings of one device with ``start <= ts < end``, oldest first, maybe aggregated.

        Aggregated windows come from the rollups when the raw readings of the
        range are past ``raw_retention_s`` and the window is a whole number of
        minutes (hours); flags come back as the share of the window they were true.
        """
        where = (
            f"{quote_ident('device')} = {quote_literal(device_id)} "
            f"AND time >= {time_bound_ns(start)} AND time < {time_bound_ns(end)}"
        )
        if every_s:
            every_s = max(float(every_s), 1.0)  # as the SQLite store: no window under a second
            source = self._downsampler.source_for(start, every_s, self._clock())
            cols = ", ".join(f"mean({quote_ident(f)}) AS {quote_ident(f)}" for f in _FIELD_NAMES)
            q = (
                f"SELECT {cols} FROM {source} WHERE {where} "  # noqa: S608 - InfluxQL built from quoted identifiers, literals and numbers
                f"GROUP BY time({max(1, round(every_s * 1000))}ms) fill(none) LIMIT {int(limit)}"
            )
            return [
                HistoryPoint(row["time"] / 1e9, _values(row, booleans=False))
                for row in self._rows(self.query(q))
            ]
        cols = ", ".join(quote_ident(f) for f in (SEQ_FIELD, *_FIELD_NAMES))
        q = f"SELECT {cols} FROM {self.source(MEASUREMENT)} WHERE {where} LIMIT {int(limit)}"  # noqa: S608 - InfluxQL built from quoted identifiers, literals and numbers
        out = []
        for row in self._rows(self.query(q)):
            seq = row.get(SEQ_FIELD)
            out.append(
                HistoryPoint(
                    ts_from_ns(int(row["time"])),
                    _values(row, booleans=True),
                    None if seq is None or seq < 0 else int(seq),
                )
            )
        return out

    def count(self, device_id: str | None = None) -> int:
        """How many raw readings are stored (for one device, or all)."""
        q = f"SELECT count({quote_ident(SEQ_FIELD)}) FROM {self.source(MEASUREMENT)}"  # noqa: S608 - InfluxQL built from quoted identifiers, literals and numbers
        if device_id is not None:
            q += f" WHERE {quote_ident('device')} = {quote_literal(device_id)}"
        rows = list(self._rows(self.query(q)))
        return int(rows[0]["count"]) if rows else 0

    def health(self) -> dict[str, object]:
        """Reachability, spool size, data gap and counters for ``/api/health``."""
        with self._lock:
            stats = dict(self._stats)
            return {
                "backend": "influx",
                "url": self.url,
                "database": self.database,
                "server_version": self.server_version,
                "reachable": self._reachable,
                "last_error": self._last_error,
                "spool_records": self._spool.records,
                "spool_bytes": self._spool.pending_bytes,
                "spool_disk_bytes": self._spool.disk_bytes,
                "spool_max_bytes": self._spool.max_bytes,
                "data_gap": self._data_gap,
                "retention": self._downsampler.retention_mode(),
                "downsampled_to_ts": self._downsampler.watermark_1m,
                **stats,
            }

    def close(self) -> None:
        """Stop the background thread and release connections; the spool stays on disk."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self._pool.shutdown(wait=True)
        self._client.close()
        self._spool.close()

    # -- extras ----------------------------------------------------------------

    def wait_drained(self, timeout_s: float) -> bool:
        """Block until the spool is empty (True) or ``timeout_s`` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while not self._spool.is_empty():
            if time.monotonic() >= deadline:
                return False
            self._wake.set()
            time.sleep(min(0.02, self.flush_interval_s))
        return True

    def downsample_now(self, now: float | None = None) -> int:
        """Run the downsampling job once (tests, maintenance); returns points written."""
        return self._downsampler.run(self._clock() if now is None else now)

    def query(self, q: str, *, method: str = "GET", database: str | None = None) -> list[Any]:
        """Run InfluxQL; returns the ``results`` list.

        Raises:
            StoreUnavailable: InfluxDB could not be reached.
            StoreError: it answered with an error.
        """
        params = {"db": database or self.database, "q": q, "epoch": "ns"}
        try:
            resp = self._client.request(method, "/query", params=params)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"InfluxDB query failed: {exc}") from exc
        try:
            body = orjson.loads(resp.content) if resp.content else {}
        except orjson.JSONDecodeError as exc:
            raise StoreError(f"InfluxDB query answered HTTP {resp.status_code}: not JSON") from exc
        if resp.status_code >= 300 or "error" in body:
            raise StoreError(
                f"InfluxDB query failed (HTTP {resp.status_code}): {body.get('error')}"
            )
        results: list[Any] = body.get("results", [])
        for result in results:
            if "error" in result:
                if str(result["error"]).startswith("database not found") and method == "GET":
                    return []  # nothing written yet (1.x creates it on the first write)
                raise StoreError(f"InfluxQL error: {result['error']}")
        return results

    def post_lines(self, body: bytes, *, database: str, retention_policy: str | None) -> None:
        """Post newline-terminated line protocol to any database (the rollups use it).

        Raises:
            StoreUnavailable: InfluxDB could not take it now.
            StoreError: it refused the points.
        """
        self._post(self._compress(body), database, retention_policy)

    # -- internals: writing ----------------------------------------------------

    def source(self, measurement: str) -> str:
        """The FROM clause of a measurement: raw in ``database``, rollups in ``rollup_database``."""
        if measurement in (ROLLUP_1M, ROLLUP_1H):
            db, rp = self.rollup_database, self.rollup_retention_policy
        else:
            db, rp = self.database, self.retention_policy
        if rp or db != self.database:
            return f"{quote_ident(db)}.{quote_ident(rp) if rp else ''}.{quote_ident(measurement)}"
        return quote_ident(measurement)

    def _body(self, batch: ReadingBatch, start: int) -> bytes:
        return self._compress(self._encoder.encode(batch, start, start + self.batch_max_points))

    def _compress(self, lines: bytes) -> bytes:
        return zlib.compress(lines, self.gzip_level, wbits=31) if self.gzip_level else lines

    def _settle(self, item: tuple[bytes, Future[None]]) -> list[bytes]:
        body, future = item
        try:
            future.result()
        except _Rejected:
            return []
        except StoreUnavailable:
            return [body]
        return []

    def _spool_bodies(self, bodies: list[bytes], n_points: int) -> None:
        try:
            self._spool.append(bodies)
        except SpoolFull as exc:
            with self._lock:
                self._data_gap = True
                self._stats["refused_batches"] += 1
                self._stats["refused_points"] += n_points
            log.error("InfluxDB spool full, batch of %d readings refused: %s", n_points, exc)
            raise
        with self._lock:
            self._stats["spooled_batches"] += 1
        self._wake.set()

    def _post_body(self, body: bytes) -> None:
        try:
            self._post(body, self.database, self.retention_policy)
        except _Rejected as exc:
            with self._lock:
                self._stats["rejected_batches"] += 1
            log.warning("InfluxDB rejected points (not retried): %s", exc)
            raise

    def _post(self, body: bytes, database: str, rp: str | None) -> None:
        params = {"db": database, "precision": "ns"}
        if rp:
            params["rp"] = rp
        headers = {"Content-Encoding": "gzip"} if self.gzip_level else {}
        try:
            resp = self._client.post("/write", params=params, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self._note(reachable=False, error=f"{type(exc).__name__}: {exc}")
            raise StoreUnavailable(f"InfluxDB write failed: {exc}") from exc
        if resp.status_code == 404 and self._maybe_create_database(database):
            self._post(body, database, rp)
            return
        if resp.status_code < 300:
            self._note(reachable=True, error=None)
            return
        detail = f"HTTP {resp.status_code}: {resp.text[:300]}"
        if resp.status_code >= 500 or resp.status_code in _SPOOL_STATUSES:
            self._note(reachable=resp.status_code < 500, error=detail)
            raise StoreUnavailable(f"InfluxDB write failed: {detail}")
        raise _Rejected(f"InfluxDB refused points: {detail}")

    def _note(self, *, reachable: bool, error: str | None) -> None:
        with self._lock:
            self._reachable = reachable
            if error is not None or reachable:
                self._last_error = error if error is not None else self._last_error

    def _maybe_create_database(self, database: str) -> bool:
        """On 1.x, create a missing database once; True when it was (re)created."""
        if not self.create_database or not self.is_v1():
            return False
        try:
            self.query(f"CREATE DATABASE {quote_ident(database)}", method="POST")
        except StoreError as exc:
            log.warning("could not create InfluxDB database %s: %s", database, exc)
            return False
        log.info("created InfluxDB database %s", database)
        return True

    def is_v1(self) -> bool:
        """True when the server is InfluxDB 1.x (asks it once)."""
        if self.server_version is None:
            self._ping()
        return (self.server_version or "").lstrip("v").startswith("1.")

    def _ping(self) -> bool:
        try:
            resp = self._client.get("/ping")
        except httpx.HTTPError as exc:
            self._note(reachable=False, error=f"{type(exc).__name__}: {exc}")
            return False
        version = resp.headers.get("X-Influxdb-Version")
        if version:
            self.server_version = version
        return resp.status_code < 300

    # -- internals: background -------------------------------------------------

    def _maintain(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            try:
                self._maintain_once()
            except Exception:  # the thread must outlive any one failure
                log.exception("InfluxDB maintenance failed")

    def _maintain_once(self) -> None:
        if not self._database_ready and self._ping():
            if self.create_database and self.is_v1():
                self.query(f"CREATE DATABASE {quote_ident(self.database)}", method="POST")
            self._database_ready = True
        if not self._spool.is_empty():
            self._replay()
        if self._spool.is_empty() and not self._stop.is_set():
            with self._lock:
                self._data_gap = False
            self._downsampler.maybe_run(self._clock())

    def _replay(self) -> None:
        while not self._stop.is_set():
            body = self._spool.peek()
            if body is None:
                return
            try:
                self._post(body, self.database, self.retention_policy)
            except _Rejected as exc:
                log.warning("InfluxDB rejected spooled points (dropped): %s", exc)
                with self._lock:
                    self._stats["rejected_batches"] += 1
            except StoreUnavailable:
                return  # try again after flush_interval_s
            self._spool.pop()
            with self._lock:
                self._stats["replayed_records"] += 1

    @staticmethod
    def _rows(results: list[Any]) -> Iterator[dict[str, Any]]:
        for result in results:
            for series in result.get("series", ()):
                cols = series["columns"]
                tags = series.get("tags", {})
                for values in series.get("values", ()):
                    row = dict(zip(cols, values, strict=True))
                    row["tags"] = tags
                    yield row


def _values(row: Mapping[str, Any], *, booleans: bool) -> dict[str, float | bool]:
    out: dict[str, float | bool] = {}
    for name in _FIELD_NAMES:
        v = row.get(name)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out[name] = bool(v) if booleans and name in _BOOLEAN else float(v)
    return out


__all__ = ["InfluxReadingStore", "quote_ident", "quote_literal", "time_bound_ns"]
