"""Web-app users, their sessions and API tokens (SQLite, ``users.db`` beside the state DB).

Layer: adapters. Passwords are stored as argon2id hashes (argon2-cffi); session
and API tokens are random 32-byte strings stored as SHA-256 digests, so a copy of
the database lets nobody log in. Safe to call from any thread.

A user's places are stored as given (grids, property company, household, worker);
:mod:`api.principal` turns them into what the user may see, using the site.

Every read goes to the database, so a user added or removed by ``gridwatch user``
in another process counts at once in a running service. The last enabled admin
cannot be deleted, disabled or demoted (:class:`LastAdminError`); a new password
ends every session and API token of its user.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sensors.errors import GridWatchError
from store.sqlite import connect, transaction
from store.strength import password_problem

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    login TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, worker_id TEXT,
    places BLOB NOT NULL, password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT 'zh', source TEXT NOT NULL DEFAULT 'manual',
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, login TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL, last_used REAL
);
CREATE INDEX IF NOT EXISTS tokens_by_login ON tokens(login, kind);
"""

SESSION_TTL_S = 12 * 3600.0
TOKEN_PREFIX = {"session": "gws_", "api": "gwt_"}
_USER_COLS = "login, name, role, worker_id, places, password_hash, disabled, language, source, created_at"

# argon2id with the library defaults (RFC 9106 "second recommended" profile).
_HASHER = PasswordHasher()


class LastAdminError(GridWatchError):
    """The change would leave no enabled admin user."""


