"""The order in which a read phase runs its rounds on the two twins.

Alternating (reads.order(), the default): round i of a shape runs on A and on B one right after
the other, which side goes first alternating (A B, B A, ...). Whatever the machine does lands on
both, and when both twins fit in shared_buffers that is the least disturbing order there is.

Blocked, when they do not fit (cache_fit says so before measuring): alternating would make each
round read the pages the other twin has just pushed out. So the phase runs blocks of rounds per
twin, ABBA at the level of blocks: per cycle of 2k rounds, k rounds of every shape on A, all 2k
on B, the other k on A (A k, B 2k, A 2k, ..., A k: a cycle's last block of A runs on into the
next cycle's first). Within each cycle both twins' rounds have the same mean time, so a drift
that is linear over a cycle still cancels in their ratio. At each switch the twin about to be
measured is prewarmed (pg_prewarm, untimed) and gets the phase's warm-up rounds, so each block
starts warm on its own pages. The A/A control runs in the same order, so its interval tells
whether the order cancelled the drift.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from bench.errors import ShapeError, first_line
from bench.results.model import CacheFit
from bench.runner import cache, catalog, reads
from bench.runner.progress import bar
from bench.runner.reads import PairedResult, SessionSettings, Side
from bench.runner.shapes import Shape

Order = Literal["alternating", "blocked"]
CYCLES = 2  # ABBA cycles of blocks per phase: the block is a quarter of the phase's rounds


@dataclass(frozen=True)
class RoundOrder:
    kind: Order = "alternating"
    cycles: int = CYCLES
    reason: str = ""

    @property
    def blocked(self) -> bool:
        return self.kind == "blocked"


ALTERNATING = RoundOrder()


def choose(fit: CacheFit | None) -> RoundOrder:
    """Blocked when both twins were sized up and do not fit in shared_buffers."""
    if fit is None:
        return RoundOrder(reason="not checked (a cold cache is emptied before every round)")
    if fit.fits:
        return RoundOrder(reason="both twins fit in shared_buffers")
    one = fit.twins_bytes / 2
    return RoundOrder(
        "blocked", reason=(
            f"the twins ({fit.twins_bytes / 2**20:,.0f} MB) do not fit in shared_buffers "
            f"({fit.shared_buffers_bytes / 2**20:,.0f} MB): alternating them round by round "
            "would make each read the pages the other has just pushed out"
            + ("" if one <= fit.shared_buffers_bytes else
               "; one twin alone does not fit either, so each block still reads from outside")))


def decide(fit: CacheFit | None) -> RoundOrder:
    """choose(), and the choice recorded on `fit` (results.json, the report)."""
    order = choose(fit)
    if fit is not None:
        fit.order, fit.order_reason = order.kind, order.reason
        fit.order_cycles = order.cycles if order.blocked else 0
    return order


def describe(order: RoundOrder) -> str:
    """One progress line."""
    if not order.blocked:
        return f"read order: alternating round by round ({order.reason})"
    return (f"read order: blocks of rounds per twin, ABBA over {order.cycles} cycles per phase, "
            f"each twin prewarmed at its switch ({order.reason})")


def block_rounds(rounds: int, cycles: int = CYCLES) -> int:
    """k: a cycle is 2k rounds per twin (A k, B 2k, A k)."""
    return max(1, rounds // (2 * cycles))


def schedule(rounds: int, k: int) -> Iterator[tuple[Side, range, bool]]:
    """(twin, its rounds, whether a cycle starts here), in the order they run: per cycle of 2k
    rounds, A's first k, B's 2k, A's other k. The last cycle may be shorter."""
    for start in range(0, rounds, 2 * k):
        end = min(start + 2 * k, rounds)
        middle = min(start + k, end)
        yield "A", range(start, middle), True
        yield "B", range(start, end), False
        if middle < end:
            yield "A", range(middle, end), False


def measure_blocked(
    conninfo: dict[Side, str], shapes: list[Shape], params: dict[str, list[dict[str, Any]]], *,
    rounds: int, warmup: int, settings: SessionSettings, max_time_s: float, crosscheck: int = 0,
    into: dict[str, PairedResult] | None = None, progress: bool = False,
    order: RoundOrder = ALTERNATING,
) -> dict[str, PairedResult]:
    """reads.measure_pair in blocks of rounds per twin (see the module's docstring): the same
    rounds, parameter sets, early stop (at the start of a cycle, after at least MIN_ROUNDS, once
    a shape has spent max_time_s) and cross-check, filled into `into` as they are measured."""
    results = into if into is not None else {}
    results.update({s.name: PairedResult() for s in shapes})
    spent = dict.fromkeys(results, 0.0)
    of = {s.name: min(rounds, len(params[s.name])) for s in shapes}
    stopped: set[str] = set()
    with psycopg.connect(conninfo["A"], autocommit=True) as conn:
        tables = catalog.app_tables(conn)
    conns = {side: reads.open_session(conninfo[side], settings) for side in reads.SIDES}
    shown = bar(2 * sum(of.values()), "reads", progress)

    def run(side: Side, shape: Shape, i: int) -> bool:
        """One round (i < 0: a warm-up); False if it hit the statement timeout."""
        start = time.perf_counter()
        try:
            doc = reads.explain_once(conns[side], shape, params[shape.name][i])
        except psycopg.errors.QueryCanceled:
            pair = results[shape.name]
            pair.a.error = pair.b.error = reads._timeout(settings)
            return False
        except psycopg.Error as exc:
            raise ShapeError(f"{shape.path}: {first_line(exc)}") from None
        if i >= 0:
            spent[shape.name] += time.perf_counter() - start
            results[shape.name].side(side).rounds.append(reads._round(i, doc))
        return True

    def rewarm(side: Side) -> None:  # untimed: the block then starts on its own pages
        cache.prewarm(conninfo[side], tables)
        for i in range(-warmup, 0):
            for shape in active():
                run(side, shape, i)

    def active() -> list[Shape]:
        return [s for s in shapes if not results[s.name].error and s.name not in stopped]

    try:
        current: Side | None = None
        for side, span, cycle in schedule(rounds, block_rounds(rounds, order.cycles)):
            if cycle and span.start >= reads.MIN_ROUNDS:  # both twins have rounds [0, start)
                for s in active():
                    if spent[s.name] >= max_time_s:
                        stopped.add(s.name)
                        shown.shrink(2 * max(of[s.name] - span.start, 0))
            if not active():
                break
            if side != current:
                rewarm(side)
                current = side
            for i in span:
                for shape in active():
                    if i < of[shape.name] and run(side, shape, i):
                        shown.update(f"{shape.name} on {side}, round {i + 1} of "
                                     f"{of[shape.name]}")
        if crosscheck:
            for side in reads.SIDES:
                rewarm(side)
                for shape in shapes:
                    if not results[shape.name].error:
                        results[shape.name].side(side).plain = reads._plain_rounds(
                            conns[side], shape, params[shape.name][:crosscheck])
    finally:
        shown.close()
        for conn in conns.values():
            conn.close()
    return results
