"""Create the schema and load a generated dataset with COPY, the way pg_restore does it.

Tables are created bare (primary key only), filled with COPY, and only then get their foreign
keys and the pre-007 indexes: building an index once over loaded rows is far cheaper than
maintaining it row by row, and validating a foreign key is one join instead of a trigger per row.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable, DDLElement
from tqdm import tqdm

from seed.copy_text import copy_chunks
from seed.generate import Dataset
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


def copy_table(conn: psycopg.Connection, name: str, data: dict, bar: tqdm) -> None:
    names = list(data)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    cursor = conn.cursor()
    # A writer thread sends each chunk while the next one is formatted, so Python and the
    # server's COPY run side by side on two cores.
    with cursor.copy(stmt, writer=QueuedLibpqWriter(cursor)) as copy:
        for rows, text in copy_chunks([data[c] for c in names]):
            copy.write(text)
            bar.update(rows)


def vacuum_analyze(conn: psycopg.Connection) -> float:
    start = time.perf_counter()
    for table in Base.metadata.sorted_tables:
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table.name)))
    return time.perf_counter() - start


def load(conn: psycopg.Connection, dataset: Dataset, *, progress: bool | None = None) -> LoadStats:
    """Load `dataset` into an empty database over an autocommit connection."""
    rows = dataset.row_counts()
    if progress is None:
        progress = sys.stderr.isatty()
    conn.execute("SET TIME ZONE 'UTC'")
    create_tables(conn)
    start = time.perf_counter()
    with tqdm(total=sum(rows.values()), unit="row", unit_scale=True, desc="COPY",
              disable=not progress, leave=False) as bar:
        for table in Base.metadata.sorted_tables:
            with conn.transaction():
                copy_table(conn, table.name, dataset.tables[table.name], bar)
    copied = time.perf_counter()
    add_constraints_and_indexes(conn)
    constrained = time.perf_counter()
    vacuum = vacuum_analyze(conn)
    return LoadStats(rows=rows, copy_seconds=copied - start,
                     constraints_seconds=constrained - copied, vacuum_seconds=vacuum)
