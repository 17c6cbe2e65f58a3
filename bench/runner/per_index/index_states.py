"""States of a database's indexes, made for one session inside a transaction.

A *state* is the set of the migration's indexes that are present. On the migrated twin every
state is reachable without building anything: the indexes a state lacks are dropped under a
savepoint, the statement runs, and the savepoint is rolled back. DROP INDEX only changes the
catalog (the file is removed at commit, which never comes), so a state costs a fraction of a
millisecond; but it holds an ACCESS EXCLUSIVE lock on the table until the rollback, so
everything that touches the table runs on the one session that dropped it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql

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


@contextmanager
def entered(conn: psycopg.Connection[Any], drop: list[str]) -> Iterator[None]:
    """Inside an open transaction: the indexes in `drop` are gone until the block ends."""
    conn.execute("SAVEPOINT index_state")
    try:
        if drop:
            conn.execute(sql.SQL("DROP INDEX {}").format(
                sql.SQL(", ").join(map(sql.Identifier, drop))))
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
