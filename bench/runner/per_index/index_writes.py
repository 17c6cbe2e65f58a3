"""What each index adds to the write workloads of its own table, measured in index states.

On the migrated twin, one session runs the app's write workloads (bench.runner.writes: the same
rows and updates) in several states of the table's indexes, e.g. without any of the migration's
indexes ("none", the table as before the migration), with only index x (for every x on the
table), "none" once more (an A/A control) and with all of them. Each unit of ROWS_PER_TXN
statements runs in every state, one state right after the other, in an order that rotates and
reverses from unit to unit (index_states.schedule), each in its own transaction that is rolled
back: DROP INDEX makes the state (per_index.index_states) and the rollback undoes both it and
the writes, so the table stays as it was and the workload can be repeated. The untimed
statements between two units (the counters and ROLLBACK of one; BEGIN, DROP INDEX, the untimed
statement and the counters of the next) go to the server in one round trip; each timed
statement goes alone, one ordinary round trip after the one before it (back to back, in a
pipeline, its server time and the overheads would change: benchmarks/write_pacing.py).
What a statement costs per state: the server's execution time and WAL from EXPLAIN (ANALYZE,
TIMING OFF, WAL), and for updates whether they were HOT (the transaction's own counters). COPY
runs COPY_ROWS rows per state and round, timed by the client until the server completes it, WAL
from the insert position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast

import psycopg
from psycopg import sql

from bench.runner.per_index.index_states import State, enter, missing, rolled_back, schedule
from bench.runner.progress import Bar
from bench.runner.writes import ROWS_PER_TXN, WAL_LSN, Workload, WriteRound, _explain

Connection = psycopg.Connection[Any]
Key = tuple[str, int]  # (workload name, state number in that workload's list)
WARM_OFFSET = 100_000  # rounds ahead: the churn's rows, and a one-unit round's untimed statement
CHURN_ROUNDS = 10  # committed rounds of each update workload before measuring
COPY_ROWS = 500  # rows per COPY and state (the write phase copies 2,000 per round)


def churn(conn: Connection, workloads: Sequence[Workload]) -> None:
    """Bring the busy rows to the state an app that keeps updating them leaves them in:
    CHURN_ROUNDS committed rounds of each update workload, one row per statement, then VACUUM,
    so their pages have room for a new version and an update can be HOT. (The write phase's
    restore rewrites all of them in one statement, packing them into full pages, where no
    update can be HOT; the rolled-back updates measured here never move them.)"""
    tables = []
    for w in workloads:
        if w.operation != "update" or w.statements is None:
            continue
        for r in range(CHURN_ROUNDS):  # a committed transaction in one round trip
            with conn.pipeline():
                conn.execute("BEGIN")
                for query, params in w.statements(2 * WARM_OFFSET + r):
                    conn.execute(cast(sql.Composed, query), params, prepare=False)
                conn.execute("COMMIT")
        tables.append(w.table)
    for table in dict.fromkeys(tables):
        conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))


def measure(conn: Connection, workloads: Sequence[Workload], states: dict[str, list[State]],
            universe: dict[str, str], rounds: int, warmup: int,
            on_round: Callable[[], None] | None = None,
            shown: Bar | None = None, start: int = 0,
            into: dict[Key, list[WriteRound]] | None = None) -> dict[Key, list[WriteRound]]:
    """Measured rounds `start` .. `rounds` - 1 (after `warmup` untimed ones) of every workload
    in every state of its table (`states[table]`); returns (workload, state number) -> rounds,
    appended to `into` when given (the rounds of an earlier call, to go on from). `shown`, a
    progress bar of (warmup + rounds - start) x workloads units, moves on after each
    workload's round.

    A state with the same indexes on the table as an earlier one (with one index on the table,
    "only x" is "all") is the same state: it is measured once and both get its rounds. Only
    the first state is measured again where it comes back (the A/A control)."""
    out: dict[Key, list[WriteRound]] = into if into is not None else {}
    for w in workloads:
        for j in range(len(states[w.table])):
            out.setdefault((w.name, j), [])
    conn.execute("SET jit = off")
    for i in range(start - warmup, rounds):
        for w in workloads:
            table_states = states[w.table]
            drops = [missing(s, universe, {w.table}) for s in table_states]
            same = _same_as(drops)
            ran = [drops[j] for j in sorted(set(same.values()))]
            if w.copy is not None:
                got = _copy_round(conn, w, i + warmup, ran)
            else:
                got = _statement_round(conn, w, i + warmup, ran)
            if i >= start:
                at = {j: k for k, j in enumerate(sorted(set(same.values())))}
                for j in range(len(drops)):
                    out[(w.name, j)].append(replace(got[at[same[j]]]))
            if shown:
                shown.update(f"{w.name}, {len(table_states)} states, "
                             + ("warm-up" if i < start else f"round {i + 1} of {rounds}"))
        if on_round:
            on_round()
    return out


def _same_as(drops: list[list[str]]) -> dict[int, int]:
    """State number -> the state number measured for it: the first with the same indexes
    dropped, but the first state's repeat (the A/A control) is its own."""
    out: dict[int, int] = {}
    for j, d in enumerate(drops):
        earlier = next((k for k in range(1, j) if drops[k] == d), None)
        out[j] = earlier if earlier is not None and d != drops[0] else j
    return out


