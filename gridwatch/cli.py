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
from typing import Any

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


def _add_run(sub: Any) -> None:
    p = sub.add_parser("run", help="start the service", description=RUN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", type=Path, help="site file (YAML); default: the bundled sample")
    p.add_argument("--data-dir", type=Path, help="where the databases live (default ./data)")
    p.add_argument("--host", help="API address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="API port (default 8000)")
    p.add_argument("--mqtt", metavar="URL", help="use this broker: mqtt://[user:pass@]host:port")
    p.add_argument("--mqtt-port", type=int, help="embedded broker port when no --mqtt (default 1883)")
    p.add_argument("--mqtt-protocol", choices=["auto", "5", "3.1.1"], help="MQTT version")
    p.add_argument("--simulate", action="store_true", default=None,
                   help="also run the bundled simulator against the broker")
    p.add_argument("--sim-rate", type=float, help="simulator speed multiplier (default 1)")
    p.add_argument("--clock", choices=["system", "manual"],
                   help="manual: time moves only through POST /api/clock (admin token needed)")
    p.add_argument("--store", choices=["sqlite", "influx"], help="reading store (default sqlite)")
    p.add_argument("--influx-url", help="InfluxDB URL, e.g. http://127.0.0.1:8086")
    p.add_argument("--influx-database", help="InfluxDB database or bucket (default gridwatch)")
    p.add_argument("--influx-token", help="InfluxDB 2.x/3.x token")
    p.add_argument("--no-console", dest="console", action="store_false", default=None,
                   help="no status display")
    p.add_argument("--public-url", help="base URL in notices' links (default http://HOST:PORT)")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING (default), ERROR")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """``gridwatch run``."""
    from gridwatch.config import Settings  # noqa: PLC0415 - keep `--help` fast
    from gridwatch.console import Console  # noqa: PLC0415
    from gridwatch.runtime import Runtime  # noqa: PLC0415

    keys = ("site", "data_dir", "host", "port", "mqtt", "mqtt_port", "mqtt_protocol", "simulate",
            "sim_rate", "clock", "store", "influx_url", "influx_database", "influx_token",
            "console", "log_level", "public_url")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for e in exc.errors():
            print(f"gridwatch run: --{'-'.join(str(x) for x in e['loc'])}: {e['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = Runtime(settings)

    async def main() -> None:
        console_task: asyncio.Task[None] | None = None

        def ready(r: Runtime) -> None:
            nonlocal console_task
            print(f"GridWatch is up: {len(r.table)} devices in {r.site.community.name} "
                  f"({r.site.community.id}); API http://{settings.host}:{settings.port}/api/health; "
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
