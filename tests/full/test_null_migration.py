"""The null-migration control: a migration that changes no plan and no write path
(null_migration.sql: a new table with an index, which no shape reads and no workload writes),
run through the command line at the PR workflow's settings. Nothing it measures may be called
a change: every read verdict "unchanged", every write overhead's interval holding 0 or reaching
into its A/A noise floor (the report's "Beyond the noise floor" column says "no" everywhere).

A failure here is a bias of the harness (issue 22: a null migration once read 1.10x-1.40x, four
of six intervals excluding 1, while its A/A control read 0.94x-1.07x).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from cli_support import REPO, clean_env, private_tmpdir, run_cli

NULL_MIGRATION = Path(__file__).with_name("null_migration.sql")
PR_WORKFLOW = REPO / ".github" / "workflows" / "pr-benchmark.yml"


def pr_settings() -> list[str]:
    """The --scale and --rounds the PR workflow passes (the others are the defaults)."""
    env = yaml.safe_load(PR_WORKFLOW.read_text())["env"]
    return ["--scale", str(env["SCALE"]), "--rounds", str(env["ROUNDS"])]


def changes(doc: dict[str, Any]) -> list[str]:
    """Every figure of a run that is called a change, as one line each."""
    out = []
    for q in doc["queries"]:
        if q["verdict"] != "unchanged":
            out.append(f"{q['name']}: {q['verdict']} {q['speedup']:.3f}x "
                       f"{q['speedup_ci95']} (A/A {q['aa']['ci95'] if q['aa'] else None})")
    for w in doc["writes"]["workloads"]:
        lo, hi = w["overhead_ci95"]
        noise = [100 * (r - 1) for r in w["aa"]["ci95"]]
        if not lo <= 0 <= hi and (lo > noise[1] or hi < noise[0]):
            out.append(f"{w['name']}: {w['overhead_pct']:+.1f}% ({lo:+.1f} to {hi:+.1f}), "
                       f"A/A {noise[0]:+.1f} to {noise[1]:+.1f}")
    return out


def test_a_null_migration_is_called_no_change(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with private_tmpdir() as servers:  # not under pytest's base temp (see private_tmpdir)
        _null_run(out, servers)


def _null_run(out: Path, servers: Path) -> None:
    proc = run_cli("run", *pr_settings(), "--no-progress", "--migration", str(NULL_MIGRATION),
                   "--out", str(out), env=clean_env(TMPDIR=str(servers)), timeout=900)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] and "ix_null_control" in doc["migration"]["created"]
    for q in doc["queries"]:  # the premise: no plan changed, the new index is never used
        before, after = q["before"], q["after"]
        assert {v["structure"] for v in before["plan_variants"]} == {
            v["structure"] for v in after["plan_variants"]}, q["name"]
        assert "ix_null_control" not in after["indexes_used"]
        assert q["aa"] is not None
    assert doc["writes"]["workloads"] and all(w["aa"] for w in doc["writes"]["workloads"])
    assert changes(doc) == []
    report = (out / "report.md").read_text()
    assert "| yes |" not in report.split("## Noise floor: the A/A control")[1].split("\n## ")[0]
