"""Log in and out, who am I, and API tokens for integrations.

Layer: adapters. The session is an HttpOnly, SameSite=Strict cookie (Secure when
the request came over https, as the service sees it: ``X-Forwarded-Proto`` counts
only from ``--trusted-proxies``); API tokens are bearer tokens shown once. Failed
logins are throttled and audited (:mod:`api.accounts`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from api.accounts import SESSION_COOKIE, Accounts
from api.deps import Ctx, Me, accounts, auth_mode
from api.errors import ApiError, error_responses
from store.users import SESSION_TTL_S

router = APIRouter(prefix="/api/auth", tags=["auth"])

Acc = Annotated[Accounts, Depends(accounts)]


class LoginBody(BaseModel):
    """A login name and password."""

    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)

    model_config = {"json_schema_extra": {"examples": [{"login": "zhangwei", "password": "correct horse"}]}}


class TokenBody(BaseModel):
    """A new API token."""

    label: str = Field(default="", max_length=64, description="What it is for")
    login: str | None = Field(default=None, max_length=64, description="Admins: whose token")
    ttl_days: float | None = Field(default=None, gt=0, le=3650, description="Expires after; never when empty")

    model_config = {"json_schema_extra": {"examples": [{"label": "district platform", "ttl_days": 365}]}}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", summary="Log in: sets the session cookie",
             responses=error_responses(401, 413, 422, 429, 503))
async def login(c: Ctx, acc: Acc, body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
    """Check the password (argon2id) and open a 12-hour session. After five failures of
    one login (or ten from one address) each further try must wait, 1 s doubling up to
    30 s (5 min per address): 429 with ``Retry-After``. 503 when too many passwords are
    being checked at once."""
    client = _client(request)
    now = time.time()
    # counting (and a refusal's audit row) off the event loop; the hash on the hash pool
    started = await asyncio.to_thread(acc.begin_login, body.login, body.password, client=client, now=now)
    checked = await asyncio.wrap_future(started)
    user, token = await asyncio.to_thread(acc.finish_login, body.login, checked, client=client, now=now)
    public = str(getattr(c.settings, "public_url", None) or "")
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_TTL_S), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https" or public.startswith("https://"), path="/")
    return {"user": user.to_dict()}


@router.post("/logout", summary="Log out: ends the session", responses=error_responses(401))
def logout(p: Me, acc: Acc, request: Request, response: Response) -> dict[str, Any]:
    """End the session of the cookie (API tokens are revoked with DELETE /api/auth/tokens/{id})."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        acc.logout(token, actor=p.actor, now=time.time())
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.get("/me", summary="Who am I, what may I see", responses=error_responses(401))
def me(c: Ctx, p: Me) -> dict[str, Any]:
    """Your role and places, and the community (its time zone is the pages' time zone)."""
    community = c.index.site.community
    return {**p.to_dict(), "auth": auth_mode(c),
            "community": {"id": community.id, "name": community.name, "timezone": community.timezone},
            "grids_all": [{"id": g.id, "name": g.name} for g in c.index.grids.values()
                          if p.everywhere or g.id in p.grid_ids],
            "property_companies": [{"id": pc.id, "name": pc.name}
                                   for pc in c.index.property_companies.values()]}


@router.get("/tokens", summary="Your API tokens (admins: everyone's)", responses=error_responses(401))
def tokens(c: Ctx, p: Me) -> dict[str, Any]:
    """API tokens without their values."""
    items = c.users.api_tokens(None if p.is_admin else p.login)
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.post("/tokens", summary="Create an API token (shown once)", responses=error_responses(401, 403, 404))
def create_token(p: Me, acc: Acc, body: TokenBody) -> dict[str, Any]:
    """A bearer token for an integration, acting as you (admins may name another user)."""
    if p.via in ("open", "admin_token") and not body.login:
        raise ApiError(422, "name the user the token acts as (login)")
    if body.login and body.login != p.login and not p.is_admin:
        raise ApiError(403, "only an admin may create tokens for others")
    ttl = body.ttl_days * 86400.0 if body.ttl_days else None
    return acc.create_token(body.login or p.login, body.label, actor=p.actor, now=time.time(), ttl_s=ttl)


@router.delete("/tokens/{token_id}", summary="Revoke an API token", responses=error_responses(401, 404))
def revoke_token(p: Me, acc: Acc, token_id: str) -> dict[str, Any]:
    """Revoke one of your tokens (admins: anyone's)."""
    acc.revoke_token(token_id, login=None if p.is_admin else p.login, actor=p.actor, now=time.time())
    return {"ok": True}
