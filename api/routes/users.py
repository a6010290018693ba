"""User administration and the audit log (GB/T 45839 5.9.2, 5.10.6).

Layer: adapters. Admins manage users; admins and leaders read the audit log.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.accounts import Accounts
from api.deps import Admin, Ctx, Me, accounts
from api.errors import ApiError, error_responses
from topology.model import UserRole

router = APIRouter(prefix="/api", tags=["users"], responses=error_responses(401, 403, 422))

Acc = Annotated[Accounts, Depends(accounts)]
_LOGIN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class Places(BaseModel):
    """A user's places; which apply depends on the role."""

    grids: list[str] = Field(default_factory=list, max_length=500, description="grid_worker")
    compounds: list[str] = Field(default_factory=list, max_length=500, description="leader limited to compounds")
    property_company: str | None = Field(default=None, max_length=64, description="property_manager, maintenance")
    household: str | None = Field(default=None, max_length=64, description="resident")


class UserBody(BaseModel):
    """Create or change a user (fields left out keep their value)."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    role: UserRole | None = None
    worker_id: str | None = Field(default=None, max_length=64, description="The site worker this user acts as")
    places: Places | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)
    disabled: bool | None = None
    language: str | None = Field(default=None, pattern=r"^(zh|en)$")

    model_config = {"json_schema_extra": {"examples": [
        {"name": "张伟", "role": "grid_worker", "worker_id": "w-g1", "password": "a long passphrase"},
        {"name": "101 resident", "role": "resident", "places": {"household": "b1-u1-101"},
         "password": "another passphrase"},
    ]}}


@router.get("/users", summary="Users (admin)")
def list_users(
    c: Ctx,
    _admin: Admin,
    role: UserRole | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Every user, by login; filter by role."""
    r = role.value if role else None
    return {"items": [u.to_dict() for u in c.users.list_users(role=r, limit=limit, offset=offset)],
            "total": c.users.total(role=r), "limit": limit, "offset": offset}


@router.put("/users/{login}", summary="Create or change a user (admin)")
def put_user(
    acc: Acc,
    admin: Admin,
    login: Annotated[str, Field(min_length=1, max_length=64, pattern=_LOGIN)],
    body: UserBody,
) -> dict[str, Any]:
    """Create a user, or change name, role, places, password (argon2id), language or
    disabled. A new password or disabling ends the user's sessions."""
    fields = body.model_dump(exclude_unset=True)
    if "role" in fields and fields["role"] is not None:
        fields["role"] = fields["role"].value
    if body.places is not None:
        fields["places"] = body.places.model_dump(exclude_defaults=True)
    return acc.save_user(login, fields, actor=admin, now=time.time()).to_dict()


@router.delete("/users/{login}", summary="Delete a user (admin)", responses=error_responses(404))
def delete_user(acc: Acc, admin: Admin, login: str) -> dict[str, Any]:
    """Remove a user and their sessions and tokens."""
    acc.delete_user(login, actor=admin, now=time.time())
    return {"ok": True}


@router.get("/audit", summary="The operation log (admin, leaders)")
def audit(
    c: Ctx,
    p: Me,
    actor: str | None = None,
    action: str | None = Query(default=None, max_length=64, description="Prefix: alert., auth., user."),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Every operation, newest first (GB/T 45839 5.9.2)."""
    if not (p.is_admin or (p.role == UserRole.LEADER and p.everywhere)):
        raise ApiError(403, "only admins and community leaders read the audit log")
    return {"items": c.state.list_audit(limit=limit, offset=offset, actor=actor, action=action),
            "total": c.state.count_audit(actor=actor, action=action), "limit": limit, "offset": offset}
