"""Did two clones given with --twins measure alike? Pure arithmetic on the A/A control."""

from __future__ import annotations

from bench.results.model import RunResults


def differing(results: RunResults) -> list[str]:
    """The shapes and write workloads whose A/A interval does not hold 1: there the two
    clones measured differently before either was migrated."""
    out = [f"`{q.name}`" for q in results.queries
           if q.aa is not None and not q.aa.ci95[0] <= 1.0 <= q.aa.ci95[1]]
    if results.writes:
        out += [f"`{w.name}`" for w in results.writes.workloads
                if w.aa is not None and not w.aa.ci95[0] <= 1.0 <= w.aa.ci95[1]]
    return out


def measured(results: RunResults) -> bool:
    """Whether there was an A/A control to judge by."""
    return any(q.aa for q in results.queries) or bool(
        results.writes and any(w.aa for w in results.writes.workloads))
