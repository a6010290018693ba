"""``gridwatch simulate``: publish a site's devices to an MQTT broker, with hazards on demand.

Layer: composition root (command line) around :class:`simulators.community.CommunitySimulator`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from gridwatch.cli_mqtt import add_mqtt_flags, broker_from_args
from ingest.connection import BrokerAddress, parse_broker_url

SIMULATE_HELP = """\
Make every device of a site behave like the real thing and publish to an MQTT
broker: heartbeats at each device's interval, batteries draining, signal
strength, unit doors busy at rush hours, elderly residents going out in the
morning, small gas and CO blips while people cook, the odd duplicate message,
and now and then a device whose radio link drops for a few hours (--fault-rate).

Hazards (--inject HAZARD:DEVICE_ID, repeatable, started --inject-after
seconds after the start):

  gas_leak     gas detector: %LEL rising 2 per second up to 30
  co           gas or CO detector: 150 ppm
  smoke        smoke alarm goes off
  fire         smoke alarm or heat detector: smoke, then rising temperature
  water_leak   water-leak sensor turns wet
  door_open    door contact held open (a unit door left open)
  silent       the device stops reporting (dead battery, lost link)
  tamper       the device is taken off its base
  battery_low  the battery drops to 8 %

Examples:

  gridwatch simulate                                   the sample site, 127.0.0.1:1883
  gridwatch simulate --rate 60 --duration 120          an hour of community life a minute
  gridwatch simulate --inject gas_leak:c1-b01-u1-101-gas --inject-after 10

Fast-forward (a week in a minute): against a service started with
`gridwatch run --clock manual`, publish each minute's reports and move the
service's clock, as fast as it takes them; --inject-after is then in
simulated seconds:

  gridwatch simulate --site my.yaml --fast-forward 7d --url http://127.0.0.1:8000 \
      --token $GRIDWATCH_ADMIN_TOKEN --inject water_leak:c1-b01-u1-101-water --inject-after 86400

