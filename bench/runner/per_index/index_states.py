"""States of a database's indexes, made for one session inside a transaction.

A *state* is the set of the migration's indexes that are present. On the migrated twin every
state is reachable without building anything: the indexes a state lacks are dropped under a
savepoint, the statement runs, and the savepoint is rolled back. DROP INDEX only changes the
catalog (the file is removed at commit, which never comes), so a state costs a fraction of a
millisecond; but it holds an ACCESS EXCLUSIVE lock on the table until the rollback, so
everything that touches the table runs on the one session that dropped it.

A state's transaction is entered in one round trip: BEGIN, the DROP INDEX and whatever untimed
statements come before the first timed one go to the server in one pipeline (`enter` inside
`conn.pipeline()`), and the rollback goes with the untimed statements after the last timed one.
A timed statement itself is never pipelined: statements that arrive back to back take another
time on the server than statements with a client round trip between them (an INSERT without
indexes less, with five indexes more: benchmarks/write_pacing.py), so each timed statement is
sent alone, one ordinary round trip after what came before it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from bench.runner import plans

State = frozenset[str]  # the migration's indexes that are present
T = TypeVar("T")


def schedule(items: Sequence[T], i: int) -> list[T]:
    """The order of the states in round (or unit) i: rotated by one every two rounds, and
    backwards every other round, so that over a cycle each state runs first and last as often
    as any other and right before and right after each other one equally often (a plan that
    runs right after a seq scan finds the CPU caches cold: measured as an A/A difference of
    15% on a 0.5 ms plan when the order only rotated)."""
    if not items:
        return []
    k = (i // 2) % len(items)
    out = list(items[k:]) + list(items[:k])
    return out[::-1] if i % 2 else out


def missing(state: State, universe: Mapping[str, str], tables: Collection[str]) -> list[str]:
    """The indexes of `universe` (index -> table) on `tables` that `state` lacks."""
    return sorted(ix for ix, table in universe.items() if table in tables and ix not in state)


def drop_statement(drop: list[str]) -> sql.Composed:
    return sql.SQL("DROP INDEX {}").format(sql.SQL(", ").join(map(sql.Identifier, drop)))


def enter(conn: psycopg.Connection[Any], drop: list[str]) -> None:
    """BEGIN, and drop the indexes the state lacks (queued when called inside a pipeline)."""
    conn.execute("BEGIN")
    if drop:
        conn.execute(drop_statement(drop))


@contextmanager
def rolled_back(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """The block's transaction (see `enter`) is rolled back when the block ends, unless the
    block has rolled it back itself (in its last pipeline); also on an error."""
    try:
        yield
    finally:
        if conn.info.transaction_status in (TransactionStatus.INTRANS,
                                            TransactionStatus.INERROR):
            conn.execute("ROLLBACK")


def explained(conn: psycopg.Connection[Any], drop: list[str], statement: str,
              param_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plans (EXPLAIN, FORMAT JSON, Plan) of `statement` for each parameter set, with the
    indexes in `drop` gone: BEGIN, DROP INDEX, the EXPLAINs and ROLLBACK in one round trip."""
    with rolled_back(conn), conn.pipeline():
        enter(conn, drop)
        cursors = [conn.execute("EXPLAIN (FORMAT JSON) " + statement, params, prepare=False)
                   for params in param_sets]
        conn.execute("ROLLBACK")
    return [plans.explain_document(cur.fetchone())["Plan"] for cur in cursors]


@contextmanager
def entered(conn: psycopg.Connection[Any], drop: list[str]) -> Iterator[None]:
    """Inside an open transaction: the indexes in `drop` are gone until the block ends."""
    conn.execute("SAVEPOINT index_state")
    try:
        if drop:
            conn.execute(drop_statement(drop))
        yield
    finally:
        conn.execute("ROLLBACK TO SAVEPOINT index_state")
        conn.execute("RELEASE SAVEPOINT index_state")


def label(state: State, universe: Collection[str]) -> str:
    """'all', 'none', 'all - x', 'only x', or the list of what is present."""
    present = sorted(state)
    absent = sorted(set(universe) - state)
    if not absent:
        return "all"
    if not present:
        return "none"
    if len(absent) == 1:
        return f"all - {absent[0]}"
    if len(present) == 1:
        return f"only {present[0]}"
    return "+".join(present)
