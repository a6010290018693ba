"""The image's build and start steps (deploy/image-build-check, which reads the
Dockerfile) against a read-only copy of the source, and what the Dockerfile promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_the_dockerfile_copies_every_package_and_pins_every_dependency() -> None:
    text = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in include}
    copied = set(re.findall(r"^COPY (\w+) /src/\1$", text, flags=re.M))
    assert copied == packages
    lock = (ROOT / "deploy" / "requirements.lock").read_text().splitlines()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^ ]+", p) for p in pins), pins
    assert re.search(r"^USER gridwatch$", text, flags=re.M)
    assert "/api/live" in text.split("\nHEALTHCHECK", 1)[1].split("\nENTRYPOINT", 1)[0]


@pytest.mark.timeout(1200)  # a cold Numba compile of the kernel: minutes on a loaded machine
def test_image_build_and_start_steps_pass_against_a_read_only_source() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "image-build-check")],
        capture_output=True, text=True, timeout=1200, check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    for line in ("build stage: locked packages, GridWatch, pip check",
                 "HEALTHCHECK passes", "kernel loaded from the build's cache"):
        assert line in proc.stdout, out[-5000:]
