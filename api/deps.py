"""Request dependencies: the service context, authentication, time parsing.

Layer: adapters.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from api.context import ApiContext
from api.errors import ApiError


def ctx(request: Request) -> ApiContext:
    """The running service."""
    c: ApiContext = request.app.state.ctx
    return c


Ctx = Annotated[ApiContext, Depends(ctx)]


def _token_ok(c: ApiContext, authorization: str | None) -> bool:
    token = c.settings.admin_token
    if token is None:
        return False
    scheme, _, value = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.encode(), token.get_secret_value().encode())


def actor(c: Ctx, authorization: Annotated[str | None, Header()] = None) -> str:
    """Who is calling. With ``GRIDWATCH_ADMIN_TOKEN`` set, changes need that bearer token;
    without it the API is open (the embedded demo on 127.0.0.1)."""
    if c.settings.admin_token is None:
        return "admin"
    if not _token_ok(c, authorization):
        raise ApiError(401, "a valid bearer token is required")
    return "admin"


def require_admin(c: Ctx, authorization: Annotated[str | None, Header()] = None) -> str:
    """The admin token is required, and must be configured."""
    if c.settings.admin_token is None:
        raise ApiError(403, "set GRIDWATCH_ADMIN_TOKEN to use this endpoint")
    if not _token_ok(c, authorization):
        raise ApiError(401, "a valid admin bearer token is required")
    return "admin"


def parse_time(value: str | None, default: float, name: str) -> float:
    """Epoch seconds or an RFC 3339 time with offset."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, f"{name} must be epoch seconds or RFC 3339") from None
    if when.tzinfo is None:
        raise ApiError(422, f"{name} needs a time zone offset")
    return when.timestamp()