def _statement_round(conn: Connection, w: Workload, round_index: int,
                     drops: list[list[str]]) -> list[WriteRound]:
    """The round's statements in units of ROWS_PER_TXN, each unit in every state, one state
    right after the other (in index_states.schedule's order). A unit is one
    transaction: make the state, run one untimed statement on another row (switching the state
    invalidates the session's cached catalog entries of the table and its indexes, and the
    first statement after it rebuilds them: a cost of the measurement, not of the index), then
    the unit's statements under EXPLAIN ANALYZE; roll back. The rollback of one unit and the
    untimed start of the next go in one round trip."""
    assert w.statements is not None
    statements = w.statements(round_index)
    # The untimed statement comes from another unit of the same round: a row no statement of
    # this unit touches (an INSERT's rows cycle through the sample, so a row of a round far
    # ahead can be one of this unit's own: a duplicate where a column is unique).
    warm = statements if len(statements) > ROWS_PER_TXN else w.statements(
        round_index + WARM_OFFSET)
    tallies = [WriteRound(len(statements), 0.0, 0.0, 0) for _ in drops]
    order = list(range(len(drops)))
    units: list[tuple[int, int] | None] = [
        (j, first) for u, first in enumerate(range(0, len(statements), ROWS_PER_TXN))
        for j in schedule(order, u + round_index * len(statements) // ROWS_PER_TXN)]
    ongoing: tuple[WriteRound, tuple[int, int]] | None = None  # open: its tally, counters
    with rolled_back(conn):
        for job in [*units, None]:
            with conn.pipeline():
                if ongoing is not None:  # the unit before: its counters, and roll it back
                    ended = _updated(conn, w)
                    conn.execute("ROLLBACK")
                if job is not None:  # this unit's state and untimed statement
                    j, first = job
                    enter(conn, drops[j])
                    query, params = warm[(first + ROWS_PER_TXN) % len(warm)]
                    conn.execute(cast(sql.Composed, query), params, prepare=False)
                    started = _updated(conn, w)
            if ongoing is not None:
                t, before = ongoing
                after = _count(ended)
                t.updated += after[0] - before[0]
                t.hot_updated += after[1] - before[1]
            if job is None:
                break
            j, first = job
            t = tallies[j]
            ongoing = (t, _count(started))
            start = time.perf_counter()
            for query, params in statements[first:first + ROWS_PER_TXN]:
                doc = _explain(conn, query, params)
                t.server_ms += float(doc["Execution Time"])
                t.wal_bytes += int(doc["Plan"].get("WAL Bytes", 0))
                t.wal_records += int(doc["Plan"].get("WAL Records", 0))
                t.wal_fpi += int(doc["Plan"].get("WAL FPI", 0))
            t.wall_ms += (time.perf_counter() - start) * 1000
    return tallies


def _updated(conn: Connection, w: Workload) -> psycopg.Cursor[Any] | None:
    """Rows this transaction updated in the workload's table, and how many of them HOT: the
    query (read it with _count, after its pipeline); None for a workload that updates
    nothing."""
    if w.operation != "update":
        return None
    return conn.execute("SELECT pg_stat_get_xact_tuples_updated(%s::regclass), "
                        "pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
                        (w.table, w.table))


def _count(cur: psycopg.Cursor[Any] | None) -> tuple[int, int]:
    if cur is None:
        return 0, 0
    row = cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _copy_round(conn: Connection, w: Workload, round_index: int,
                drops: list[list[str]]) -> list[WriteRound]:
    assert w.copy is not None
    stmt, text = w.copy(round_index)
    text = "".join(text.splitlines(keepends=True)[:COPY_ROWS])
    n = text.count("\n")
    got: dict[int, WriteRound] = {}
    for j in schedule(range(len(drops)), round_index):
        with rolled_back(conn):
            with conn.pipeline():
                enter(conn, drops[j])
                lsn = conn.execute(WAL_LSN)
            before = _lsn(lsn)
            start = time.perf_counter()
            with conn.cursor().copy(cast(sql.Composed, stmt)) as copy:
                copy.write(text)
            copied_ms = (time.perf_counter() - start) * 1000
            with conn.pipeline():
                lsn = conn.execute(WAL_LSN)
                conn.execute("ROLLBACK")
            wal = _lsn(lsn) - before
        got[j] = WriteRound(n, copied_ms, copied_ms, wal)
    return [got[j] for j in range(len(drops))]


def _lsn(cur: psycopg.Cursor[Any]) -> int:
    row = cur.fetchone()
    assert row is not None
    return int(row[0])
