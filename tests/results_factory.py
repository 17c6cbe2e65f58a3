"""Small synthetic results.json documents, shaped like a real run's, for compare/trend tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.results import SCHEMA_VERSION

SHAPES = ["fk_join", "timestamp_range", "composite_filter_sort", "simple_where",
          "platform_timeline", "top_contacts_per_company"]


def samples(median: float, n: int = 20, spread: float = 0.03, seed: int = 0) -> list[float]:
    """n timings around `median` with a few percent of noise, deterministic per seed."""
    rng = np.random.default_rng(seed)
    return [round(float(x), 4) for x in median * (1 + rng.normal(0, spread, n))]


def phase(times: list[float] | None, indexes: list[str] | None = None,
          error: str | None = None) -> dict[str, Any]:
    if not times:
        return {"median_ms": None, "p95_ms": None, "rounds": 0, "indexes_used": [],
                "plan": None, "error": error}
    x = np.asarray(times)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return {"rounds": len(times), "median_ms": float(med), "q1_ms": float(q1), "q3_ms": float(q3),
            "min_ms": float(x.min()), "max_ms": float(x.max()), "p95_ms": float(x.max()),
            "indexes_used": indexes or [], "plan_summary": "Index Scan", "plan": {},
            "times_ms": times, "error": error}


def query(name: str, before: list[float], after: list[float] | None,
          error: str | None = None) -> dict[str, Any]:
    ix = f"ix_{name}"
    b, a = phase(before), phase(after, [ix], error)
    speedup = b["median_ms"] / a["median_ms"] if a["median_ms"] else None
    return {"name": name, "report_row": name, "description": "", "file": f"{name}.sql",
            "sql": "SELECT 1", "expects_index": ix,
            "claimed": {"before_ms": 100.0, "after_ms": 5.0, "factor": 20.0}, "params": [],
            "before": b, "after": a, "speedup": speedup,
            "speedup_ci95": [speedup * 0.9, speedup * 1.1] if speedup else None,
            "verdict": "faster" if speedup else "error", "verdict_text": ""}


def workload(name: str, before: list[float], after: list[float]) -> dict[str, Any]:
    mb, ma = float(np.median(before)), float(np.median(after))
    return {"name": name, "table": name.split(":")[1], "operation": name.split(":")[0],
            "description": "", "before": {"median_us_per_row": mb, "times_us_per_row": before},
            "after": {"median_us_per_row": ma, "times_us_per_row": after},
            "overhead_pct": (ma / mb - 1) * 100, "overhead_ci95": [0.0, 10.0],
            "claimed_pct": [3.0, 5.0]}


def results_doc(after_ms: dict[str, float] | None = None, *, seed: int = 0,
                started_at: str = "2026-11-20T03:17:00+00:00", scale: float = 0.05,
                commit: str = "a" * 40, writes: dict[str, float] | None = None,
                errors: dict[str, str] | None = None) -> dict[str, Any]:
    """A complete results document: every shape 2 ms before and `after_ms[name]` (default
    0.5 ms) after, 20 rounds each; `writes` maps workload name -> µs per row after."""
    after_ms = after_ms or {}
    errors = errors or {}
    queries = []
    for i, name in enumerate(SHAPES):
        after = None if name in errors else samples(after_ms.get(name, 0.5), seed=seed * 100 + i)
        queries.append(query(name, samples(2.0, seed=seed * 100 + 50 + i), after,
                             errors.get(name)))
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "started_at": started_at, "complete": True,
        "wall_seconds": 10.0,
        "environment": {"harness_version": "0.1.0", "git_commit": commit, "git_dirty": False,
                        "python": "3.11", "cpu_count": 2, "cpu_model": "test cpu"},
        "config": {"scale": scale, "seed": 42, "rounds": 20, "warmup": 2, "parallel_workers": 0,
                   "shapes": SHAPES},
        "server": {"source": "embedded", "settings": {"server_version": "18.0"}},
        "queries": queries,
    }
    if writes is not None:
        doc["writes"] = {"workloads": [
            workload(name, samples(us / 1.05, seed=seed * 100 + 80 + i),
                     samples(us, seed=seed * 100 + 90 + i))
            for i, (name, us) in enumerate(writes.items())
        ]}
    return doc


def save(doc: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(doc))
    return path