Device ids are in the site file (`gridwatch site validate FILE` lists how
many of each kind there are). Ctrl-C stops.
"""


def register(subparsers: Any) -> None:
    """Add ``simulate`` to the ``gridwatch`` command line (sets ``func``)."""
    p = subparsers.add_parser(
        "simulate",
        help="publish a simulated community to an MQTT broker",
        description=SIMULATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--site",
        type=Path,
        metavar="FILE",
        help="site file (YAML); default: the bundled Wuyang sample",
    )
    p.add_argument(
        "--mqtt",
        default="mqtt://127.0.0.1:1883",
        metavar="URL",
        help="broker to publish to, mqtt://[user@]host:port, or mqtts:// for TLS "
        "(default %(default)s)",
    )
    add_mqtt_flags(p)
    p.add_argument(
        "--rate",
        type=float,
        default=1.0,
        metavar="MULT",
        help="run heartbeats and daily routines MULT times faster than real time; "
        "timestamps stay real (default %(default)s)",
    )
    p.add_argument(
        "--inject",
        action="append",
        default=[],
        metavar="HAZARD:DEVICE_ID",
        help="start a hazard on a device (repeatable; see the list above)",
    )
    p.add_argument(
        "--inject-after",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds after the start to inject the hazards (default %(default)s)",
    )
    p.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stop after S seconds (default: run until Ctrl-C)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="random seed; the same seed behaves the same (default %(default)s)",
    )
    p.add_argument("--qos", type=int, choices=[0, 1], default=1, help="MQTT QoS (default 1)")
    p.add_argument(
        "--fault-rate",
        type=float,
        default=0.002,
        metavar="N",
        help="radio link dropouts per device per simulated day, each 0.5-6 h: the service "
        "sees the device go offline and come back (default %(default)s; 0 for none)",
    )
    p.add_argument(
        "--client-id",
        default="gridwatch-simulator",
        metavar="ID",
        help="MQTT client id (default %(default)s)",
    )
    p.add_argument(
        "--fast-forward",
        metavar="DURATION",
        help="run DURATION of simulated time (7d, 36h, 90m, seconds) against a service on "
        "the manual clock (--url), as fast as it takes the messages, then stop",
    )
    p.add_argument("--url", default="http://127.0.0.1:8000", metavar="URL",
                   help="with --fast-forward: the service's API (default %(default)s)")
    p.add_argument("--token", metavar="TOKEN",
                   help="with --fast-forward: an admin token (default: $GRIDWATCH_ADMIN_TOKEN)")
    p.add_argument("--step", type=float, metavar="S",
                   help="with --fast-forward: simulated seconds per step, at most 240 "
                   "(default: the shortest heartbeat + 60 s, so no device looks silent)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_simulate)


def parse_mqtt_url(url: str) -> tuple[str, int, str | None, str | None]:
    """``mqtt://user:pass@host:port`` → (host, port, user, password).

    Raises:
        ValueError: not an ``mqtt://`` or ``mqtts://`` URL.
    """
    b = parse_broker_url(url)
    return b.host, b.port, b.username, b.password


def parse_injections(items: list[str]) -> list[tuple[str, str]]:
    """``["gas_leak:dev1"]`` → ``[("gas_leak", "dev1")]``.

    Raises:
        ValueError: an item without a colon.
    """
    out = []
    for item in items:
        hazard, sep, device = item.partition(":")
        if not sep or not hazard or not device:
            raise ValueError(f"--inject takes HAZARD:DEVICE_ID, not {item!r}")
        out.append((hazard, device))
    return out


def progress_line(stats: Any, *, final: bool = False) -> str:
    """One status line: messages sent, rate, simulated time, hazards (and a lost broker)."""
    sim = time.strftime("%m-%d %H:%M", time.localtime(stats.sim_time_ts))
    hazards = ", ".join(f"{h}@{d}" for d, h in sorted(stats.hazards.items())) or "none"
    link = "" if stats.connected or final else "  [broker disconnected, retrying]"
    return (
        f"sent {stats.sent:,} msgs  {stats.rate_per_s:,.0f} msg/s  {stats.devices:,} devices  "
        f"sim time {sim}  hazards: {hazards}{link}"
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    """``gridwatch simulate``."""
    from sensors.errors import SiteError  # noqa: PLC0415 - keep --help fast
    from simulators.community import CommunitySimulator, SimulatorError  # noqa: PLC0415
    from topology.index import SiteIndex  # noqa: PLC0415
    from topology.load import SAMPLE_SITE, load_site  # noqa: PLC0415

    try:
        broker = broker_from_args(args.mqtt, args)
        injections = parse_injections(args.inject)
        index = SiteIndex(load_site(args.site or SAMPLE_SITE))
    except (ValueError, SiteError) as exc:
        print(f"gridwatch simulate: {exc}", file=sys.stderr)
        return 2
    unknown = [d for _, d in injections if d not in index.device_index]
    if unknown:
        print(f"gridwatch simulate: no device {unknown[0]!r} in the site", file=sys.stderr)
        return 2
    if args.fast_forward:
        return _fast_forward(index, broker, injections, args)
    sim = CommunitySimulator(
        index,
        host=broker.host,
        port=broker.port,
        rate_multiplier=args.rate,
        seed=args.seed,
        qos=args.qos,
        client_id=args.client_id,
        username=broker.username,
        password=broker.password,
        tls=broker.tls,
        fault_rate=args.fault_rate,
    )
    try:
        sim.start()
    except SimulatorError as exc:
        print(
            f"gridwatch simulate: {exc}. Is a broker running there? "
            "(`gridwatch run` starts one on 1883.)",
            file=sys.stderr,
        )
        return 1
    out = sys.stderr
    try:
        return _drive(sim, injections, args, out)
    except KeyboardInterrupt:
        return 0
    finally:
        sim.stop()
        if not args.quiet:
            out.write(
                ("\r\033[K" if out.isatty() else "") + progress_line(sim.stats(), final=True) + "\n"
            )


def _drive(
    sim: Any, injections: list[tuple[str, str]], args: argparse.Namespace, out: TextIO
) -> int:
    start = time.monotonic()
    pending = list(injections)
    tty = out.isatty()
    last_line = start
    while args.duration is None or time.monotonic() - start < args.duration:
        if pending and time.monotonic() - start >= args.inject_after:
            for hazard, device in pending:
                try:
                    sim.inject(hazard, device)
                except ValueError as exc:
                    print(f"\ngridwatch simulate: {exc}", file=sys.stderr)
                    return 2
            pending = []
        if sim.error is not None:
            print(f"\ngridwatch simulate: stopped: {sim.error}", file=sys.stderr)
            return 1
        if not args.quiet and tty:  # updated in place
            out.write("\r\033[K" + progress_line(sim.stats()))
            out.flush()
        elif not args.quiet and time.monotonic() - last_line >= 10.0:  # a log: a line now and then
            out.write(progress_line(sim.stats()) + "\n")
            last_line = time.monotonic()
        time.sleep(0.5)
    return 0


def fast_forward_line(st: Any) -> str:
    """One status line of a fast-forward run."""
    sim = time.strftime("%m-%d %H:%M", time.localtime(st.sim_now))
    done = (st.sim_now - st.sim_start) / max(st.sim_end - st.sim_start, 1e-9)
    alerts = ", ".join(f"{k} {v}" for k, v in sorted(st.open_alerts.items()) if v) or "none"
    return (
        f"sim {sim}  {done:6.1%}  {(st.sim_now - st.sim_start) / 86400:.2f} days in "
        f"{st.wall_s:.1f} s ({st.speedup:,.0f}x)  sent {st.sent:,} ({st.rate_per_s:,.0f}/s)  "
        f"link dropouts {st.dropouts}  open alerts: {alerts}"
    )


def _fast_forward(index: Any, broker: BrokerAddress,
                  injections: list[tuple[str, str]], args: argparse.Namespace) -> int:
    import os  # noqa: PLC0415

    import httpx  # noqa: PLC0415

    from simulators.community import SimulatorError  # noqa: PLC0415
    from simulators.fastforward import FastForward, parse_duration  # noqa: PLC0415
    from simulators.manual_clock import ManualClockError  # noqa: PLC0415

    out = sys.stderr
    tty = out.isatty()
    try:
        duration = parse_duration(args.fast_forward)
        ff = FastForward(index, api=args.url, token=args.token or os.environ.get("GRIDWATCH_ADMIN_TOKEN"),
                         host=broker.host, port=broker.port, step_s=args.step, seed=args.seed,
                         injections=[(args.inject_after, h, d) for h, d in injections],
                         username=broker.username, password=broker.password, tls=broker.tls,
                         fault_rate=args.fault_rate)
    except ValueError as exc:
        print(f"gridwatch simulate: {exc}", file=sys.stderr)
        return 2

    def show(st: Any) -> None:
        if args.quiet:
            return
        if tty:
            out.write("\r\033[K" + fast_forward_line(st))
            out.flush()
        else:
            out.write(fast_forward_line(st) + "\n")

    try:
        st = ff.run(duration, progress=show)
    except (SimulatorError, ManualClockError, OSError, httpx.HTTPError) as exc:
        print(f"\ngridwatch simulate: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    if not args.quiet:
        out.write(("\r\033[K" if tty else "") + fast_forward_line(st) + "\n")
    return 0
