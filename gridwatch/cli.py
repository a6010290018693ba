"""The ``gridwatch`` command line.

Layer: composition root. ``gridwatch run`` starts the service; ``site`` and
``simulate`` are the tools around it. Flags mirror ``GRIDWATCH_*`` environment
variables (flags win).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from sensors.errors import GridWatchError

RUN_HELP = """\
Start GridWatch: MQTT ingest, rule core, alerts and the API/web app.

Without --mqtt an MQTT broker is started inside the service on --mqtt-port
(the zero-setup mode); without --site the bundled sample community (Wuyang,
3,592 households) is used. With --simulate the bundled simulator publishes
the site's devices and, after 20 s, leaks gas in one kitchen, so you can
watch an alert reach its grid worker.

Every flag has an environment variable: --data-dir is GRIDWATCH_DATA_DIR, and
so on. GRIDWATCH_ADMIN_TOKEN, when set, is the admin bearer token of the API.
"""


# Settings that are not flags, and why (everything else in gridwatch.config.Settings is
# one). Secrets (SecretStr settings) are environment-only unless listed in SECRET_FLAGS:
# a command line is visible to every user of the machine (ps).
NOT_FLAGS: dict[str, str] = {
    "admin_token": "a secret: GRIDWATCH_ADMIN_TOKEN only, never on a command line (ps shows it)",
}
ENV_ONLY_REASON = "a secret: its GRIDWATCH_ environment variable only (ps shows command lines)"
# Secrets that stay flags because deployments already pass them so (docker-compose.yml).
SECRET_FLAGS = frozenset({"influx_token"})
# Short choices shown for these flags' values.
_METAVARS = {"site": "FILE", "data_dir": "DIR", "mqtt": "URL", "public_url": "URL", "influx_url": "URL"}


def not_flags() -> dict[str, str]:
    """Settings without a ``gridwatch run`` flag, each with its reason."""
    from pydantic import SecretStr  # noqa: PLC0415

    from gridwatch.config import Settings  # noqa: PLC0415 - keep `--help` fast elsewhere

    out = dict(NOT_FLAGS)
    for name, info in Settings.model_fields.items():
        secret = info.annotation is SecretStr or SecretStr in get_args(info.annotation)
        if secret and name not in SECRET_FLAGS:
            out.setdefault(name, ENV_ONLY_REASON)
    return out


def run_flags() -> list[tuple[str, str]]:
    """(flag, settings field) of every ``gridwatch run`` flag, generated from the settings."""
    from gridwatch.config import Settings  # noqa: PLC0415 - keep `--help` fast elsewhere

    skip = not_flags()
    out = []
    for name, info in Settings.model_fields.items():
        if name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        if info.annotation is bool and info.default is True:
            flag = "--no-" + name.replace("_", "-")
        out.append((flag, name))
    return out


def _field_help(name: str, info: Any) -> str:
    text = info.description or name.replace("_", " ")
    default = info.default
    if default is not None and not isinstance(default, bool):
        text += f" (default {default})"
    return text + f"; env GRIDWATCH_{name.upper()}"


def _add_run(sub: Any) -> None:
    from gridwatch.config import Settings  # noqa: PLC0415

    p = sub.add_parser("run", help="start the service", description=RUN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, name in run_flags():
        info = Settings.model_fields[name]
        ann = info.annotation
        kw: dict[str, Any] = {"dest": name, "help": _field_help(name, info), "default": None}
        if ann is bool:
            kw["action"] = "store_false" if info.default is True else "store_true"
        else:
            inner = ann
            if get_origin(ann) is not Literal:
                inner = next((a for a in get_args(ann) if a is not type(None)), ann)
            if get_origin(inner) is Literal:
                kw["choices"] = list(get_args(inner))
            elif inner in (int, float):
                kw["type"] = inner
            kw["metavar"] = _METAVARS.get(name)
        p.add_argument(flag, **kw)
    p.set_defaults(func=cmd_run)


def demo_data_dir(base: Path, now: float, keep: int = 3) -> Path:
    """A fresh data directory for one demo run under ``base/demo``: every ``scripts/run``
    starts without the alerts a previous run left open, so its alarm shows again.
    Older demo runs beyond the newest ``keep`` are removed."""
    import shutil  # noqa: PLC0415
    import time  # noqa: PLC0415

    root = base / "demo"
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    fresh, n = root / stamp, 1
    while True:
        try:
            fresh.mkdir()  # exclusive: two demos started in the same second get two directories
            break
        except FileExistsError:
            n += 1
            fresh = root / f"{stamp}-{n}"
    runs = sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: d.name)
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return fresh


def cmd_run(args: argparse.Namespace) -> int:
    """``gridwatch run``."""
    import os  # noqa: PLC0415
    import time  # noqa: PLC0415

    from gridwatch.config import Settings  # noqa: PLC0415 - keep `--help` fast
    from gridwatch.console import Console  # noqa: PLC0415
    from gridwatch.runtime import Runtime  # noqa: PLC0415

    overrides = {k: getattr(args, k) for _, k in run_flags() if getattr(args, k, None) is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for e in exc.errors():
            print(f"gridwatch run: --{'-'.join(str(x) for x in e['loc'])}: {e['msg']}", file=sys.stderr)
        return 2
    demo = settings.simulate and "data_dir" not in overrides and "GRIDWATCH_DATA_DIR" not in os.environ
    if demo:
        settings = settings.model_copy(update={"data_dir": demo_data_dir(settings.data_dir, time.time())})
        print(f"Demo: a fresh data directory {settings.data_dir} (--data-dir DIR keeps one across runs).",
              flush=True)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = Runtime(settings)
    from api.app import exposure_problem  # noqa: PLC0415

    if problem := exposure_problem(settings, rt.users.count):
        print(f"gridwatch run: {problem}", file=sys.stderr)
        return 2

    async def main() -> None:
        console_task: asyncio.Task[None] | None = None

        def ready(r: Runtime) -> None:
            nonlocal console_task
            print(f"GridWatch is up: {len(r.table)} devices in {r.site.community.name} "
                  f"({r.site.community.id}); API http://{settings.host}:{settings.port}/; "
                  f"MQTT {r.mqtt_host}:{r.mqtt_port}{' (embedded)' if r.broker else ''}. Ctrl-C stops.",
                  flush=True)
            if settings.console:
                console_task = asyncio.create_task(Console(r).run())

        try:
            await rt.serve(ready=ready)
        finally:
            if console_task is not None:
                console_task.cancel()
        print("\nGridWatch stopped.")

    asyncio.run(main())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(
        prog="gridwatch",
        description="GridWatch: gas, smoke, water-leak and door sensors of a grid-managed "
        "community in; every hazard to the grid worker responsible for it, until it is handled.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    for name in ("gridwatch.cli_site", "gridwatch.cli_simulate", "gridwatch.cli_scenario", "gridwatch.cli_user"):
        try:
            module = __import__(name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gridwatch`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GridWatchError as exc:
        print(f"gridwatch {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
