"""The query shapes in index states: their plans (EXPLAIN, no ANALYZE) and their times.

Plans first: for every distinct parameter set of a shape, EXPLAIN in each index state that
matters, memoized; a state's plans of all the shape's parameter sets are asked for in one
transaction and one round trip. Two states whose plans have the same fingerprint
(bench.runner.plans) run the query the same way, so a round times each distinct plan once, and
every state with that plan gets its time: an index whose removal or addition changes no plan
costs no timing at all, and its effect is exactly zero.

Times: round i runs parameter set i (the same as the run's other phases) in every distinct
plan of the states asked for, one right after the other on one session, in an order that
rotates and reverses from round to round (index_states.schedule), under EXPLAIN (ANALYZE,
TIMING OFF, BUFFERS). Entering a state drops indexes in a transaction (index_states), which
invalidates the session's cached catalog entries of the table; the
first execution after that pays tens of microseconds to rebuild them, so a state whose plan
ran in under WARM_BELOW_MS the round before (or has not run yet) is run once untimed first; for
a slower plan those microseconds are below a percent, and it is timed on its first execution.
The "all" state's plan runs twice per round: the second time is the A/A control of this design.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench.results.stats import Looks, Stop, stop_record
from bench.runner import plans
from bench.runner.per_index.index_states import (
    State,
    enter,
    explained,
    missing,
    rolled_back,
    schedule,
)
from bench.runner.progress import Bar
from bench.runner.reads import MIN_ROUNDS
from bench.runner.records import jsonable
from bench.runner.shapes import Shape

EXPLAIN_ANALYZE = "EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON) "
WARM_BELOW_MS = 5.0
Plan = dict[str, Any]


def param_key(params: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(dict(params)), sort_keys=True)


class Planner:
    """EXPLAIN of a shape's parameter set in an index state, on one session, memoized.

    Only the indexes on the tables a shape reads can change its plan, so a state is cut down to
    those before it is planned (and memoized): states that differ elsewhere share one plan.
    """

    def __init__(self, conn: psycopg.Connection[Any], universe: dict[str, str]) -> None:
        self.conn, self.universe = conn, universe
        self._plans: dict[tuple[str, str, State], Plan] = {}
        self._tables: dict[str, frozenset[str]] = {}
        self._params: dict[str, list[dict[str, Any]]] = {}  # shape -> distinct parameter sets
        self.explained = 0

    def tables(self, shape: Shape, param_sets: list[dict[str, Any]]) -> frozenset[str]:
        """The tables the shape reads (from its plans with all and with none of the indexes).
        `param_sets` are the shape's parameter sets: a state's plans are made for all of them
        at once."""
        if shape.name not in self._tables:
            self._params[shape.name] = list({param_key(p): p for p in param_sets}.values())
            found: set[str] = set()
            everything = set(self.universe.values())
            for params in param_sets:
                for state in (frozenset(self.universe), frozenset()):
                    found.update(plans.relations(self._explain(shape, params, state,
                                                               everything)))
            self._tables[shape.name] = frozenset(found)
        return self._tables[shape.name]

    def relevant(self, shape: Shape, state: State) -> State:
        tables = self._tables[shape.name]
        return frozenset(ix for ix in state if self.universe[ix] in tables)

    def plan(self, shape: Shape, params: dict[str, Any], state: State) -> Plan:
        tables = self._tables[shape.name]
        return self._explain(shape, params, self.relevant(shape, state), tables)

    def fingerprint(self, shape: Shape, params: dict[str, Any], state: State) -> str:
        return plans.fingerprint(self.plan(shape, params, state))

    def drops(self, shape: Shape, state: State) -> list[str]:
        return missing(state, self.universe, self._tables[shape.name])

    def _explain(self, shape: Shape, params: dict[str, Any], state: State,
                 tables: set[str] | frozenset[str]) -> Plan:
        key = (shape.name, param_key(params), frozenset(state))
        if key not in self._plans:
            # Every parameter set of the shape not planned in this state yet, in one
            # transaction: BEGIN, DROP INDEX, the EXPLAINs and ROLLBACK in one round trip.
            batch = {param_key(params): params}
            for p in self._params.get(shape.name, []):
                k = param_key(p)
                if (shape.name, k, key[2]) not in self._plans:
                    batch.setdefault(k, p)
            found = explained(self.conn, missing(state, self.universe, tables),
                              shape.driver_sql, list(batch.values()))
            for k, plan in zip(batch, found, strict=True):
                self._plans[(shape.name, k, key[2])] = plan
            self.explained += len(found)
        return self._plans[key]


@dataclass
class StateTimes:
    """Per round, the execution time (ms) of each state asked for; `aa` the "all" state's
    plan timed a second time in the same round; `executed` the timed executions."""

    times: dict[State, list[float]] = field(default_factory=dict)
    aa: list[float] = field(default_factory=list)
    indexes: dict[State, set[str]] = field(default_factory=dict)  # the indexes its plans used
    executed: int = 0
    stop: Stop | None = None  # how its rounds ended

    @property
    def rounds(self) -> int:
        return min((len(t) for t in self.times.values()), default=0)


def time_states(conn: psycopg.Connection[Any], planner: Planner, shape: Shape,
                param_sets: list[dict[str, Any]], states: list[State], *, rounds: int,
                warmup: int, max_time_s: float, aa_state: State | None = None,
                shown: Bar | None = None,
                decided: Callable[[StateTimes], bool] | None = None) -> StateTimes:
    """`rounds` rounds (after `warmup`) of the shape in every state of `states`; a slow shape
    stops early like the run's other read phases (after MIN_ROUNDS, at an even round, once it
    has spent max_time_s). With `decided`, sequential stopping: at an early look
    (bench.results.stats.Looks) the block stops when decided(times so far) says every effect
    it measures is settled at the early looks' level. `shown`, a progress bar, moves on by one
    unit after each round."""
    out = StateTimes(times={s: [] for s in states}, indexes={s: set() for s in states})
    # The last time of each state's plan (and of the A/A replicate): keyed by state, since a
    # plan's fingerprint holds its parameters and so differs from round to round.
    last_ms: dict[State | None, float] = {}
    spent = 0.0
    n = min(rounds, len(param_sets))
    looks = Looks.up_to(n) if decided else Looks((n,))
    reason = "round cap"
    for i in range(-warmup, n):
        if i >= MIN_ROUNDS and i % 2 == 0 and spent >= max_time_s:
            reason = "time cap"
        elif decided and looks.is_early_look(i) and decided(out):
            reason = "decisive"
        if reason != "round cap":
            if shown:
                shown.shrink(n - i)
            break
        params = param_sets[i]  # warm-up rounds (i < 0) take the last sets, as reads.py does
        groups: dict[str, list[State]] = {}
        for s in states:
            groups.setdefault(planner.fingerprint(shape, params, s), []).append(s)
        runs = list(groups.items())
        if aa_state is not None:
            aa_key = planner.fingerprint(shape, params, aa_state)
            runs.append((aa_key, []))  # the A/A replicate: same plan, its own execution
        runs = schedule(runs, i)
        start = time.perf_counter()
        for _key, members in runs:
            state = members[0] if members else aa_state
            assert state is not None
            ran: list[State | None] = list(members) if members else [None]
            doc = _run(conn, planner, shape, params, state,
                       warm=any(last_ms.get(s, 0.0) < WARM_BELOW_MS for s in ran))
            ms = float(doc["Execution Time"])
            last_ms.update(dict.fromkeys(ran, ms))
            out.executed += 1
            if i < 0:
                continue
            if not members:
                out.aa.append(ms)
            for s in members:
                out.times[s].append(ms)
                out.indexes[s].update(plans.indexes_used(doc["Plan"]))
        if i >= 0:
            spent += time.perf_counter() - start
        if shown:
            shown.update(f"{shape.name}, {len(states)} states, "
                         + ("warm-up" if i < 0 else f"round {i + 1} of {n}"))
    out.stop = stop_record(looks, out.rounds, reason)
    return out


def _run(conn: psycopg.Connection[Any], planner: Planner, shape: Shape, params: dict[str, Any],
         state: State, *, warm: bool) -> Plan:
    """The shape in `state`: BEGIN, DROP INDEX and the untimed execution in one round trip,
    then the timed one alone, then ROLLBACK."""
    stmt = EXPLAIN_ANALYZE + shape.driver_sql
    with rolled_back(conn):
        with conn.pipeline():
            enter(conn, planner.drops(shape, state))
            if warm:
                conn.execute(stmt, params, prepare=False)
        row = conn.execute(stmt, params, prepare=False).fetchone()
    return plans.explain_document(row)