class WeakPasswordError(GridWatchError, ValueError):
    """The password is too short or too common."""


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _HASHER.hash(password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    """A person (or an integration) who can log in.

    Attributes:
        login: the login name (unique).
        name: display name.
        role: a :class:`topology.model.UserRole` value.
        worker_id: the site worker this user acts as, or None.
        places: ``{"grids": [...], "property_company": ..., "household": ...}``.
        has_password: True when a password is set.
        disabled: a disabled user cannot log in and their tokens stop working.
        language: ``zh`` or ``en``.
        source: ``site`` (seeded from the site file) or ``manual``.
        created_at: epoch seconds.
    """

    login: str
    name: str
    role: str
    worker_id: str | None
    places: dict[str, Any] = field(default_factory=dict)
    has_password: bool = False
    disabled: bool = False
    language: str = "zh"
    source: str = "manual"
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (never the hash)."""
        return {"login": self.login, "name": self.name, "role": self.role,
                "worker_id": self.worker_id, "places": self.places,
                "has_password": self.has_password, "disabled": self.disabled,
                "language": self.language, "source": self.source, "created_at": self.created_at}


def _row(r: Any) -> User:
    return User(r[0], r[1], r[2], r[3], orjson.loads(r[4]), r[5] is not None, bool(r[6]),
                r[7], r[8], r[9])


class UserStore:
    """Users, sessions and API tokens in SQLite."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        """Args: the database file; synchronous: NORMAL or FULL."""
        self.path = path
        self._conn = connect(path, synchronous=synchronous)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.executescript(_SCHEMA)

    @property
    def count(self) -> int:
        """How many users exist, read now (auth is on as soon as one does; another
        process may have added one)."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    @staticmethod
    def _guard_last_admin(c: Any, login: str) -> None:
        """Inside a write transaction: refuse when ``login`` is the only enabled admin."""
        r = c.execute("SELECT role, disabled FROM users WHERE login = ?", (login,)).fetchone()
        if r is None or r[0] != "admin" or r[1]:
            return
        others = c.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 "
                           "AND login != ?", (login,)).fetchone()[0]
        if not others:
            raise LastAdminError(f"{login} is the last admin: add another admin first")

    # -- users ---------------------------------------------------------------------------

    def upsert(self, login: str, *, name: str, role: str, worker_id: str | None = None,
               places: dict[str, Any] | None = None, password_hash: str | None = None,
               language: str = "zh", source: str = "manual", now: float) -> User:
        """Create a user or update its name, role and places (a password hash only
        replaces the stored one when given).

        Raises:
            LastAdminError: the change would demote the last enabled admin.
        """
        with transaction(self._conn, self._lock) as c:
            if role != "admin":
                self._guard_last_admin(c, login)
            c.execute(
                f"INSERT INTO users ({_USER_COLS}, updated_at) VALUES (?,?,?,?,?,?,0,?,?,?,?) "  # noqa: S608
                "ON CONFLICT(login) DO UPDATE SET name=excluded.name, role=excluded.role, "
                "worker_id=excluded.worker_id, places=excluded.places, language=excluded.language, "
                "password_hash=COALESCE(excluded.password_hash, users.password_hash), "
                "updated_at=excluded.updated_at",
                (login, name, role, worker_id, orjson.dumps(places or {}), password_hash,
                 language, source, now, now),
            )
        user = self.get(login)
        assert user is not None
        return user

    def get(self, login: str) -> User | None:
        """A user by login."""
        with self._lock:
            r = self._conn.execute(f"SELECT {_USER_COLS} FROM users WHERE login = ?",  # noqa: S608
                                   (login,)).fetchone()
        return _row(r) if r else None

    def list_users(self, *, role: str | None = None, limit: int = 100, offset: int = 0) -> list[User]:
        """Users by login."""
        where, args = ("WHERE role = ?", [role]) if role else ("", [])
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_USER_COLS} FROM users {where} ORDER BY login LIMIT ? OFFSET ?",  # noqa: S608
                (*args, limit, offset)).fetchall()
        return [_row(r) for r in rows]

    def total(self, *, role: str | None = None) -> int:
        """How many users (of a role)."""
        where, args = ("WHERE role = ?", [role]) if role else ("", [])
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM users {where}", args).fetchone()[0])  # noqa: S608

    def set_password(self, login: str, password: str, *, now: float) -> bool:
        """Set a password; ends the user's sessions and revokes their API tokens (a
        changed password is often a leaked one). False when there is no such user.

        Raises:
            WeakPasswordError: under 8 characters, or common / easy to guess.
        """
        if problem := password_problem(password, login=login):
            raise WeakPasswordError(problem)
        h = hash_password(password)
        with transaction(self._conn, self._lock) as c:
            n = c.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE login = ?",
                          (h, now, login)).rowcount
            c.execute("DELETE FROM tokens WHERE login = ?", (login,))
        return n > 0

    def set_disabled(self, login: str, disabled: bool, *, now: float) -> bool:
        """Disable or enable a user; disabling ends their sessions.

        Raises:
            LastAdminError: disabling the last enabled admin.
        """
        with transaction(self._conn, self._lock) as c:
            if disabled:
                self._guard_last_admin(c, login)
            n = c.execute("UPDATE users SET disabled = ?, updated_at = ? WHERE login = ?",
                          (int(disabled), now, login)).rowcount
            if disabled:
                c.execute("DELETE FROM tokens WHERE login = ? AND kind = 'session'", (login,))
        return n > 0

    def delete(self, login: str) -> bool:
        """Remove a user and every token of theirs.

        Raises:
            LastAdminError: the user is the last enabled admin.
        """
        with transaction(self._conn, self._lock) as c:
            self._guard_last_admin(c, login)
            n = c.execute("DELETE FROM users WHERE login = ?", (login,)).rowcount
            c.execute("DELETE FROM tokens WHERE login = ?", (login,))
        return n > 0

    def verify(self, login: str, password: str) -> User | None:
        """The user when the password is right and the user is enabled, else None.

        A wrong login costs one hash like a wrong password, so timing does not tell
        which logins exist.
        """
        with self._lock:
            r = self._conn.execute(
                f"SELECT {_USER_COLS}, password_hash FROM users WHERE login = ?",  # noqa: S608
                (login,)).fetchone()
        stored = r[-1] if r else None
        try:
            _HASHER.verify(stored or _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if r is None or stored is None or r[6]:
            return None
        return _row(r[:-1])

    # -- tokens ----------------------------------------------------------------------------

    def issue(self, login: str, *, kind: str, now: float, label: str = "",
              ttl_s: float | None = None) -> str:
        """A new session (``kind="session"``) or API token (``"api"``); returned once."""
        token = TOKEN_PREFIX[kind] + secrets.token_urlsafe(32)
        expires = None if ttl_s is None else now + ttl_s
        with transaction(self._conn, self._lock) as c:
            c.execute("INSERT INTO tokens (digest, login, kind, label, created_at, expires_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)", (_digest(token), login, kind, label[:64], now, expires))
            if kind == "session":
                c.execute("DELETE FROM tokens WHERE kind = 'session' AND expires_at < ?", (now,))
        return token

    def resolve(self, token: str, *, now: float) -> tuple[User, str] | None:
        """The enabled user and the token kind of a live token, or None."""
        d = _digest(token)
        with self._lock:
            r = self._conn.execute(
                "SELECT login, kind, expires_at FROM tokens WHERE digest = ?", (d,)).fetchone()
        if r is None or (r[2] is not None and r[2] < now):
            return None
        user = self.get(r[0])
        if user is None or user.disabled:
            return None
        with transaction(self._conn, self._lock) as c:
            c.execute("UPDATE tokens SET last_used = ? WHERE digest = ?", (now, d))
        return user, r[1]

    def revoke(self, token: str) -> None:
        """End a session or revoke a token by its value."""
        with transaction(self._conn, self._lock) as c:
            c.execute("DELETE FROM tokens WHERE digest = ?", (_digest(token),))

    def api_tokens(self, login: str | None = None) -> list[dict[str, Any]]:
        """API tokens (never their values): id is a prefix of the digest."""
        where, args = ("AND login = ?", [login]) if login else ("", [])
        with self._lock:
            rows = self._conn.execute(
                f"SELECT digest, login, label, created_at, expires_at, last_used FROM tokens "  # noqa: S608
                f"WHERE kind = 'api' {where} ORDER BY created_at", args).fetchall()
        return [{"id": r[0][:16], "login": r[1], "label": r[2], "created_at": r[3],
                 "expires_at": r[4], "last_used": r[5]} for r in rows]

    def revoke_api_token(self, token_id: str, login: str | None = None) -> bool:
        """Revoke an API token by the id :meth:`api_tokens` shows (of one user, or any)."""
        if len(token_id) != 16:
            return False
        where, args = ("AND login = ?", [login]) if login else ("", [])
        with transaction(self._conn, self._lock) as c:
            n = c.execute(f"DELETE FROM tokens WHERE kind = 'api' AND substr(digest, 1, 16) = ? {where}",  # noqa: S608
                          (token_id, *args)).rowcount
        return n > 0

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
