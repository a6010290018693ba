"""The pages' JavaScript: every file parses (``node --check``, the lint) and the unit
tests of its logic (words, formatting, routing, page modules) pass (``node --test
tests/js/``). Node 20+ is needed, nothing from npm: the pages have no build step."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "api" / "web"
HINT = "node is not installed: apt-get install -y nodejs (Node 20 or newer)"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(HINT)
    return node


def test_every_script_of_the_pages_parses():
    node = _node()
    files = sorted([*WEB.glob("*.js"), *WEB.glob("pages/*.js")])
    assert len(files) >= 10
    bad = []
    for f in files:
        r = subprocess.run([node, "--check", str(f)], capture_output=True, text=True, timeout=60, check=False)
        if r.returncode:
            bad.append(f"{f.relative_to(ROOT)}: {r.stderr.strip()}")
    assert bad == []


def test_the_javascript_unit_tests_pass():
    r = subprocess.run([_node(), "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "# fail 0" in r.stdout
