"""A bounded on-disk FIFO of opaque records: where writes wait while the database is away.

Layer: adapters (files only; no network). Used by :mod:`store.influx` to hold
ready-to-post request bodies while InfluxDB is slow or down.

Layout: a directory of append-only segment files ``<number>.seg`` (numbers
grow, oldest first). Each record is a 12-byte header (magic ``GWS1``, payload
length, CRC-32 of the payload, little-endian) followed by the payload.
:meth:`Spool.append` writes, flushes and fsyncs before it returns, so a record
survives a crash or power loss once appended. A torn or corrupt tail (a crash
mid-append) is cut off when the spool is opened; everything before it is kept.

Consuming is peek-then-pop: the replayer posts :meth:`Spool.peek`'s record and
pops it only once the database took it. A fully consumed segment is deleted.
The read position is not persisted: after a restart the oldest segment is
replayed from its start, which is harmless because writes are idempotent.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from sensors.errors import StoreError

_MAGIC = b"GWS1"
_HEADER = struct.Struct("<4sII")
HEADER_BYTES = _HEADER.size
_SUFFIX = ".seg"


class SpoolFull(StoreError):
    """The spool has no room for the records; nothing was appended."""


class Spool:
    """Bounded, fsync'd, append-only record queue in a directory.

    Thread-safe: writers append while one consumer peeks and pops.

    Args:
        directory: where the segment files live (created if missing).
        max_bytes: cap on the segment files' total size on disk.
        segment_max_bytes: a new segment is started once the current one is this big.
        fsync: fsync every append (turn off only in tests of other things).
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        segment_max_bytes: int | None = None,
        fsync: bool = True,
    ) -> None:
        if max_bytes <= HEADER_BYTES:
            raise ValueError("max_bytes is too small for one record")
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_max_bytes = segment_max_bytes or max(min(8 << 20, max_bytes // 8), 4096)
        self._fsync = fsync
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        self._segments: list[int] = []  # segment numbers, oldest first
        self._sizes: dict[int, int] = {}
        self._last_number = 0
        self._disk_bytes = 0
        self._pending_bytes = 0
        self._records = 0
        self._read_offset = 0
        self._reader: BinaryIO | None = None
        self._writer: BinaryIO | None = None
        self._recover()

    # -- facts ---------------------------------------------------------------

    @property
    def records(self) -> int:
        """Records appended and not yet popped."""
        return self._records

    @property
    def pending_bytes(self) -> int:
        """Bytes (headers included) of the records not yet popped."""
        return self._pending_bytes

    @property
    def disk_bytes(self) -> int:
        """Size of the segment files on disk (what ``max_bytes`` bounds)."""
        return self._disk_bytes

    def is_empty(self) -> bool:
        """True when there is nothing to replay."""
        return self._records == 0

    # -- writing -------------------------------------------------------------

    def append(self, payloads: Sequence[bytes]) -> None:
        """Append records durably, all or none.

        Raises:
            SpoolFull: they do not fit under ``max_bytes``.
            StoreError: the disk write failed.
        """
        if not payloads:
            return
        data = b"".join(_HEADER.pack(_MAGIC, len(p), zlib.crc32(p)) + p for p in payloads)
        with self._lock:
            if self._disk_bytes + len(data) > self.max_bytes:
                raise SpoolFull(
                    f"spool full: {self._disk_bytes} of {self.max_bytes} bytes used, "
                    f"{len(data)} more needed"
                )
            writer = self._writer_for(len(data))
            try:
                writer.write(data)
                writer.flush()
                if self._fsync:
                    os.fsync(writer.fileno())
            except OSError as exc:
                raise StoreError(f"spool write failed in {self.directory}: {exc}") from exc
            self._sizes[self._segments[-1]] += len(data)
            self._disk_bytes += len(data)
            self._pending_bytes += len(data)
            self._records += len(payloads)

    # -- consuming -----------------------------------------------------------

    def peek(self) -> bytes | None:
        """The oldest record not yet popped, or None when empty."""
        with self._lock:
            if not self._records:
                return None
            reader = self._open_reader()
            reader.seek(self._read_offset)
            magic, length, crc = _HEADER.unpack(reader.read(HEADER_BYTES))
            payload = reader.read(length)
            if magic != _MAGIC or zlib.crc32(payload) != crc:
                raise StoreError(f"spool record corrupt in segment {self._segments[0]}")
            return payload

    def pop(self) -> None:
        """Consume the record :meth:`peek` returned."""
        with self._lock:
            if not self._records:
                return
            reader = self._open_reader()
            reader.seek(self._read_offset)
            _magic, length, _crc = _HEADER.unpack(reader.read(HEADER_BYTES))
            self._read_offset += HEADER_BYTES + length
            self._pending_bytes -= HEADER_BYTES + length
            self._records -= 1
            if self._read_offset >= self._sizes[self._segments[0]]:
                self._drop_head()

    def close(self) -> None:
        """Close the open files; the records stay on disk for the next start."""
        with self._lock:
            for f in (self._reader, self._writer):
                if f is not None:
                    f.close()
            self._reader = self._writer = None

    # -- internals -----------------------------------------------------------

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:012d}{_SUFFIX}"

    def _recover(self) -> None:
        numbers = sorted(
            int(p.stem) for p in self.directory.glob(f"*{_SUFFIX}") if p.stem.isdigit()
        )
        self._last_number = max(numbers, default=0)
        for number in numbers:
            path = self._path(number)
            valid_bytes, count = _scan(path)
            if count == 0:
                path.unlink()
                continue
            if valid_bytes < path.stat().st_size:
                with path.open("r+b") as f:
                    f.truncate(valid_bytes)
            self._segments.append(number)
            self._sizes[number] = valid_bytes
            self._disk_bytes += valid_bytes
            self._records += count
        self._pending_bytes = self._disk_bytes

    def _writer_for(self, incoming: int) -> BinaryIO:
        if self._segments:
            last = self._segments[-1]
            if self._sizes[last] + incoming <= self.segment_max_bytes:
                if self._writer is None:
                    self._writer = self._path(last).open("ab")
                return self._writer
        if self._writer is not None:
            self._writer.close()
        self._last_number += 1
        self._segments.append(self._last_number)
        self._sizes[self._last_number] = 0
        self._writer = self._path(self._last_number).open("ab")
        if self._fsync:
            _fsync_dir(self.directory)
        return self._writer

    def _open_reader(self) -> BinaryIO:
        if self._reader is None:
            self._reader = self._path(self._segments[0]).open("rb")
        return self._reader

    def _drop_head(self) -> None:
        number = self._segments[0]
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if len(self._segments) == 1 and self._writer is not None:
            # The head is also the segment being appended to: start afresh.
            self._writer.close()
            self._writer = None
        self._path(number).unlink()
        self._segments.pop(0)
        self._disk_bytes -= self._sizes.pop(number)
        self._read_offset = 0


def _scan(path: Path) -> tuple[int, int]:
    """Bytes of valid records at the start of a segment, and how many there are."""
    valid = count = 0
    with path.open("rb") as f:
        while True:
            header = f.read(HEADER_BYTES)
            if len(header) < HEADER_BYTES:
                return valid, count
            magic, length, crc = _HEADER.unpack(header)
            payload = f.read(length)
            if magic != _MAGIC or len(payload) < length or zlib.crc32(payload) != crc:
                return valid, count
            valid += HEADER_BYTES + length
            count += 1


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsync'd
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
