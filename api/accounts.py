"""Accounts: log in and out, API tokens, user administration, each recorded in the
audit log (GB/T 45839 5.9.2), with login throttling.

Layer: adapters (a small service over :class:`store.users.UserStore` and the audit
log of :class:`store.state.StateStore`; routes call it, it never sees a request).
Time is passed in.

Login throttling (:class:`LoginLimiter`) delays rather than locks out: after a few
free failures, each further failure of a login name, or from a client address,
doubles the wait before the next try is checked (capped), and a success clears the
name's count. A try is counted *before* its password is checked, under one lock,
so concurrent guesses cannot all slip through while the first ones are hashing.
Password checks run on a small dedicated pool (:class:`HashPool`) with a bounded
queue, so a flood of logins neither starves the API's threads nor its memory
(argon2id takes 64 MiB per hash). Refused and failed logins are audited at a
bounded rate (:class:`AuditBudget`): a flood writes a few rows and a count.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from api.errors import ApiError
from store.state import StateStore
from store.strength import password_problem
from store.users import SESSION_TTL_S, LastAdminError, User, UserStore, WeakPasswordError

SESSION_COOKIE = "gw_session"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """When failed logins start to cost waiting time.

    Attributes:
        free_per_login: failures of one login name before waits start.
        free_per_client: failures from one client address before waits start.
        first_wait_s: the first wait; each further failure doubles it.
        max_wait_login_s: the longest wait for a login name (a guesser cannot keep
            its owner out for longer than this at a time).
        max_wait_client_s: the longest wait for one client address.
        forget_s: failures are forgotten after this long without another.
    """

    free_per_login: int = 5
    free_per_client: int = 10
    first_wait_s: float = 1.0
    max_wait_login_s: float = 30.0
    max_wait_client_s: float = 300.0
    forget_s: float = 900.0


@dataclass(slots=True)
class _Count:
    failures: int = 0
    last: float = 0.0
    refused: int = 0


class LoginLimiter:
    """Failed-login counts per login name and per client address, with doubling waits."""

    _MAX_KEYS = 100_000

    def __init__(self, limits: LoginLimits | None = None) -> None:
        """Args: the limits (defaults: 5 free per name, 10 per client, 1 s doubling)."""
        self.limits = limits or LoginLimits()
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()

    def _wait(self, c: _Count, free: int, cap: float, now: float) -> float:
        if c.failures < free:
            return 0.0
        wait = min(self.limits.first_wait_s * 2.0 ** (c.failures - free), cap)
        return max(0.0, c.last + wait - now)

    def _get(self, key: str, now: float) -> _Count:
        c = self._counts.get(key)
        if c is not None and now - c.last > self.limits.forget_s:
            c = None
        if c is None:
            if len(self._counts) >= self._MAX_KEYS:  # a spray of names: keep memory bounded
                self._counts = {k: v for k, v in self._counts.items() if now - v.last <= self.limits.forget_s}
                if len(self._counts) >= self._MAX_KEYS:
                    self._counts.clear()
            c = self._counts[key] = _Count(last=now)
        return c

    def begin(self, login: str, client: str, now: float) -> tuple[float | None, bool]:
        """Start a try: (None, _) when it may be checked now, and then it already counts
        as a failure until :meth:`succeeded`; else (seconds to wait, first refusal of
        this streak)."""
        lim = self.limits
        with self._lock:
            by_login = self._get(f"l:{login}", now)
            by_client = self._get(f"c:{client}", now)
            wait = max(self._wait(by_login, lim.free_per_login, lim.max_wait_login_s, now),
                       self._wait(by_client, lim.free_per_client, lim.max_wait_client_s, now))
            if wait > 0:
                by_login.refused += 1
                return wait, by_login.refused == 1
            for c in (by_login, by_client):
                c.failures += 1
                c.last = now
                c.refused = 0
            return None, False

    def succeeded(self, login: str, client: str) -> None:
        """The try was right: forget the name's failures and take back the client's."""
        with self._lock:
            self._counts.pop(f"l:{login}", None)
            c = self._counts.get(f"c:{client}")
            if c is not None and c.failures > 0:
                c.failures -= 1

    def failures(self, login: str) -> int:
        """Failures counted against a login name (tests, the audit row)."""
        with self._lock:
            c = self._counts.get(f"l:{login}")
            return c.failures if c else 0


class HashPool:
    """A few threads that check passwords, with a bounded queue (503 beyond it)."""

    def __init__(self, workers: int = 2, queue: int = 16) -> None:
        """Args: threads hashing at once; tries that may wait for one."""
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gw-hash")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on the pool.

        Raises:
            ApiError: 503 when the pool and its queue are full.
        """
        if not self._slots.acquire(blocking=False):
            raise ApiError(503, "too many logins at once; try again in a moment", code="busy",
                           details={"retry_after_s": 1}, headers={"Retry-After": "1"})
        try:
            fut = self._pool.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        fut.add_done_callback(lambda _f: self._slots.release())
        return fut

    def close(self) -> None:
        """Stop the threads (queued checks still finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(slots=True)
class AuditBudget:
    """At most ``per_minute`` rows of one kind a minute; the rest are counted and the
    count rides on the next row written."""

    per_minute: int = 30
    _minute: float = -1.0
    _used: int = 0
    _suppressed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, now: float) -> int | None:
        """None: do not write; else how many rows were left out before this one."""
        with self._lock:
            minute = math.floor(now / 60.0)
            if minute > self._minute:  # only forward: tries finishing out of order share a minute
                self._minute, self._used = minute, 0
            if self._used >= self.per_minute:
                self._suppressed += 1
                return None
            self._used += 1
            out, self._suppressed = self._suppressed, 0
            return out


class Accounts:
    """Log-in, tokens and user administration, each action audited."""

    def __init__(self, users: UserStore, state: StateStore, limiter: LoginLimiter | None = None,
                 pool: HashPool | None = None) -> None:
        """Args: the user store, the state store (audit log), the login limiter, the hash pool."""
        self.users = users
        self.state = state
        self.limiter = limiter or LoginLimiter()
        self.pool = pool or HashPool()
        self._audit_budget = AuditBudget()

    def _audit_refusal(self, login: str, action: str, detail: dict[str, Any], now: float) -> None:
        left_out = self._audit_budget.take(now)
        if left_out is None:
            return
        if left_out:
            detail = {**detail, "not_recorded_before": left_out}
        self.state.audit(login[:64], action, f"user/{login[:64]}", detail, ts=now)

    def begin_login(self, login: str, password: str, *, client: str, now: float) -> Future[User | None]:
        """Count the try and start checking the password on the hash pool.

        Raises:
            ApiError: 429 while the name or the client must wait, 503 when the pool is full.
        """
        wait, first = self.limiter.begin(login, client, now)
        if wait is not None:
            if first:  # one row per streak of refusals, not one per refused try
                self._audit_refusal(login, "auth.login_refused", {"client": client}, now)
            raise ApiError(429, "too many failed logins; try again later",
                           details={"retry_after_s": max(1, math.ceil(wait))})
        return self.pool.submit(self.users.verify, login, password)

    def finish_login(self, login: str, user: User | None, *, client: str, now: float) -> tuple[User, str]:
        """After the password check: open a session, or count and audit the failure.

        Raises:
            ApiError: 401 when the login or password is wrong.
        """
        if user is None:
            self._audit_refusal(login, "auth.login_failed",
                                {"client": client, "failures": self.limiter.failures(login)}, now)
            raise ApiError(401, "wrong login or password")
        self.limiter.succeeded(login, client)
        token = self.users.issue(user.login, kind="session", now=now, ttl_s=SESSION_TTL_S)
        self.state.audit(user.worker_id or user.login, "auth.login", f"user/{user.login}",
                         {"client": client}, ts=now)
        return user, token

    def login(self, login: str, password: str, *, client: str, now: float) -> tuple[User, str]:
        """Check a password and open a session (blocking; the route awaits the two halves).

        Raises:
            ApiError: 429 when throttled, 503 when busy, 401 when wrong.
        """
        user = self.begin_login(login, password, client=client, now=now).result()
        return self.finish_login(login, user, client=client, now=now)

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
        """Create or update a user; a password in ``fields`` is checked and hashed.

        Raises:
            ApiError: 422 for a weak password, 409 when the change would leave no admin.
        """
        password = fields.pop("password", None)
        if password and (problem := password_problem(password, login=login)):
            raise ApiError(422, problem, code="weak_password")
        existing = self.users.get(login)
        try:
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
        except WeakPasswordError as exc:
            raise ApiError(422, str(exc), code="weak_password") from None
        except LastAdminError as exc:
            raise ApiError(409, str(exc), code="last_admin") from None
        self.state.audit(actor, "user.update" if existing else "user.create", f"user/{login}",
                         {k: v for k, v in fields.items() if k != "password"} | {"password": bool(password)},
                         ts=now)
        saved = self.users.get(login)
        assert saved is not None
        return saved

    def delete_user(self, login: str, *, actor: str, now: float) -> None:
        """Remove a user.

        Raises:
            ApiError: 404 when there is no such user, 409 for the last admin.
        """
        try:
            found = self.users.delete(login)
        except LastAdminError as exc:
            raise ApiError(409, str(exc), code="last_admin") from None
        if not found:
            raise ApiError(404, f"no user {login!r}")
        self.state.audit(actor, "user.delete", f"user/{login}", {}, ts=now)
