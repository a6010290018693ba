"""Accounts: log in and out, API tokens, user administration, each recorded in the
audit log (GB/T 45839 5.9.2), with a login rate limit.

Layer: adapters (a small service over :class:`store.users.UserStore` and the audit
log of :class:`store.state.StateStore`; routes call it, it never sees a request).
Time is passed in.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError
from store.state import StateStore
from store.users import SESSION_TTL_S, User, UserStore

SESSION_COOKIE = "gw_session"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failed logins are allowed before 429.

    Attributes:
        per_login: failures of one login name within the window.
        per_client: failures from one client address within the window.
        window_s: the sliding window, seconds.
    """

    per_login: int = 5
    per_client: int = 20
    window_s: float = 900.0


class LoginLimiter:
    """Sliding-window counts of failed logins per login name and per client."""

    def __init__(self, limits: LoginLimits | None = None) -> None:
        """Args: the limits (defaults: 5 per login, 20 per client per 15 min)."""
        self.limits = limits or LoginLimits()
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] <= now - self.limits.window_s:
            q.popleft()
        return q

    def retry_after(self, login: str, client: str, now: float) -> float | None:
        """Seconds until another try is allowed, or None when allowed now."""
        with self._lock:
            waits = []
            for key, cap in ((f"l:{login}", self.limits.per_login), (f"c:{client}", self.limits.per_client)):
                q = self._recent(key, now)
                if len(q) >= cap:
                    waits.append(q[0] + self.limits.window_s - now)
            return max(waits) if waits else None

    def failed(self, login: str, client: str, now: float) -> None:
        """Count a failed attempt."""
        with self._lock:
            self._recent(f"l:{login}", now).append(now)
            self._recent(f"c:{client}", now).append(now)
            if len(self._fails) > 100_000:  # bound memory under a spray of names
                self._fails.clear()

    def succeeded(self, login: str) -> None:
        """Forget a login's failures after it logged in."""
        with self._lock:
            self._fails.pop(f"l:{login}", None)


class Accounts:
    """Log-in, tokens and user administration, each action audited."""

    def __init__(self, users: UserStore, state: StateStore, limiter: LoginLimiter | None = None) -> None:
        """Args: the user store, the state store (audit log), the login limiter."""
        self.users = users
        self.state = state
        self.limiter = limiter or LoginLimiter()

    def login(self, login: str, password: str, *, client: str, now: float) -> tuple[User, str]:
        """Check a password and open a session; returns the user and the session token.

        Raises:
            ApiError: 429 when rate-limited, 401 when the login or password is wrong.
        """
        wait = self.limiter.retry_after(login, client, now)
        if wait is not None:
            self.state.audit(login, "auth.login_refused", f"user/{login}", {"client": client}, ts=now)
            raise ApiError(429, "too many failed logins; try again later",
                           details={"retry_after_s": math.ceil(wait)})
        user = self.users.verify(login, password)
        if user is None:
            self.limiter.failed(login, client, now)
            self.state.audit(login, "auth.login_failed", f"user/{login}", {"client": client}, ts=now)
            raise ApiError(401, "wrong login or password")
        self.limiter.succeeded(login)
        token = self.users.issue(user.login, kind="session", now=now, ttl_s=SESSION_TTL_S)
        self.state.audit(user.worker_id or user.login, "auth.login", f"user/{user.login}",
                         {"client": client}, ts=now)
        return user, token

    def logout(self, token: str, *, actor: str, now: float) -> None:
        """End a session."""
        self.users.revoke(token)
        self.state.audit(actor, "auth.logout", "session", {}, ts=now)

    def create_token(self, login: str, label: str, *, actor: str, now: float,
                     ttl_s: float | None) -> dict[str, Any]:
        """A new API token for ``login`` (shown once)."""
        if self.users.get(login) is None:
            raise ApiError(404, f"no user {login!r}")
        token = self.users.issue(login, kind="api", now=now, label=label, ttl_s=ttl_s)
        self.state.audit(actor, "token.create", f"user/{login}", {"label": label}, ts=now)
        listed = self.users.api_tokens(login)
        return {**listed[-1], "token": token} if listed else {"token": token}

    def revoke_token(self, token_id: str, *, login: str | None, actor: str, now: float) -> None:
        """Revoke an API token (of ``login`` only, unless None: an admin)."""
        if not self.users.revoke_api_token(token_id, login):
            raise ApiError(404, f"no token {token_id!r}")
        self.state.audit(actor, "token.revoke", f"token/{token_id}", {}, ts=now)

    def save_user(self, login: str, fields: dict[str, Any], *, actor: str, now: float) -> User:
        """Create or update a user; a password in ``fields`` is hashed."""
        password = fields.pop("password", None)
        existing = self.users.get(login)
        self.users.upsert(
            login, name=fields.get("name") or (existing.name if existing else login),
            role=fields.get("role") or (existing.role if existing else "resident"),
            worker_id=fields.get("worker_id", existing.worker_id if existing else None),
            places=fields.get("places", existing.places if existing else {}),
            language=fields.get("language") or (existing.language if existing else "zh"), now=now,
        )
        if password:
            self.users.set_password(login, password, now=now)
        if "disabled" in fields and fields["disabled"] is not None:
            self.users.set_disabled(login, bool(fields["disabled"]), now=now)
        self.state.audit(actor, "user.update" if existing else "user.create", f"user/{login}",
                         {k: v for k, v in fields.items() if k != "password"} | {"password": bool(password)},
                         ts=now)
        saved = self.users.get(login)
        assert saved is not None
        return saved

    def delete_user(self, login: str, *, actor: str, now: float) -> None:
        """Remove a user."""
        if not self.users.delete(login):
            raise ApiError(404, f"no user {login!r}")
        self.state.audit(actor, "user.delete", f"user/{login}", {}, ts=now)
