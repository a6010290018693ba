"""Reading site files: YAML → validated :class:`topology.model.Site`, with errors that
name the file, the path inside it and what is wrong.

Layer: pure core (reads a file it is given; no network).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sensors.errors import SiteError
from topology.model import Site

MAX_SITE_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS = 50
# Plainer words for the errors site authors make most.
_MESSAGES = {
    "extra_forbidden": "unknown key (misspelt? the keys are in topology/schema/site.schema.json)",
    "missing": "required key is missing",
}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAMPLE_SITE = Path(__file__).parent / "samples" / "wuyang.yaml"


Locator = Callable[[tuple[int | str, ...]], int | None]
"""Maps a path inside the site data to the 1-based line it starts on, or None."""

_PATH_PART = re.compile(r"\[(\d+)\]|\.?([A-Za-z_][A-Za-z0-9_]*)")


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _parse_path(path: str) -> tuple[int | str, ...]:
    """``buildings[3].units[0].id`` → ``("buildings", 3, "units", 0, "id")``."""
    return tuple(
        int(m.group(1)) if m.group(1) is not None else m.group(2) for m in _PATH_PART.finditer(path)
    )


def yaml_locator(text: bytes | str) -> Locator:
    """A :data:`Locator` over YAML text; the node tree is built on first use only.

    Only error paths pay for it: loading a valid file never composes the tree.
    """
    root: list[Any] = []

    def locate(loc: tuple[int | str, ...]) -> int | None:
        if not root:
            try:
                root.append(yaml.compose(text, Loader=_LOADER))  # noqa: S506 - safe loader
            except yaml.YAMLError:
                root.append(None)
        node = root[0]
        line = None
        for part in loc:
            if node is None:
                break
            line = node.start_mark.line + 1
            node = _child(node, part)
        if node is not None:
            line = node.start_mark.line + 1
        return line

    return locate


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value
    return None


def _got(err: Any) -> str:
    """`` (got 'abc')`` for a wrong scalar value; nothing for missing or composite ones."""
    if err.get("type") in ("missing", "extra_forbidden") or "input" not in err:
        return ""
    value = err["input"]
    if isinstance(value, dict | list):
        return f" (got a {'mapping' if isinstance(value, dict) else 'list'})"
    text = repr(value)
    return f" (got {text[:40] + '...' if len(text) > 40 else text})"


def _line(locate: Locator | None, loc: tuple[int | str, ...]) -> str:
    line = locate(loc) if locate else None
    return f" (line {line})" if line else ""


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

    id_lists: dict[str, list[str]] = {
        "workers": [w.id for w in site.workers],
        "grids": [g.id for g in site.grids],
        "micro_grids": [m.id for m in site.micro_grids],
        "compounds": [c.id for c in site.compounds],
        "property_companies": [p.id for p in site.property_companies],
    }
    for name, ids in id_lists.items():
        seen: set[str] = set()
        for i, item_id in enumerate(ids):
            if item_id in seen:
                yield f"{name}[{i}].id", f"duplicate id {item_id!r}"
            seen.add(item_id)
    yield from ref("community.head", site.community.head, workers, "worker")
    yield from ref("community.deputy", site.community.deputy, workers, "worker")
    for i, p in enumerate(site.property_companies):
        for j, s in enumerate(p.staff):
            yield from ref(f"property_companies[{i}].staff[{j}]", s, workers, "worker")
    for i, c in enumerate(site.compounds):
        yield from ref(
            f"compounds[{i}].property_company", c.property_company, pcs, "property company"
        )
        yield from ref(f"compounds[{i}].branch_secretary", c.branch_secretary, workers, "worker")
    for i, g in enumerate(site.grids):
        for f in ("worker", "assistant", "leader"):
            yield from ref(f"grids[{i}].{f}", getattr(g, f), workers, "worker")
    for i, m in enumerate(site.micro_grids):
        yield from ref(f"micro_grids[{i}].grid", m.grid, grids, "grid")
        yield from ref(f"micro_grids[{i}].leader", m.leader, workers, "worker")
    yield from _walk_places(site, grids=grids, mgs=mgs, compounds=compounds, pcs=pcs)


def _walk_places(  # noqa: C901 - one flat list of checks
    site: Site, *, grids: set[str], mgs: set[str], compounds: set[str], pcs: set[str]
) -> Iterator[tuple[str, str]]:
    """Yield (path, problem) for buildings, units, households and their devices."""

    def ref(path: str, value: str | None, known: set[str], what: str) -> Iterator[tuple[str, str]]:
        if value is not None and value not in known:
            yield path, f"unknown {what} {value!r}"

    place_ids: set[str] = set()
    device_ids: set[str] = set()

    def place(path: str, pid: str) -> Iterator[tuple[str, str]]:
        if pid in place_ids:
            yield path, f"duplicate place id {pid!r}"
        place_ids.add(pid)

    z2m_names: set[str] = set()
    gateways = {d.id for b in site.buildings
                for d in [*b.devices, *(x for u in b.units for x in u.devices),
                          *(x for u in b.units for h in u.households for x in h.devices)]
                if d.kind.value == "gateway"}

    def devs(path: str, devices: list[Any]) -> Iterator[tuple[str, str]]:
        for k, d in enumerate(devices):
            if d.via is not None and d.via not in gateways:
                yield f"{path}.devices[{k}].via", f"{d.via!r} is not a gateway of this site"
            if d.id in device_ids:
                yield f"{path}.devices[{k}].id", f"duplicate device id {d.id!r}"
            device_ids.add(d.id)
            if d.z2m_name is not None:
                if d.z2m_name in z2m_names:
                    yield f"{path}.devices[{k}].z2m_name", f"duplicate z2m_name {d.z2m_name!r}"
                z2m_names.add(d.z2m_name)

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


def parse_site(data: object, source: str = "<site>", *, locate: Locator | None = None) -> Site:
    """Validate already-parsed YAML/JSON data as a site.

    Args:
        data: the parsed file.
        source: the file name to start every message with.
        locate: finds the line of a path (see :func:`yaml_locator`); lines are
            added to messages as ``(line N)`` when given.

    Raises:
        SiteError: listing every problem (at most 50) as ``source: path: what is wrong``.
    """
    if data is None:
        raise SiteError(f"{source}: (top): the file is empty; a site needs at least `community:`")
    try:
        site = Site.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{source}: {_loc(e['loc'])}: {_MESSAGES.get(e['type'], e['msg'])}{_got(e)}"
            f"{_line(locate, e['loc'])}"
            for e in exc.errors()[:MAX_PROBLEMS]
        ]
        raise SiteError("\n".join(lines)) from None
    problems = list(_walk_refs(site))
    if problems:
        raise SiteError(
            "\n".join(
                f"{source}: {path}: {problem}{_line(locate, _parse_path(path))}"
                for path, problem in problems[:MAX_PROBLEMS]
            )
        )
    return site


def load_site(path: str | Path) -> Site:
    """Read and validate a YAML site file.

    Raises:
        SiteError: the file cannot be read, is not YAML, or does not validate;
            every line names the file, the path inside it, the problem and,
            where known, the line.
    """
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SITE_BYTES:
            raise SiteError(f"{p}: larger than {MAX_SITE_BYTES} bytes")
        text = p.read_bytes()
    except OSError as exc:
        raise SiteError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise SiteError(f"{p}: {where}not valid YAML: {detail}") from None
    return parse_site(data, str(p), locate=yaml_locator(text))
