"""``gridwatch scenario``: run hazard scenarios against a service and report.

Layer: composition root (it may start the whole service).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gridwatch.cli_mqtt import add_mqtt_flags, broker_from_args

SCENARIO_HELP = """\
Run scenarios: each file is a timeline of events on named devices (a gas leak growing,
CO at 70 ppm, a fire, a burst pipe, a resident not going out for 30 hours, a dead
sensor, hostile payloads...) and the outcome expected (which alerts, how severe, to
whom, within what time, which escalations, and what must NOT happen).

  gridwatch scenario list                          the bundled library
  gridwatch scenario run --all                     run the library on a fresh embedded service each
  gridwatch scenario run --all --in-process        ... or on the alarm core in memory (milliseconds each)
  gridwatch scenario run FILE... --junit out.xml   also write JUnit XML
  gridwatch scenario run FILE --url http://127.0.0.1:8000 --mqtt mqtt://127.0.0.1:1883 \\
      --token $GRIDWATCH_ADMIN_TOKEN               against a running `gridwatch run --clock manual`

Without --url each scenario gets a service of its own (embedded broker, manual clock,
a temporary data directory), so hours of scenario time take seconds. --in-process plays
each on a fresh alarm core in memory instead: the ingest's decoding, the rules, the
alert side and escalation on a manual clock, without broker, API, SQLite or delivery.
Against a running service scenarios share its state: use distinct devices, or expect
earlier alerts.
Exit status: 0 when every scenario passed, 1 when one failed, 2 for a bad file.
The format: simulators/scenarios/README.md.
"""


def register(subparsers: Any) -> None:
    """Add ``scenario`` to the ``gridwatch`` command line."""
    p = subparsers.add_parser("scenario", help="run hazard scenarios and report pass or fail",
                              description=SCENARIO_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="scenario_command", metavar="COMMAND")
    ls = sub.add_parser("list", help="list the bundled scenarios")
    ls.set_defaults(func=_list)
    run = sub.add_parser("run", help="run scenario files", description=SCENARIO_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("files", nargs="*", type=Path, metavar="FILE")
    run.add_argument("--all", action="store_true", help="the whole bundled library")
    run.add_argument("--url", help="API of a running service on the manual clock")
    run.add_argument("--in-process", action="store_true",
                     help="play each on the alarm core in memory (no broker, API or database)")
    run.add_argument("--mqtt", help="its broker, mqtt://[user@]host:port or mqtts:// (with --url)")
    add_mqtt_flags(run)
    run.add_argument("--token", help="its admin token (with --url; default: $GRIDWATCH_ADMIN_TOKEN)")
    run.add_argument("--community", help="its community id (with --url; default: from the site)")
    run.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    run.add_argument("--quiet", action="store_true", help="only the summary line and failures")
    run.set_defaults(func=_run)
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])


def _list(_args: argparse.Namespace) -> int:
    from simulators.scenario import bundled, load_scenario  # noqa: PLC0415

    for path in bundled():
        sc = load_scenario(path).scenario
        print(f"{path.stem:<32} {sc.name}")
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def embedded_service(site: Path, *, mqtt: str | None = None) -> Iterator[Any]:
    """A whole GridWatch on the manual clock in a thread: yields a scenario Target."""
    from pydantic import SecretStr  # noqa: PLC0415

    from gridwatch.config import Settings  # noqa: PLC0415
    from gridwatch.runtime import Runtime  # noqa: PLC0415
    from simulators.scenario import ScenarioError, Target  # noqa: PLC0415

    token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="gw-scenario-") as tmp:
        settings = Settings(site=site, data_dir=Path(tmp), port=_free_port(), mqtt=mqtt,
                            mqtt_port=_free_port(), clock="manual", admin_token=SecretStr(token),
                            console=False, mqtt_client_id=f"gw-scenario-{secrets.token_hex(4)}")
        rt = Runtime(settings)
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(rt.serve(ready=lambda _r: ready.set()))
            except BaseException as exc:
                failure.append(exc)
                ready.set()

        thread = threading.Thread(target=serve, name="gridwatch-scenario", daemon=True)
        thread.start()
        if not ready.wait(60) or failure:
            raise ScenarioError(f"the service did not start: {failure[0] if failure else 'timeout'}")
        if not rt.ingest.connected.wait(30):
            rt.request_stop()
            raise ScenarioError("the service's ingest did not connect to MQTT")
        try:
            login = rt.simulator_login()  # the embedded broker lets in only its own users
            yield Target(f"http://127.0.0.1:{settings.port}", rt.mqtt_host, rt.mqtt_port, token,
                         rt.site.community.id, login.get("username"), login.get("password"),
                         login.get("tls"))
        finally:
            rt.request_stop()
            thread.join(30)


def run_embedded(loaded: Any, *, mqtt: str | None = None) -> Any:
    """Play one loaded scenario on a fresh embedded service; returns its Result.

    Raises:
        ScenarioError: the service did not start or its ingest did not connect.
    """
    from simulators.scenario import Runner  # noqa: PLC0415

    with embedded_service(loaded.site_path, mqtt=mqtt) as target:
        runner = Runner(target)
        try:
            return runner.run(loaded)
        finally:
            runner.close()


def _run(args: argparse.Namespace) -> int:
    from simulators.scenario import (  # noqa: PLC0415
        Result,
        Runner,
        ScenarioError,
        Target,
        bundled,
        junit_xml,
        load_scenario,
        table,
    )
    from topology.load import load_site  # noqa: PLC0415

    paths = list(args.files) + (bundled() if args.all else [])
    if not paths:
        print("gridwatch scenario run: name scenario files, or --all", file=sys.stderr)
        return 2
    try:
        loaded = [load_scenario(p) for p in paths]
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    results: list[Result] = []
    if args.in_process and (args.url or args.mqtt):
        print("gridwatch scenario run: --in-process takes no --url or --mqtt", file=sys.stderr)
        return 2
    if args.in_process:
        from gridwatch.in_process import InProcessDriver  # noqa: PLC0415

        for item in loaded:
            results.append(Runner(InProcessDriver(item.site_path)).run(item))
            _progress(results[-1], args.quiet)
    elif args.url:
        import os  # noqa: PLC0415

        args.token = args.token or os.environ.get("GRIDWATCH_ADMIN_TOKEN")
        if not args.mqtt or not args.token:
            print("gridwatch scenario run: --url needs --mqtt and --token "
                  "(or GRIDWATCH_ADMIN_TOKEN)", file=sys.stderr)
            return 2
        try:
            b = broker_from_args(args.mqtt, args)
        except ValueError as exc:
            print(f"gridwatch scenario run: --mqtt: {exc}", file=sys.stderr)
            return 2
        community = args.community or load_site(loaded[0].site_path).community.id
        runner = Runner(Target(args.url.rstrip("/"), b.host, b.port, args.token, community,
                               b.username, b.password, b.tls))
        try:
            for item in loaded:
                results.append(runner.run(item))
                _progress(results[-1], args.quiet)
        finally:
            runner.close()
    else:
        for item in loaded:
            try:
                results.append(run_embedded(item, mqtt=args.mqtt))
            except ScenarioError as exc:
                results.append(Result(item.path, item.scenario.name, error=str(exc)))
            _progress(results[-1], args.quiet)
    print(table(results).splitlines()[-1])
    if args.junit:
        args.junit.write_text(junit_xml(results), encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1


def _progress(result: Any, quiet: bool) -> None:
    from simulators.scenario import table  # noqa: PLC0415

    text = table([result]).splitlines()[:-1]
    if quiet and result.passed:
        return
    print("\n".join(text), flush=True)
