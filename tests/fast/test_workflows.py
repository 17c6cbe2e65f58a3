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


ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))


def test_the_composite_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    """actionlint checks the workflows (and the inputs they pass to a local action), not the
    action's own run: scripts; shellcheck reads those here, ${{ }} expressions replaced."""
    import re

    import yaml

    shellcheck = _tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install -e '.[dev]' brings it)")
    assert ACTIONS, "no composite action found"
    for action in ACTIONS:
        meta = yaml.safe_load(action.read_text())
        assert meta["runs"]["using"] == "composite"
        for i, step in enumerate(meta["runs"]["steps"]):
            if "run" not in step:
                continue
            assert step.get("shell") == "bash", f"{action}: step {i} needs shell: bash"
            script = tmp_path / f"{action.parent.name}-{i}.sh"
            body = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
            script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + body)
            proc = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True,
                                  text=True, timeout=60)
            assert proc.returncode == 0, f"{action} step {i}:\n{proc.stdout}"
