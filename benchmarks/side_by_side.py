"""Two commits side by side: the default run and --per-index of each, alternating, N times,
at one scale; a table of wall times, phases and the reproducibility figures of issue 21.

    python benchmarks/side_by_side.py BASE HEAD [--runs 3] [--scale 1] [--modes default,per-index]
                                      [--out /tmp/side-by-side] [--python PYTHON]

Each commit is checked out into its own detached git worktree (removed at the end) and run
there with `python -m bench run`, so the code measured is that commit's. The runs alternate
base, head, head, base, ... (ABBA), so a slow hour falls on both. Phases are the "label: done
in N s" lines each run prints. Reproducibility, per commit over its default runs (and its
per-index runs for the verdicts): of the speedups and write cost ratios (after / before per
row), how many of each run's intervals hold every other run's estimate; how many A/A intervals
hold 1; the largest spread (max / min) of a speedup and of a write cost ratio between the runs;
whether the per-index verdicts and the recommended set are the same in every run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PHASE = re.compile(r"^(?P<label>[^:]+(?:: [^:]+)?): done in (?P<s>[0-9.]+) s$")
REPO = Path(__file__).resolve().parent.parent


def _worktree(commit: str, root: Path) -> tuple[str, Path]:
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", commit], check=True,
                         capture_output=True, text=True).stdout.strip()
    path = root / f"wt-{sha}"
    if not path.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), sha],
                       check=True, capture_output=True)
    return sha, path


def _run(python: str, tree: Path, out: Path, scale: float, per_index: bool) -> dict[str, Any]:
    cmd = [python, "-m", "bench", "run", "--scale", str(scale), "--out", str(out)]
    cmd += ["--per-index"] if per_index else []
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - start
    (out / "stderr.log").parent.mkdir(parents=True, exist_ok=True)
    (out / "stderr.log").write_text(proc.stderr)
    phases = {m["label"]: float(m["s"]) for line in proc.stderr.splitlines()
              if (m := PHASE.match(line.strip()))}
    return {"rc": proc.returncode, "wall": wall, "phases": phases, "out": str(out)}


def _ratios(results: dict[str, Any]) -> dict[str, tuple[float, tuple[float, float]]]:
    """Every speedup and write cost ratio with its interval."""
    out = {}
    for q in results.get("queries", []):
        if q.get("speedup") and q.get("speedup_ci95"):
            out[f"read {q['name']}"] = (q["speedup"], tuple(q["speedup_ci95"]))
    for w in (results.get("writes") or {}).get("workloads", []):
        if w.get("overhead_pct") is not None and w.get("overhead_ci95"):
            lo, hi = w["overhead_ci95"]
            out[f"write {w['name']}"] = (1 + w["overhead_pct"] / 100, (1 + lo / 100, 1 + hi / 100))
    return out


def _noise(results: dict[str, Any]) -> list[tuple[float, float]]:
    found = [q["aa"]["ci95"] for q in results.get("queries", []) if q.get("aa")]
    found += [w["aa"]["ci95"] for w in (results.get("writes") or {}).get("workloads", [])
              if w.get("aa")]
    return [tuple(x) for x in found]


def reproducibility(default_runs: list[Path], per_index_runs: list[Path]) -> dict[str, Any]:
    loaded = [json.loads((p / "results.json").read_text()) for p in default_runs]
    ratios = [_ratios(r) for r in loaded]
    names = sorted(set.intersection(*(set(r) for r in ratios))) if ratios else []
    held = total = 0
    for i, j in itertools.permutations(range(len(ratios)), 2):
        for n in names:
            lo, hi = ratios[i][n][1]
            total += 1
            held += lo <= ratios[j][n][0] <= hi
    spread = {n: max(r[n][0] for r in ratios) / min(r[n][0] for r in ratios) for n in names}
    noise = [ci for r in loaded for ci in _noise(r)]
    verdicts = []
    for p in per_index_runs:
        r = json.loads((p / "results.json").read_text()).get("per_index") or {}
        verdicts.append(({i["name"]: i["verdict"] for i in r.get("indexes", [])},
                         sorted((r.get("recommended") or {}).get("indexes", []))))
    same = [a == verdicts[0] for a in verdicts[1:]]
    return {
        "ratios": len(names), "intervals_holding_others": f"{held} of {total}",
        "held_share": held / total if total else None,
        "aa_holding_1": f"{sum(lo <= 1 <= hi for lo, hi in noise)} of {len(noise)}",
        "max_speedup_spread": max((v for n, v in spread.items() if n.startswith("read")),
                                  default=None),
        "max_write_ratio_spread": max((v for n, v in spread.items() if n.startswith("write")),
                                      default=None),
        "per_index_same_verdicts_and_set": all(same) if same else None,
        "per_index_differences": [
            sorted(k for k in v[0] if v[0].get(k) != verdicts[0][0].get(k)) + (
                ["recommended set"] if v[1] != verdicts[0][1] else [])
            for v in verdicts[1:]],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("head")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--modes", default="default,per-index")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="side-by-side-"))
    out.mkdir(parents=True, exist_ok=True)
    trees = dict(_worktree(c, out) for c in (args.base, args.head))
    order = list(trees)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        for mode in args.modes.split(","):
            for i in range(args.runs):
                for sha in (order if i % 2 == 0 else order[::-1]):  # ABBA
                    dest = out / f"{mode}-{sha}-{i + 1}"
                    got = _run(args.python, trees[sha], dest, args.scale, mode == "per-index")
                    runs.setdefault((mode, sha), []).append(got)
                    print(f"{mode:9s} {sha} run {i + 1}: {got['wall']:6.1f} s (exit {got['rc']})",
                          flush=True)
    finally:
        for path in trees.values():
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                           capture_output=True)
    _table(runs, order, out)
    return 0


def _table(runs: dict[tuple[str, str], list[dict[str, Any]]], order: list[str], out: Path
           ) -> None:
    print("\n| mode | commit | wall times (s) | median | ratio to base |")
    print("|---|---|---|---|---|")
    medians: dict[tuple[str, str], float] = {}
    for (mode, sha), got in runs.items():
        medians[(mode, sha)] = statistics.median(g["wall"] for g in got)
    for (mode, sha), got in runs.items():
        base = medians.get((mode, order[0]))
        ratio = f"{medians[(mode, sha)] / base:.2f}x" if base else ""
        walls = ", ".join(f"{g['wall']:.1f}" for g in got)
        print(f"| {mode} | {sha} | {walls} | {medians[(mode, sha)]:.1f} | {ratio} |")
    for (mode, sha), got in runs.items():
        labels = list(dict.fromkeys(k for g in got for k in g["phases"]))
        print(f"\nphases, {mode} {sha} (s per run):")
        for label in labels:
            print(f"  {label:45s} " + "  ".join(f"{g['phases'].get(label, float('nan')):6.2f}"
                                                for g in got))
    for sha in order:
        default = [Path(g["out"]) for g in runs.get(("default", sha), []) if g["rc"] == 0]
        per_index = [Path(g["out"]) for g in runs.get(("per-index", sha), []) if g["rc"] == 0]
        if len(default) >= 2:
            figures = reproducibility(default, per_index)
            print(f"\nreproducibility, {sha}: " + json.dumps(figures, indent=1))
            (out / f"reproducibility-{sha}.json").write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    sys.exit(main())
