"""Create the schema and load a generated dataset with COPY, the way pg_restore does it.

Tables are created bare (primary key only), filled with COPY, and only then get their foreign
keys and the pre-007 indexes: building an index once over loaded rows is far cheaper than
maintaining it row by row, and validating a foreign key is one join instead of a trigger per row.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from queue import Empty
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable, DDLElement
from tqdm import tqdm

from seed.copy_text import copy_chunks
from seed.generate import generate, row_counts
from seed.models import Base

_DIALECT = postgresql.dialect()


def _ddl(element: DDLElement) -> str:
    return str(element.compile(dialect=_DIALECT))


@dataclass(frozen=True)
class LoadStats:
    rows: dict[str, int]
    copy_seconds: float
    constraints_seconds: float
    vacuum_seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def copy_rows_per_s(self) -> float:
        return self.total_rows / self.copy_seconds if self.copy_seconds else 0.0


def create_tables(conn: psycopg.Connection) -> None:
    for table in Base.metadata.sorted_tables:
        conn.execute(_ddl(CreateTable(table, include_foreign_key_constraints=[])))


def add_constraints_and_indexes(conn: psycopg.Connection) -> None:
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            conn.execute(_ddl(AddConstraint(fk)))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            conn.execute(_ddl(CreateIndex(index)))
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence({t}, 'id'), "
                    "coalesce((SELECT max(id) FROM {ident}), 0) + 1, false)").format(
                t=sql.Literal(table.name), ident=sql.Identifier(table.name)
            )
        )


_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _produce(queue: mp.Queue, seed: int, scale: float) -> None:
    """Child process: generate the dataset and format it as COPY text, chunk by chunk."""
    # Ctrl-C reaches the whole process group: the parent handles it and terminates this child
    # (SIGTERM, default action), so the child neither catches it nor prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # blocked by the parent around fork
    try:
        dataset = generate(seed, scale)
        for table in Base.metadata.sorted_tables:
            data = dataset.tables[table.name]
            queue.put(("table", table.name, list(data)))
            for rows, text in copy_chunks([data[c] for c in data]):
                queue.put(("chunk", rows, text.encode()))
            queue.put(("end", None, None))
        queue.put(("done", None, None))
    except Exception as exc:  # tell the parent instead of dying silently
        queue.put(("error", f"{type(exc).__name__}: {exc}", None))


class Producer:
    """Generates and formats rows in a child process, so that Python's work (one core) runs
    beside the server's COPY (the other core) instead of before it."""

    def __init__(self, seed: int, scale: float) -> None:
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else None)
        self._queue: mp.Queue = ctx.Queue(maxsize=8)
        self._proc = ctx.Process(target=_produce, args=(self._queue, seed, scale), daemon=True)

    def __enter__(self) -> Producer:
        # Block Ctrl-C/SIGTERM while forking, so neither process loses one that lands during
        # the fork; the child unblocks after setting its own handlers.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            self._proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=5)

    def _next(self) -> tuple[str, Any, Any]:
        while True:
            try:
                kind, a, b = self._queue.get(timeout=1.0)
            except Empty:
                if not self._proc.is_alive():
                    raise RuntimeError(
                        f"the data generator exited with code {self._proc.exitcode}") from None
                continue
            if kind == "error":
                raise RuntimeError(f"the data generator failed: {a}")
            return kind, a, b

    def tables(self) -> Iterator[tuple[str, list[str]]]:
        """(table, columns) for each table in load order; read its chunks before the next."""
        while True:
            kind, name, columns = self._next()
            if kind == "done":
                return
            yield name, columns

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        while True:
            kind, rows, data = self._next()
            if kind == "end":
                return
            yield rows, data


def vacuum_analyze(conn: psycopg.Connection) -> float:
    """VACUUM ANALYZE every table, then switch autovacuum off for them.

    The harness vacuums at phase boundaries itself; an autovacuum that started in the middle of
    one phase would slow that phase only. (A table option: nothing outside this database.)
    """
    start = time.perf_counter()
    for table in Base.metadata.sorted_tables:
        name = sql.Identifier(table.name)
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(name))
        conn.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = off)").format(name))
    return time.perf_counter() - start


def load(conn: psycopg.Connection, seed: int, scale: float, *,
         progress: bool | None = None) -> LoadStats:
    """Generate and load the dataset for (seed, scale) into an empty database.

    `conn` must be in autocommit mode; each table is one COPY in its own transaction.
    """
    rows = row_counts(scale)
    if progress is None:
        progress = sys.stderr.isatty()
    conn.execute("SET TIME ZONE 'UTC'")
    create_tables(conn)
    start = time.perf_counter()
    with Producer(seed, scale) as producer, tqdm(
        total=sum(rows.values()), unit="row", unit_scale=True, desc="COPY",
        disable=not progress, leave=False,
    ) as bar:
        for table, columns in producer.tables():
            stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with conn.transaction(), conn.cursor().copy(stmt) as copy:
                for n, data in producer.chunks():
                    copy.write(data)
                    bar.update(n)
    copied = time.perf_counter()
    add_constraints_and_indexes(conn)
    constrained = time.perf_counter()
    vacuum = vacuum_analyze(conn)
    return LoadStats(rows=rows, copy_seconds=copied - start,
                     constraints_seconds=constrained - copied, vacuum_seconds=vacuum)
