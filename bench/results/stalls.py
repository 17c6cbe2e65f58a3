"""What the load's transactions suffered during a migration: pure functions from pgbench's
per-transaction log (bench.results.pgbench_log) and sampled lock waits to the deploy model.

A transaction is *during* the migration when it was due before the migration ended and
finished after it began, *outside* otherwise (bench.results.deploy explains due, latency and
own time).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bench.results.deploy import (
    SLOW_MS,
    LatencyStats,
    LockWait,
    ShapeLatency,
    TableStall,
    Timeline,
)
from bench.results.pgbench_log import Txn

Who = Literal["load", "migration", "other"]


@dataclass(frozen=True)
class Waiter:
    """One backend seen waiting for a lock."""

    who: Who
    table: str | None
    locktype: str
    mode: str


@dataclass(frozen=True)
class LockSample:
    t_s: float  # Unix time
    waiting: tuple[Waiter, ...]


def latency_stats(values_ms: Iterable[float]) -> LatencyStats:
    x = np.asarray(list(values_ms), dtype=float)
    if len(x) == 0:
        return LatencyStats()
    p50, p99 = np.percentile(x, [50, 99])
    return LatencyStats(n=len(x), p50_ms=_r(float(p50)), p99_ms=_r(float(p99)),
                        max_ms=_r(float(x.max())))


def _r(value: float) -> float:
    """Latencies kept to the microsecond."""
    return round(value, 3)


def overlaps(t: Txn, start: float, end: float) -> bool:
    return t.due_s < end and t.end_s > start


def split(txns: Iterable[Txn], start: float, end: float) -> tuple[list[Txn], list[Txn]]:
    """(during, outside) the window; failed and skipped transactions left out."""
    during: list[Txn] = []
    outside: list[Txn] = []
    for t in txns:
        if t.latency_ms is None:
            continue
        (during if overlaps(t, start, end) else outside).append(t)
    return during, outside


def _exec(txns: Iterable[Txn]) -> list[float]:
    return [t.exec_ms for t in txns if t.exec_ms is not None]


def _latency(txns: Iterable[Txn]) -> list[float]:
    return [t.latency_ms for t in txns if t.latency_ms is not None]


def table_stalls(txns: Sequence[Txn], script_table: Mapping[int, str], start: float,
                 end: float, samples: Sequence[LockSample] = (), interval_s: float = 0.0,
                 rows: Mapping[str, int] | None = None) -> list[TableStall]:
    """Per table written to: the latency of its writes during the window against outside it,
    the slowest one, the longest own time (the lock wait), the connection-seconds they were
    held up beyond the usual own time (the median outside), how many took over SLOW_MS, and
    what the lock sampler saw waiting on the table."""
    waits = _table_waits(samples, interval_s)
    out = []
    for table in dict.fromkeys(script_table.values()):
        mine = [t for t in txns if script_table.get(t.script) == table]
        during, outside = split(mine, start, end)
        d, o = _latency(during), _latency(outside)
        d_exec, o_exec = _exec(during), _exec(outside)
        usual = float(np.median(o_exec)) if o_exec else 0.0
        client_s, most = waits.get(table, (0.0, 0))
        out.append(TableStall(
            table=table, rows=(rows or {}).get(table), during=latency_stats(d),
            outside=latency_stats(o), during_exec=latency_stats(d_exec),
            longest_stall_ms=_r(max(d)) if d else None,
            longest_lock_wait_ms=_r(max(d_exec)) if d_exec else None,
            blocked_client_s=round(sum(max(0.0, x - usual) for x in d_exec) / 1000, 3),
            slow_during=sum(x > SLOW_MS for x in d), slow_outside=sum(x > SLOW_MS for x in o),
            lock_wait_client_s=round(client_s, 3), max_waiting=most,
        ))
    return out


def shape_latencies(txns: Sequence[Txn], script_shape: Mapping[int, str], start: float,
                    end: float) -> list[ShapeLatency]:
    out = []
    for shape in dict.fromkeys(script_shape.values()):
        during, outside = split([t for t in txns if script_shape.get(t.script) == shape],
                                start, end)
        out.append(ShapeLatency(shape=shape, during=latency_stats(_latency(during)),
                                outside=latency_stats(_latency(outside)),
                                during_exec=latency_stats(_exec(during))))
    return out


def exec_stats(txns: Iterable[Txn]) -> LatencyStats:
    """Own time: from each transaction's start."""
    return latency_stats(_exec(txns))


