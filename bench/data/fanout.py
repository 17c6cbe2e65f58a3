"""Rows per table from the foreign-key graph, and which parent each child row belongs to.

Defaults of the generic generator (README.md, "Data for any schema"):

* Rows per table: the project file's `[data] tables = {name = rows}` where given; the other
  tables share `[data] rows` (or `--rows`, default DEFAULT_TOTAL_ROWS) by their depth in the
  foreign-key graph: a table with no parents is level 0, a child one level below its deepest
  parent, and each level gets FANOUT times the rows of the level above (rows per table of level
  k ∝ FANOUT**k). Keys that cannot hold more rows (a one-to-one table, a composite key over
  two parents, a key of enum values) cap their table.
* Fan-out: a child row picks its parent with probability proportional to the parent row's
  weight, drawn once per parent table as Pareto(PARETO_ALPHA) + 1 (the 80/20 rule, as the 007
  app's lead activity): the top 10% of parents hold about two thirds of the children, while
  the median parent has a few. Every foreign key into one table uses that table's weights, so
  a busy customer is busy in every child table.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping

import numpy as np

FANOUT = 4  # children per parent, per level of the foreign-key graph
DEFAULT_TOTAL_ROWS = 1_000_000  # rows in all at scale 1 when neither the file nor --rows says
PARETO_ALPHA = 1.16  # parent weights: Pareto(1.16) + 1, "80/20"

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def stream(*names: str) -> int:
    """A stable number for a table or column name (random streams are keyed by it, not by the
    order of tables)."""
    return zlib.crc32("\x00".join(names).encode())


def mix64(values: np.ndarray, key: int) -> np.ndarray:
    """splitmix64 of (key, value): a well-spread uint64 per value, the same in every process."""
    with np.errstate(over="ignore"):
        x = values.astype(np.uint64) + np.uint64(key & 0xFFFFFFFFFFFFFFFF) * _GOLDEN + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


def levels(parents: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Depth of each table in the foreign-key graph (self references and the edge that closes
    a cycle ignored)."""
    out: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(table: str) -> int:
        if table in out:
            return out[table]
        visiting.add(table)
        level = 0
        for parent in sorted(parents.get(table, ())):
            if parent != table and parent not in visiting and parent in parents:
                level = max(level, depth(parent) + 1)
        visiting.discard(table)
        out[table] = level
        return level

    for table in sorted(parents):
        depth(table)
    return out


def split_rows(parents: Mapping[str, Iterable[str]], table_rows: Mapping[str, int],
               total_rows: int | None) -> dict[str, int]:
    """Rows per table at scale 1: those given, the rest sharing the total by level."""
    depth = levels(parents)
    free = [t for t in sorted(parents) if t not in table_rows]
    out = {t: int(n) for t, n in table_rows.items() if t in parents}
    if free:
        total = DEFAULT_TOTAL_ROWS if total_rows is None else total_rows
        left = max(len(free), total - sum(out.values()) if table_rows else total)
        weight = {t: float(FANOUT ** depth[t]) for t in free}
        whole = sum(weight.values())
        for t in free:
            out[t] = max(1, round(left * weight[t] / whole))
    return out


def pareto_weights(rng: np.random.Generator, n: int) -> np.ndarray:
    weights: np.ndarray = rng.pareto(PARETO_ALPHA, n) + 1.0
    return weights


def allocate(n: int, weights: np.ndarray, cap: float) -> np.ndarray:
    """Counts per parent, in proportion to the weights, each at most `cap`, summing to n
    (the caller keeps n <= cap * len(weights))."""
    share = n * weights / weights.sum()
    counts = np.floor(share).astype(np.int64)
    if math.isfinite(cap):
        counts = np.minimum(counts, int(cap)).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")  # largest remainders first
    while (deficit := n - int(counts.sum())) > 0:
        room = order[counts[order] < cap] if math.isfinite(cap) else order
        if not len(room):
            raise ValueError(f"cannot place {n} rows under {len(weights)} parents of "
                             f"at most {cap} each")
        counts[room[:deficit]] += 1
    out: np.ndarray = counts
    return out


class Weighted:
    """Draws indexes 0..len(weights)-1 with probability proportional to their weights.

    Inverse transform (searchsorted into the cdf), found faster with a guide table: for most
    u the bucket of width 1/2^k it falls in holds no step of the cdf, so the answer is the
    bucket's; only the rest are searched. (The same sampler as the 007 app's.)
    """

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights
        self.cdf = np.cumsum(weights / weights.sum())
        self.buckets = 1 << max(10, int(np.ceil(np.log2(max(2, len(weights))))) + 2)
        edges = np.arange(self.buckets + 1) / self.buckets
        self.guide = np.minimum(np.searchsorted(self.cdf, edges, side="right"),
                                len(self.cdf) - 1)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random(n)
        bucket = (u * self.buckets).astype(np.int64)
        out = self.guide[bucket]
        unsure = out != self.guide[bucket + 1]
        out[unsure] = np.minimum(np.searchsorted(self.cdf, u[unsure], side="right"),
                                 len(self.cdf) - 1)
        drawn: np.ndarray = out
        return drawn


def top_share(children_per_parent: np.ndarray, top: float = 0.1) -> float:
    """Share of the children held by the top `top` fraction of parents."""
    counts = np.sort(children_per_parent)[::-1]
    k = max(1, round(len(counts) * top))
    return float(counts[:k].sum() / max(1, counts.sum()))
