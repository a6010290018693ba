"""The disk spool: FIFO order, bounds, durability across reopen, torn tails."""

from __future__ import annotations

import struct
import tempfile
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.spool import HEADER_BYTES, Spool, SpoolFull


def drain(spool: Spool) -> list[bytes]:
    out = []
    while (record := spool.peek()) is not None:
        out.append(record)
        spool.pop()
    return out


def test_fifo_across_segments_and_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000, segment_max_bytes=100)
    records = [f"record {i}".encode() * 3 for i in range(30)]
    for r in records:
        spool.append([r])
    assert spool.records == 30
    assert len(list(tmp_path.glob("*.seg"))) > 5
    assert spool.pending_bytes == spool.disk_bytes == sum(len(r) + HEADER_BYTES for r in records)
    assert [spool.peek() for _ in range(2)] == [records[0], records[0]]  # peek does not consume
    spool.pop()
    spool.close()
    again = Spool(tmp_path, max_bytes=10_000, segment_max_bytes=100)
    got = drain(again)
    # The partly read head segment is replayed from its start: at-least-once, in order.
    assert got[-29:] == records[1:]
    assert got[0] == records[0] or got == records[1:]
    assert again.is_empty() and again.disk_bytes == 0
    assert list(tmp_path.glob("*.seg")) == []
    again.append([b"after"])
    assert drain(again) == [b"after"]
    again.close()


def test_full_spool_appends_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=200, segment_max_bytes=100)
    spool.append([b"x" * 80])
    with pytest.raises(SpoolFull):
        spool.append([b"y" * 40, b"z" * 80])
    assert spool.records == 1
    assert drain(spool) == [b"x" * 80]
    spool.append([b"y" * 80, b"z" * 80])  # room again once drained
    assert spool.records == 2
    spool.close()


def test_torn_tail_is_cut_off(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    spool.append([b"one", b"two"])
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    with segment.open("ab") as f:
        f.write(b"GWS1\x10\x00\x00\x00\x00\x00\x00\x00half")  # a crash mid-append
    again = Spool(tmp_path, max_bytes=10_000)
    assert again.records == 2
    again.append([b"three"])
    assert drain(again) == [b"one", b"two", b"three"]
    again.close()


def test_corrupt_only_segment_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "000000000007.seg").write_bytes(b"garbage")
    spool = Spool(tmp_path, max_bytes=10_000)
    assert spool.is_empty()
    spool.append([b"a"])
    assert drain(spool) == [b"a"]
    spool.close()


ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(st.binary(max_size=60), min_size=1, max_size=4)),
        st.tuples(st.just("pop"), st.integers(1, 5)),
        st.tuples(st.just("reopen"), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=ops)
def test_behaves_like_a_bounded_queue(ops: list[tuple[str, object]]) -> None:
    max_bytes = 600
    with tempfile.TemporaryDirectory() as d:
        spool = Spool(Path(d), max_bytes=max_bytes, segment_max_bytes=128, fsync=False)
        model: deque[bytes] = deque()
        replayed_prefix: list[bytes] = []  # records popped from the head segment before a reopen
        try:
            for op, arg in ops:
                if op == "append":
                    assert isinstance(arg, list)
                    size = sum(len(p) + HEADER_BYTES for p in arg)
                    if spool.disk_bytes + size > max_bytes:
                        with pytest.raises(SpoolFull):
                            spool.append(arg)
                    else:
                        spool.append(arg)
                        model.extend(arg)
                elif op == "pop":
                    assert isinstance(arg, int)
                    for _ in range(arg):
                        record = spool.peek()
                        if replayed_prefix:
                            assert record == replayed_prefix.pop(0)
                        elif model:
                            assert record == model.popleft()
                        else:
                            assert record is None
                        spool.pop()
                else:
                    spool.close()
                    spool = Spool(Path(d), max_bytes=max_bytes, segment_max_bytes=128, fsync=False)
                    # At-least-once: what was popped from the head segment comes back first.
                    extra = spool.records - len(model) - len(replayed_prefix)
                    assert extra >= 0
                    replayed_prefix = _peek_n(spool, extra) + replayed_prefix
                assert spool.records == len(model) + len(replayed_prefix)
        finally:
            spool.close()


def _peek_n(spool: Spool, n: int) -> list[bytes]:
    """The first n records without consuming them (reads the head segment directly)."""
    if n == 0:
        return []
    head = sorted(spool.directory.glob("*.seg"))[0].read_bytes()
    out, offset = [], 0
    while len(out) < n:
        _m, length, _c = struct.unpack_from("<4sII", head, offset)
        out.append(head[offset + HEADER_BYTES : offset + HEADER_BYTES + length])
        offset += HEADER_BYTES + length
    return out
