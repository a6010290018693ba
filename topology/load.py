"""Reading site files: YAML → validated :class:`topology.model.Site`, with errors that
name the file, the path inside it and what is wrong.

Layer: pure core (reads a file it is given; no network).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sensors.errors import SiteError
from topology.model import Site

MAX_SITE_BYTES = 64 * 1024 * 1024
SAMPLE_SITE = Path(__file__).parent / "samples" / "wuyang.yaml"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _walk_refs(site: Site) -> Iterator[tuple[str, str]]:  # noqa: C901 - one flat list of checks
    """Yield (path, problem) for every broken reference and duplicate id."""
    workers = {w.id for w in site.workers}
    grids = {g.id for g in site.grids}
    mgs = {m.id for m in site.micro_grids}
    compounds = {c.id for c in site.compounds}
    pcs = {p.id for p in site.property_companies}

    def ref(path: str, value: str | None, known: set[str], what: str) -> Iterator[tuple[str, str]]:
        if value is not None and value not in known:
            yield path, f"unknown {what} {value!r}"

    for name, items in (
        ("workers", site.workers), ("grids", site.grids), ("micro_grids", site.micro_grids),
        ("compounds", site.compounds), ("property_companies", site.property_companies),
    ):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                yield f"{name}[{i}].id", f"duplicate id {item.id!r}"
            seen.add(item.id)
    yield from ref("community.head", site.community.head, workers, "worker")
    yield from ref("community.deputy", site.community.deputy, workers, "worker")
    for i, p in enumerate(site.property_companies):
        for j, s in enumerate(p.staff):
            yield from ref(f"property_companies[{i}].staff[{j}]", s, workers, "worker")
    for i, c in enumerate(site.compounds):
        yield from ref(f"compounds[{i}].property_company", c.property_company, pcs, "property company")
        yield from ref(f"compounds[{i}].branch_secretary", c.branch_secretary, workers, "worker")
    for i, g in enumerate(site.grids):
        for f in ("worker", "assistant", "leader"):
            yield from ref(f"grids[{i}].{f}", getattr(g, f), workers, "worker")
    for i, m in enumerate(site.micro_grids):
        yield from ref(f"micro_grids[{i}].grid", m.grid, grids, "grid")
        yield from ref(f"micro_grids[{i}].leader", m.leader, workers, "worker")
    place_ids: set[str] = set()
    device_ids: set[str] = set()

    def place(path: str, pid: str) -> Iterator[tuple[str, str]]:
        if pid in place_ids:
            yield path, f"duplicate place id {pid!r}"
        place_ids.add(pid)

    def devs(path: str, devices: list[Any]) -> Iterator[tuple[str, str]]:
        for k, d in enumerate(devices):
            if d.id in device_ids:
                yield f"{path}.devices[{k}].id", f"duplicate device id {d.id!r}"
            device_ids.add(d.id)

    for i, b in enumerate(site.buildings):
        bp = f"buildings[{i}]"
        yield from place(f"{bp}.id", b.id)
        yield from ref(f"{bp}.compound", b.compound, compounds, "compound")
        yield from ref(f"{bp}.grid", b.grid, grids, "grid")
        yield from ref(f"{bp}.property_company", b.property_company, pcs, "property company")
        yield from devs(bp, b.devices)
        for j, u in enumerate(b.units):
            up = f"{bp}.units[{j}]"
            yield from place(f"{up}.id", u.id)
            yield from ref(f"{up}.micro_grid", u.micro_grid, mgs, "micro-grid")
            yield from devs(up, u.devices)
            for k, h in enumerate(u.households):
                hp = f"{up}.households[{k}]"
                yield from place(f"{hp}.id", h.id)
                yield from ref(f"{hp}.micro_grid", h.micro_grid, mgs, "micro-grid")
                yield from devs(hp, h.devices)


def check_references(site: Site) -> list[str]:
    """Every broken reference or duplicate id in a site, as ``path: problem`` lines."""
    return [f"{path}: {problem}" for path, problem in _walk_refs(site)]


def parse_site(data: object, source: str = "<site>") -> Site:
    """Validate already-parsed YAML/JSON data as a site.

    Raises:
        SiteError: listing every problem as ``source: path: what is wrong``.
    """
    try:
        site = Site.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_loc(e['loc'])}: {e['msg']}" for e in exc.errors()[:50]]
        raise SiteError("\n".join(lines)) from None
    problems = check_references(site)
    if problems:
        raise SiteError("\n".join(f"{source}: {p}" for p in problems[:50]))
    return site


def load_site(path: str | Path) -> Site:
    """Read and validate a YAML site file.

    Raises:
        SiteError: the file cannot be read, is not YAML, or does not validate.
    """
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SITE_BYTES:
            raise SiteError(f"{p}: larger than {MAX_SITE_BYTES} bytes")
        text = p.read_bytes()
    except OSError as exc:
        raise SiteError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SiteError(f"{p}: {where}not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_site(data, str(p))
