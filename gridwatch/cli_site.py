"""``gridwatch site``: check, generate and describe site files.

Layer: composition root (command line). The work is done by the pure
:mod:`topology` package; this module only parses flags and prints.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sensors.fields import DeviceKind

SITE_HELP = """\
Tools for site files: the YAML file that describes a community (compounds,
grids and their workers, micro-grids, buildings, units, households), who is
responsible for each place, and the sensors installed there.

  gridwatch site validate mysite.yaml      check a file, print what is in it
  gridwatch site generate -o test.yaml     make a plausible community
  gridwatch site schema -o site.schema.json  the JSON Schema for editors
"""

VALIDATE_HELP = """\
Check a site file and print what is in it: how many compounds, grids,
micro-grids, buildings, units and households, and the devices by kind.

When the file is wrong every problem is printed on its own line as
`FILE: PATH: PROBLEM (line N)`, for example

  mysite.yaml: buildings[3].grid: unknown grid 'g10' (line 812)

and the exit status is 1.
"""

GENERATE_HELP = """\
Write a plausible community of any size as a site file: Chinese names,
a full-time grid worker and an assistant per grid, grid leaders, micro-grids
of 20-30 households, a property company per compound, about 10 % of
households elderly people living alone with emergency contacts, and a
realistic device mix (a gas detector in every kitchen, smoke alarms in 60 %
of flats, CO in 20 %, water leak in 30 %, a contact on every unit door).

Without size options you get the Wuyang figures (5 compounds, 68 buildings,
267 units, 3,592 households, 9 grids). The same options and --seed always
give the same file.

  gridwatch site generate --households 300 --units 24 --buildings 6 \\
      --compounds 1 --grids 2 -o small.yaml
"""

SCHEMA_HELP = """\
Print the JSON Schema of site files (draft 2020-12). Point your editor at it
for completion and checking while you type, e.g. in VS Code with the YAML
extension put this first line in the site file:

  # yaml-language-server: $schema=site.schema.json
