"""Named crash points for the crash suite: ``GRIDWATCH_CRASH_AT=<point>[:<n>]`` kills the
process with SIGKILL the n-th time (default 1st) the point is passed.

Layer: adapters (a test hook the composition root uses too). Unset (always, outside the crash tests) a point costs one
string comparison. The points are where a crash can lose or repeat something:

- ``readings_stored``: a batch's readings are durable, its rules and alerts are not;
- ``alarm_committed``: the batch's alert changes committed, the broker not yet acked;
- ``acked``: right after the PUBACKs of a batch went out;
- ``notice_sent``: a channel took a notice, its delivery is not yet recorded;
- ``escalation_step_before_commit``: an escalation step decided, not yet committed;
- ``escalation_step``: an escalation step committed, its notices not yet out;
- ``checkpoint``: inside the checkpoint's transaction, before its commit.
"""

from __future__ import annotations

import os
import signal
import threading

_SPEC = os.environ.get("GRIDWATCH_CRASH_AT", "")
_POINT, _, _N = _SPEC.partition(":")
_TARGET = int(_N) if _N.isdigit() else 1
_counts: dict[str, int] = {}
_lock = threading.Lock()


def hit(point: str) -> None:
    """Pass a crash point (kills the process when it is the configured one)."""
    if point != _POINT:
        return
    with _lock:
        n = _counts[point] = _counts.get(point, 0) + 1
    if n >= _TARGET:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["hit"]