def latency(txns: Iterable[Txn]) -> LatencyStats:
    """Latency from when each transaction was due (pgbench --rate), waiting for a connection
    included."""
    return latency_stats(_latency(txns))


def _table_waits(samples: Sequence[LockSample], interval_s: float
                 ) -> dict[str, tuple[float, int]]:
    """Per table: client-seconds the load's backends were seen waiting for a lock on it, and
    the most seen waiting at once."""
    seconds: dict[str, float] = {}
    most: dict[str, int] = {}
    for s in samples:
        here = Counter(w.table for w in s.waiting if w.who == "load" and w.table)
        for table, n in here.items():
            seconds[table] = seconds.get(table, 0.0) + n * interval_s
            most[table] = max(most.get(table, 0), n)
    return {t: (seconds[t], most[t]) for t in most}


def lock_waits(samples: Sequence[LockSample], interval_s: float) -> list[LockWait]:
    """Every kind of wait the sampler saw, most client-seconds first."""
    seen: Counter[Waiter] = Counter(w for s in samples for w in s.waiting)
    waits = [LockWait(who=w.who, table=w.table, locktype=w.locktype, mode=w.mode, samples=n,
                      client_s=round(n * interval_s, 3)) for w, n in seen.items()]
    return sorted(waits, key=lambda w: (-w.samples, w.who, w.table or "", w.mode))


def timeline(txns: Sequence[Txn], script_table: Mapping[int, str], t0: float,
             samples: Sequence[LockSample] = ()) -> Timeline:
    """The writes (when each was due, its latency) and the number of load backends waiting
    for a lock at each sample, on a clock that starts at t0."""
    tables = list(dict.fromkeys(script_table.values()))
    line = Timeline(tables=tables)
    for t in txns:
        table = script_table.get(t.script)
        if table is None or t.latency_ms is None:
            continue
        line.due_s.append(round(t.due_s - t0, 4))
        line.latency_ms.append(round(t.latency_ms, 3))
        line.table.append(tables.index(table))
    for s in samples:
        line.waiting_s.append(round(s.t_s - t0, 3))
        line.waiting.append(sum(w.who == "load" for w in s.waiting))
    return line


def run_tps(run: Sequence[Txn]) -> float | None:
    """Completed transactions per second of one pgbench run: over the span from the first
    transaction's start to the last one's end (pgbench's own tps, from its log)."""
    done = [t for t in run if t.latency_ms is not None]
    if not done:
        return None
    span = max(t.end_s for t in done) - min(t.start_s for t in done)
    return len(done) / span if span > 0 else None


def throughput(runs: Sequence[Sequence[Txn]]) -> tuple[float | None, list[float],
                                                       LatencyStats, int]:
    """Over several runs of one setting: the mean tps, tps per run, the latency of every
    completed transaction, and how many failed."""
    per_run = [x for x in map(run_tps, runs) if x is not None]
    done = [t for run in runs for t in run if t.latency_ms is not None]
    failed = sum(t.latency_ms is None for run in runs for t in run)
    tps = sum(per_run) / len(per_run) if per_run else None
    return tps, [round(x, 2) for x in per_run], exec_stats(done), failed


def fit_power(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(a, b) of y = a * x^b by least squares on logarithms; None without two usable points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len({p[0] for p in pts}) < 2:
        return None
    lx, ly = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    b, log_a = np.polyfit(lx, ly, 1)
    return math.exp(float(log_a)), float(b)
