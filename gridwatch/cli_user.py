"""``gridwatch user``: add users, set passwords, list them, hash a password for a site file.

Layer: composition root (command line). Works on ``users.db`` in the data
directory directly, so it runs with the service stopped or running (SQLite WAL).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

USER_HELP = """\
Web-app users: who may log in, with which role and places.

  gridwatch user add admin --role admin                 asks for a password
  gridwatch user add zhangwei --role grid_worker --worker w-g01
  gridwatch user add pm1 --role property_manager --company pc-1
  gridwatch user add r101 --role resident --household b1-u1-101
  gridwatch user passwd zhangwei
  gridwatch user delete zhangwei
  gridwatch user list
  gridwatch user hash                                   an argon2 hash for `users:` in a site file

Roles: admin, leader, grid_worker (their grids: --grid, or those of --worker),
property_manager and maintenance (--company's buildings), resident (--household,
read-only). Passwords come from the prompt, or from stdin with --password-stdin,
or from GRIDWATCH_USER_PASSWORD; short and common ones are refused. Once a user
exists the API needs a login, at once, also in a running service. The last
enabled admin cannot be deleted, disabled or given another role.
"""

ROLES = ("admin", "leader", "grid_worker", "property_manager", "maintenance", "resident")


def register(subparsers: Any) -> None:
    """Add ``user add|passwd|list|disable|enable|hash`` to the ``gridwatch`` command line."""
    user = subparsers.add_parser("user", help="web-app users and passwords", description=USER_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    user.set_defaults(func=lambda _a: (user.print_help(), 2)[1])
    sub = user.add_subparsers(dest="user_command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, default=None,
                       help="where the databases live (default $GRIDWATCH_DATA_DIR or ./data)")

    a = sub.add_parser("add", help="create or change a user")
    a.add_argument("login")
    a.add_argument("--role", choices=ROLES, required=True)
    a.add_argument("--name", help="display name (default: the login)")
    a.add_argument("--worker", help="site worker id this user acts as")
    a.add_argument("--grid", action="append", default=[], help="grid id (repeatable)")
    a.add_argument("--company", help="property company id")
    a.add_argument("--household", help="household id (resident)")
    a.add_argument("--language", choices=("zh", "en"), default="zh")
    a.add_argument("--no-password", action="store_true", help="do not set a password now")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    common(a)
    a.set_defaults(func=cmd_add)

    p = sub.add_parser("passwd", help="set a user's password (ends their sessions)")
    p.add_argument("login")
    p.add_argument("--password-stdin", action="store_true")
    common(p)
    p.set_defaults(func=cmd_passwd)

    rm = sub.add_parser("delete", help="remove a user with their sessions and tokens")
    rm.add_argument("login")
    common(rm)
    rm.set_defaults(func=cmd_delete)

    ls = sub.add_parser("list", help="list users")
    common(ls)
    ls.set_defaults(func=cmd_list)

    for name, flag in (("disable", True), ("enable", False)):
        d = sub.add_parser(name, help=f"{name} a user")
        d.add_argument("login")
        common(d)
        d.set_defaults(func=cmd_disable, disabled=flag)

    h = sub.add_parser("hash", help="print an argon2 hash of a password (for users: in a site file)")
    h.add_argument("--password-stdin", action="store_true")
    h.set_defaults(func=cmd_hash)


def _store(args: argparse.Namespace) -> Any:
    from store.users import UserStore  # noqa: PLC0415 - keep `--help` fast

    data_dir = args.data_dir or Path(os.environ.get("GRIDWATCH_DATA_DIR", "data"))
    return UserStore(data_dir / "users.db")


def _password(args: argparse.Namespace) -> str:
    from store.strength import password_problem  # noqa: PLC0415

    if os.environ.get("GRIDWATCH_USER_PASSWORD"):
        pw = os.environ["GRIDWATCH_USER_PASSWORD"]
    elif args.password_stdin:
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("password: ")
        if getpass.getpass("again: ") != pw:
            raise SystemExit("gridwatch user: the passwords differ")
    if problem := password_problem(pw, login=getattr(args, "login", "")):
        raise SystemExit(f"gridwatch user: {problem}")
    return pw


def _refused(exc: Exception) -> int:
    print(f"gridwatch user: {exc}", file=sys.stderr)
    return 1


def cmd_add(args: argparse.Namespace) -> int:
    """``gridwatch user add``."""
    places: dict[str, Any] = {}
    if args.grid:
        places["grids"] = args.grid
    if args.company:
        places["property_company"] = args.company
    if args.household:
        places["household"] = args.household
    from store.users import LastAdminError  # noqa: PLC0415

    pw = None if args.no_password else _password(args)
    store = _store(args)
    try:
        now = time.time()
        store.upsert(args.login, name=args.name or args.login, role=args.role, worker_id=args.worker,
                     places=places, language=args.language, now=now)
        if pw:
            store.set_password(args.login, pw, now=now)
    except LastAdminError as exc:
        return _refused(exc)
    finally:
        store.close()
    print(f"user {args.login} ({args.role}) saved in {store.path}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """``gridwatch user passwd``."""
    pw = _password(args)
    store = _store(args)
    try:
        ok = store.set_password(args.login, pw, now=time.time())
    finally:
        store.close()
    if not ok:
        print(f"gridwatch user passwd: no user {args.login!r}", file=sys.stderr)
        return 1
    print(f"password of {args.login} set")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``gridwatch user list``."""
    store = _store(args)
    try:
        users = store.list_users(limit=1_000_000)
    finally:
        store.close()
    for u in users:
        flags = ("" if u.has_password else " (no password)") + (" (disabled)" if u.disabled else "")
        print(f"{u.login}\t{u.role}\t{u.name}\t{u.worker_id or '-'}\t{u.places}{flags}")
    return 0


def _change(args: argparse.Namespace, change: Callable[[Any], bool]) -> int:
    """Apply one change to a user: 1 (with the reason) when it would remove the last
    admin or there is no such user, else 0."""
    from store.users import LastAdminError  # noqa: PLC0415

    store = _store(args)
    try:
        ok = change(store)
    except LastAdminError as exc:
        return _refused(exc)
    finally:
        store.close()
    if not ok:
        print(f"gridwatch user: no user {args.login!r}", file=sys.stderr)
        return 1
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """``gridwatch user delete``."""
    code = _change(args, lambda store: store.delete(args.login))
    if code == 0:
        print(f"user {args.login} deleted")
    return code


def cmd_disable(args: argparse.Namespace) -> int:
    """``gridwatch user disable|enable``."""
    return _change(args, lambda store: store.set_disabled(args.login, args.disabled, now=time.time()))


def cmd_hash(args: argparse.Namespace) -> int:
    """``gridwatch user hash``."""
    from store.users import hash_password  # noqa: PLC0415

    print(hash_password(_password(args)))
    return 0
