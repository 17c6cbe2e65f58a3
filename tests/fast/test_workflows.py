"""The GitHub Actions workflows pass actionlint (with shellcheck on their `run:` scripts)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _tool(name: str) -> str | None:
    """The binary from the dev extra (next to this Python), else one on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.is_file() else shutil.which(name)


def test_the_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"nightly.yml", "pr-benchmark.yml"}


def test_actionlint_passes() -> None:
    actionlint = _tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install -e '.[dev]' brings it)")
    shellcheck = _tool("shellcheck") or ""  # empty: actionlint runs without shellcheck
    proc = subprocess.run(
        [actionlint, "-oneline", "-no-color", "-shellcheck", shellcheck, "-pyflakes", "",
         *map(str, WORKFLOWS)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
