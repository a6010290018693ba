"""Benchmark: the bundled scenario library in process beside end to end.

    .venv/bin/python -m bench.scenarios [--only STEM ...] [--skip-embedded]

Plays every bundled scenario twice with the same runner: on a fresh alarm core in
memory (``gridwatch.in_process.InProcessDriver``: the ingest's decoder, the rules, the
alert side and escalation, a manual clock), then on a fresh embedded service
(``gridwatch.cli_scenario.embedded_service``: amqtt, the API, SQLite, the writer
thread). Reports each scenario's wall time both ways (the embedded time includes
starting and stopping its service, as ``gridwatch scenario run`` does) and the totals
with their ratio. One run each; the first in-process scenario also loads the rule
kernel's compiled code.
"""

from __future__ import annotations

import argparse
import time

from gridwatch.cli_scenario import run_embedded
from gridwatch.in_process import InProcessDriver
from simulators.scenario import Loaded, Runner, bundled, load_scenario


def in_process(loaded: Loaded) -> tuple[float, bool]:
    """(seconds, passed) of one scenario on a fresh alarm core."""
    t0 = time.perf_counter()
    result = Runner(InProcessDriver(loaded.site_path)).run(loaded)
    return time.perf_counter() - t0, result.passed


def embedded(loaded: Loaded) -> tuple[float, bool]:
    """(seconds, passed) of one scenario on a fresh embedded service."""
    t0 = time.perf_counter()
    result = run_embedded(loaded)
    return time.perf_counter() - t0, result.passed


def main() -> None:
    """Run and print."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None, help="scenario file stems")
    ap.add_argument("--skip-embedded", action="store_true")
    args = ap.parse_args()
    files = [load_scenario(p) for p in bundled() if args.only is None or p.stem in args.only]
    rows: list[tuple[str, float, bool, float | None, bool | None]] = []
    for f in files:
        t_in, ok_in = in_process(f)
        rows.append((f.path.stem, t_in, ok_in, None, None))
    if not args.skip_embedded:
        rows = [(name, t_in, ok_in, *embedded(f)) for (name, t_in, ok_in, _t, _ok), f in zip(rows, files, strict=True)]
    print(f"{'scenario':<36} {'in process':>11} {'embedded':>10} {'ratio':>7}")
    for name, t_in, ok_in, t_emb, ok_emb in rows:
        emb = "" if t_emb is None else f"{t_emb:9.2f}s{'' if ok_emb else '!'}"
        ratio = "" if t_emb is None else f"{t_emb / t_in:6.0f}x"
        print(f"{name:<36} {t_in * 1000:8.1f} ms{'' if ok_in else '!'} {emb:>10} {ratio:>7}")
    total_in = sum(r[1] for r in rows)
    print(f"{len(rows)} scenarios in process: {total_in:.2f} s in all, "
          f"{total_in / len(rows) * 1000:.1f} ms each on average; "
          f"{sum(not r[2] for r in rows)} failed")
    if not args.skip_embedded:
        total_emb = sum(r[3] or 0.0 for r in rows)
        print(f"embedded: {total_emb:.1f} s in all, {total_emb / len(rows):.2f} s each on average; "
              f"{sum(not r[4] for r in rows)} failed; embedded / in process = {total_emb / total_in:.0f}x")


if __name__ == "__main__":
    main()
