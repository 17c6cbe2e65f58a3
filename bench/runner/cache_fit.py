"""Do both twins fit in the server's shared_buffers, and what does it cost when they do not.

The harness sets shared_buffers on its own embedded server (2 GB, provision.EMBEDDED_SETTINGS:
both twins fit at the default scale 1) but not on a --dsn server it is given. When the two twin
databases together are larger than the server's shared_buffers, every round that alternates
them (A B B A) reads pages the other twin has just evicted, and the figures measure cache misses
as well as plans.

So before measuring, the run adds up the twins' tables and indexes (pg_total_relation_size of
the app's tables in each twin) and compares them with SHOW shared_buffers (size_up). When they
do not fit, it measures the cost after the before-and-after read phase (measure_cost): each
twin alone, both sides of each pair on the same database, on the parameter sets of the phase's
first few rounds, against those rounds as the phase measured them, alternating. The ratio of
the medians, per shape and twin, is how much alternating inflated the before and the after
times; their quotient is how much it moved the speedup. The unmigrated twins alone would not
show it: their seq scans read through a small ring of buffers whether or not the data fits, and
it is the migrated twin's index lookups that lose their pages to the other twin's scans.
"""

from __future__ import annotations

import statistics
from typing import Any

import psycopg

from bench.results.model import CacheFit
from bench.runner import cache, catalog, reads
from bench.runner.reads import PairedResult, Round, Side
from bench.runner.shapes import Shape

COST_ROUNDS = 8  # paired rounds per shape and twin alone: two ABBA cycles per side twice


def twin_bytes(conn: psycopg.Connection[Any], tables: list[str]) -> int:
    """Tables, TOAST and indexes of the app's tables in the connected database."""
    row = conn.execute("SELECT coalesce(sum(pg_total_relation_size(t::regclass)), 0)::bigint "
                       "FROM unnest(%s::text[]) AS t", (tables,)).fetchone()
    return int(row[0]) if row else 0


def shared_buffers_bytes(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT setting::bigint * current_setting('block_size')::bigint "
                       "FROM pg_settings WHERE name = 'shared_buffers'").fetchone()
    assert row is not None
    return int(row[0])


def size_up(conninfo: dict[Side, str]) -> CacheFit:
    """Both twins' bytes against shared_buffers; nothing measured yet."""
    total, buffers = 0, 0
    for side in reads.SIDES:
        with psycopg.connect(conninfo[side], autocommit=True) as conn:
            total += twin_bytes(conn, catalog.app_tables(conn))
            buffers = shared_buffers_bytes(conn)
    return CacheFit(twins_bytes=total, shared_buffers_bytes=buffers, fits=total <= buffers)


def measure_cost(fit: CacheFit, conninfo: dict[Side, str], shapes: list[Shape],
                 params: dict[str, list[dict[str, Any]]], phase: dict[str, PairedResult],
                 settings: reads.SessionSettings, *, max_time_s: float, warmup: int = 1,
                 rounds: int = COST_ROUNDS) -> None:
    """Fill `fit` with each twin alone against `phase` (the before-and-after read phase, both
    twins alternating): per shape the medians over the same parameter sets."""
    rounds = min(rounds, min((p.rounds for p in phase.values() if p.rounds), default=0))
    if rounds < 1:
        return
    with psycopg.connect(conninfo["A"], autocommit=True) as conn:
        tables = catalog.app_tables(conn)
    alone: dict[Side, dict[str, PairedResult]] = {}
    for side in reads.SIDES:
        cache.prewarm_pair([conninfo[side]], tables)
        alone[side] = reads.measure_pair({"A": conninfo[side], "B": conninfo[side]}, shapes,
                                         params, rounds=rounds, warmup=warmup,
                                         settings=settings, max_time_s=max_time_s)
    fit.rounds = rounds
    for name, pair in phase.items():
        a, b = alone["A"].get(name), alone["B"].get(name)
        if pair.error or a is None or b is None or a.error or b.error:
            continue
        alt_a, alt_b = _first(pair.a.rounds, rounds), _first(pair.b.rounds, rounds)
        alone_a, alone_b = a.a.rounds + a.b.rounds, b.a.rounds + b.b.rounds
        if not (alt_a and alt_b and alone_a and alone_b):
            continue
        fit.before_alone_ms[name] = _median_ms(alone_a)
        fit.before_alternating_ms[name] = _median_ms(alt_a)
        fit.after_alone_ms[name] = _median_ms(alone_b)
        fit.after_alternating_ms[name] = _median_ms(alt_b)
        fit.alone_read_blocks[name] = _median_read(alone_a) + _median_read(alone_b)
        fit.alternating_read_blocks[name] = _median_read(alt_a) + _median_read(alt_b)


def _first(rounds: list[Round], n: int) -> list[Round]:
    """The rounds on the first n parameter sets (those the twin alone ran)."""
    return [r for r in rounds if r.param_index < n]


def _median_ms(rounds: list[Round]) -> float:
    return statistics.median(r.execution_ms for r in rounds)


def _median_read(rounds: list[Round]) -> float:
    return statistics.median(r.shared_read for r in rounds)


def summary(fit: CacheFit) -> str:
    """One progress line."""
    mb = (f"{fit.twins_bytes / 2**20:,.0f} MB of twins, shared_buffers "
          f"{fit.shared_buffers_bytes / 2**20:,.0f} MB")
    if fit.fits:
        return f"cache fit: {mb}: they fit"
    moved = fit.speedup_ratio
    how = "measuring them in blocks" if fit.order == "blocked" else "alternating them"
    cost = (f"; {how} moved the speedups to {statistics.median(moved.values()):.2f}x "
            "of each twin alone (median over shapes)" if moved else "")
    return f"cache fit: {mb}: they do NOT fit{cost}"
