"""Moving the clock of a service started with ``gridwatch run --clock manual``.

Layer: adapter (the service's API with httpx). Shared by the scenario runner and the
simulator's fast-forward.
"""

from __future__ import annotations

from typing import Any

import httpx

from sensors.errors import GridWatchError

NOT_MANUAL = ("the service does not run on the manual clock "
              "(start it with `gridwatch run --clock manual`)")


class ManualClockError(GridWatchError):
    """The service's clock cannot be moved (not manual, no admin token, or the ingest
    did not take the messages in time)."""


def advance(http: httpx.Client, advance_s: float, *, received: int | None = None,
            wait_s: float = 30.0) -> float:
    """``POST /api/clock``: first, when ``received`` is given, the service waits (up to
    ``wait_s``) until its ingest and alert side have taken that many messages in all;
    then its clock moves ``advance_s`` on, the absence rules and escalations run.
    Returns the service's new time.

    Raises:
        ManualClockError: see the class.
        httpx.HTTPError: the service could not be reached or failed.
    """
    body: dict[str, Any] = {"advance_s": max(0.0, advance_s)}
    if received is not None:
        body.update(received_at_least=received, wait_s=wait_s)
    r = http.post("/api/clock", json=body)
    if r.status_code == 404:
        raise ManualClockError(NOT_MANUAL)
    if r.status_code in (401, 403):
        raise ManualClockError("moving the service's clock needs an admin token (--token)")
    if r.status_code == 409:
        raise ManualClockError(r.json().get("error", {}).get("message", r.text))
    r.raise_for_status()
    return float(r.json()["now"])


__all__ = ["NOT_MANUAL", "ManualClockError", "advance"]
