"""Request dependencies: the service context, who is calling, time parsing.

Layer: adapters.

Who is calling (:func:`principal`), in this order:

1. ``Authorization: Bearer <token>``: ``GRIDWATCH_ADMIN_TOKEN`` (admin), or an API
   token or session token of a user;
2. the ``gw_session`` cookie of the web pages;
3. nobody: with no users and no admin token, on a service that listens on
   loopback only, the API is open as the admin (the zero-setup demo on
   127.0.0.1); in every other case 401. A service listening beyond loopback
   with neither users nor an admin token refuses to start, and answers 401 to
   everyone should its last user go while it runs.

Cross-site requests and foreign ``Host`` headers are refused for every caller by
:mod:`api.guard`, before any of this.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import time
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from api.accounts import SESSION_COOKIE, Accounts
from api.context import ApiContext
from api.errors import ApiError
from api.principal import Principal, open_principal, principal_for

_bearer = HTTPBearer(auto_error=False, description="GRIDWATCH_ADMIN_TOKEN, or an API token "
                     "(POST /api/auth/tokens)")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="Session cookie set by POST /api/auth/login")


def ctx(request: Request) -> ApiContext:
    """The running service."""
    c: ApiContext = request.app.state.ctx
    return c


Ctx = Annotated[ApiContext, Depends(ctx)]


def accounts(request: Request) -> Accounts:
    """The accounts service."""
    a: Accounts = request.app.state.accounts
    return a


def is_loopback(host: str) -> bool:
    """The address listens on this machine only (127.0.0.0/8, ::1, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_mode(c: ApiContext) -> str:
    """``users`` (users exist), ``token`` (an admin token only), ``open`` (neither, on
    loopback: the demo) or ``closed`` (neither, beyond loopback: nobody gets in)."""
    if c.users.count:
        return "users"
    if c.settings.admin_token is not None:
        return "token"
    return "open" if is_loopback(str(c.settings.host)) else "closed"


def _admin_token_ok(c: ApiContext, value: str) -> bool:
    token = c.settings.admin_token
    return token is not None and hmac.compare_digest(value.encode(), token.get_secret_value().encode())


def principal(
    c: Ctx,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """Who is calling and what they may see (see the module docstring).

    Raises:
        ApiError: 401 when credentials are wrong or required.
    """
    now = time.time()
    if bearer is not None:
        if _admin_token_ok(c, bearer.credentials):
            return open_principal("admin_token")
        found = c.users.resolve(bearer.credentials, now=now)
        if found is None:
            raise ApiError(401, "the bearer token is not valid", headers={"WWW-Authenticate": "Bearer"})
        user, kind = found
        return principal_for(user, c.index, "api_token" if kind == "api" else "session")
    if cookie:
        found = c.users.resolve(cookie, now=now)
        if found is not None:
            return principal_for(found[0], c.index, "session")
    if auth_mode(c) == "open":
        return open_principal()
    raise ApiError(401, "log in first (POST /api/auth/login) or send a bearer token",
                   headers={"WWW-Authenticate": "Bearer"})


Me = Annotated[Principal, Depends(principal)]


def actor(p: Me) -> str:
    """The id of the person changing something (worker id, login, or ``admin``).

    Raises:
        ApiError: 401 for anonymous readers, 403 for read-only users (residents).
    """
    if p.read_only:
        if p.via == "open":
            raise ApiError(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        raise ApiError(403, "this account is read-only")
    return p.actor


def require_admin(p: Me) -> str:
    """An admin (token or user) is required.

    Raises:
        ApiError: 403 in the open demo (no admin configured) or for other roles,
            401 for anonymous callers.
    """
    if p.via == "open" and p.is_admin:
        raise ApiError(403, "set GRIDWATCH_ADMIN_TOKEN or add an admin user (gridwatch user add) "
                       "to use this endpoint")
    if p.via == "open":
        raise ApiError(401, "a valid admin bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if not p.is_admin:
        raise ApiError(403, "only an admin may do this")
    return p.actor


Admin = Annotated[str, Depends(require_admin)]


def parse_time(value: str | None, default: float, name: str) -> float:
    """Epoch seconds or an RFC 3339 time with offset."""
    if value is None or value == "":
        return default
    try:
        out = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(out):
            raise ApiError(422, f"{name} must be a finite number")
        return out
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, f"{name} must be epoch seconds or RFC 3339") from None
    if when.tzinfo is None:
        raise ApiError(422, f"{name} needs a time zone offset")
    return when.timestamp()