"""


def register(subparsers: Any) -> None:
    """Add ``site validate|generate|schema`` to the ``gridwatch`` command line.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned. Each
            command sets ``func``: call ``args.func(args)``, which returns the
            exit status.
    """
    raw = argparse.RawDescriptionHelpFormatter
    site = subparsers.add_parser(
        "site",
        help="check, generate and describe site files",
        description=SITE_HELP,
        formatter_class=raw,
    )
    site.set_defaults(func=lambda args: _usage(site))
    sub = site.add_subparsers(dest="site_command", metavar="COMMAND")

    v = sub.add_parser(
        "validate",
        help="check a site file and summarise it",
        description=VALIDATE_HELP,
        formatter_class=raw,
    )
    v.add_argument("file", metavar="FILE", type=Path, help="the site file (YAML)")
    v.set_defaults(func=cmd_validate)

    g = sub.add_parser(
        "generate",
        help="write a plausible community of any size",
        description=GENERATE_HELP,
        formatter_class=raw,
    )
    _add_generate_options(g)
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser(
        "schema",
        help="print the JSON Schema of site files",
        description=SCHEMA_HELP,
        formatter_class=raw,
    )
    s.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write to FILE instead of standard output"
    )
    s.set_defaults(func=cmd_schema)


def _add_generate_options(g: argparse.ArgumentParser) -> None:
    from topology.generate import WUYANG, WUYANG_SEED  # noqa: PLC0415 - keep --help fast

    size = g.add_argument_group("size (defaults: the Wuyang community)")
    size.add_argument(
        "--compounds",
        type=int,
        default=WUYANG.compounds,
        metavar="N",
        help="gated estates (小区), each with its property company",
    )
    size.add_argument(
        "--buildings",
        type=int,
        default=WUYANG.buildings,
        metavar="N",
        help="buildings (楼栋), spread over the compounds",
    )
    size.add_argument(
        "--units",
        type=int,
        default=WUYANG.units,
        metavar="N",
        help="units / stairwells (单元), spread over the buildings",
    )
    size.add_argument(
        "--households",
        type=int,
        default=WUYANG.households,
        metavar="N",
        help="households (户), spread over the units",
    )
    size.add_argument(
        "--grids",
        type=int,
        default=WUYANG.grids,
        metavar="N",
        help="grids (网格) of whole buildings; at most --buildings",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=WUYANG_SEED,
        metavar="N",
        help="random seed; the same seed gives the same file (default %(default)s)",
    )
    g.add_argument(
        "--community-id",
        default="wuyang",
        metavar="ID",
        help="community id, used in MQTT topics (default %(default)s)",
    )
    g.add_argument(
        "--community-name",
        default="五阳社区",
        metavar="NAME",
        help="community display name (default %(default)s)",
    )
    g.add_argument(
        "--notify-base-url",
        metavar="URL",
        help="give every worker the notify target json://URL/<worker id> "
        "(for testing against a local HTTP server); default: none",
    )
    g.add_argument(
        "--z2m",
        action="store_true",
        help="give Zigbee devices a Zigbee2MQTT friendly name, so the simulator "
        "publishes them in the Zigbee2MQTT format",
    )
    g.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write to FILE instead of standard output"
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def summarise(site: Any) -> list[str]:
    """Lines describing a site: counts of places, people and devices by kind."""
    from topology.index import SiteIndex  # noqa: PLC0415

    index = SiteIndex(site)
    kinds = Counter(p.kind for p in index.devices)
    elderly = sum(1 for _, _, h in index.households.values() if h.elderly_alone)
    c = site.community
    lines = [
        f"{c.name} ({c.id}): site file is valid",
        f"  compounds      {len(site.compounds):>7,}",
        f"  grids          {len(site.grids):>7,}",
        f"  micro-grids    {len(site.micro_grids):>7,}",
        f"  buildings      {len(site.buildings):>7,}",
        f"  units          {len(index.units):>7,}",
        f"  households     {len(index.households):>7,}  ({elderly:,} elderly living alone)",
        f"  workers        {len(site.workers):>7,}",
        f"  devices        {len(index.devices):>7,}",
    ]
    lines += [f"    {k.value:<12} {kinds[k]:>7,}" for k in DeviceKind if kinds[k]]
    return lines


def cmd_validate(args: argparse.Namespace) -> int:
    """``gridwatch site validate FILE``."""
    from sensors.errors import SiteError  # noqa: PLC0415
    from topology.load import load_site  # noqa: PLC0415

    try:
        site = load_site(args.file)
    except SiteError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(summarise(site)))
    return 0


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def cmd_generate(args: argparse.Namespace) -> int:
    """``gridwatch site generate``."""
    from sensors.errors import SiteError  # noqa: PLC0415
    from topology.generate import dump_site_yaml, generate_site  # noqa: PLC0415
    from topology.load import parse_site  # noqa: PLC0415

    try:
        data = generate_site(
            compounds=args.compounds,
            buildings=args.buildings,
            units=args.units,
            households=args.households,
            grids=args.grids,
            seed=args.seed,
            community_id=args.community_id,
            community_name=args.community_name,
            notify_base_url=args.notify_base_url,
            z2m=args.z2m,
        )
        parse_site(data, "generated site")  # e.g. a --community-id with a space in it
    except (ValueError, SiteError) as exc:
        got = (f"--compounds {args.compounds} --buildings {args.buildings} --units {args.units} "
               f"--households {args.households} --grids {args.grids}")
        print(f"gridwatch site generate: {exc} (got {got}; each is a total for the whole "
              "community)", file=sys.stderr)
        return 2
    _write(dump_site_yaml(data), args.output)
    if args.output is not None:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """``gridwatch site schema``."""
    from topology.schema import site_json_schema_text  # noqa: PLC0415

    _write(site_json_schema_text(), args.output)
    return 0
