"""What the server's catalog says about the benchmark tables: indexes and sizes."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from bench.results.attribution import IndexShape
from bench.results.model import TableBytes


@dataclass(frozen=True)
class IndexInfo:
    table: str
    name: str
    definition: str
    size_bytes: int


def list_indexes(conn: psycopg.Connection, tables: list[str]) -> list[IndexInfo]:
    rows = conn.execute(
        """
        SELECT i.tablename, i.indexname, i.indexdef,
               pg_relation_size(format('%%I.%%I', i.schemaname, i.indexname)::regclass)
        FROM pg_indexes AS i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
        ORDER BY i.tablename, i.indexname
        """,
        (tables,),
    ).fetchall()
    return [IndexInfo(*row) for row in rows]


def index_counts(indexes: list[IndexInfo], tables: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(tables, 0)
    for ix in indexes:
        counts[ix.table] += 1
    return counts


def table_sizes(conn: psycopg.Connection, tables: list[str]) -> dict[str, TableBytes]:
    """Heap (with TOAST) and index bytes per table, straight from pg_*_size."""
    rows = conn.execute(
        """
        SELECT t, pg_table_size(t::regclass), pg_indexes_size(t::regclass)
        FROM unnest(%s::text[]) AS t
        """,
        (tables,),
    ).fetchall()
    return {t: TableBytes(table_bytes=heap, index_bytes=idx) for t, heap, idx in rows}


def tables_with_expression_indexes(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    """The tables that have an index on an expression (which ANALYZE gathers statistics for)."""
    rows = conn.execute(
        """
        SELECT DISTINCT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indrelid
        WHERE i.indexprs IS NOT NULL AND c.relname = ANY(%s)
          AND c.relnamespace = current_schema()::regnamespace
        """,
        (tables,),
    ).fetchall()
    return sorted(r[0] for r in rows)


def index_shapes(conn: psycopg.Connection, tables: list[str]) -> list[IndexShape]:
    """What decides whether one index can serve another's queries: key columns (without
    ASC/DESC), predicate, uniqueness, access method."""
    rows = conn.execute(
        """
        SELECT c.relname, t.relname,
               array(SELECT pg_get_indexdef(i.indexrelid, k, true)
                     FROM generate_series(1, i.indnkeyatts) AS k),
               pg_get_expr(i.indpred, i.indrelid, true), i.indisunique, am.amname
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indexrelid
        JOIN pg_class AS t ON t.oid = i.indrelid
        JOIN pg_am AS am ON am.oid = c.relam
        WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
        ORDER BY t.relname, c.relname
        """,
        (tables,),
    ).fetchall()
    return [IndexShape(name, table, tuple(columns), predicate, unique, method)
            for name, table, columns, predicate, unique, method in rows]


@dataclass(frozen=True)
class ColumnStats:
    """What ANALYZE found about a column (pg_stats): distinct values and the common ones."""

    n_distinct: float  # > 0 a count, < 0 minus a share of the rows
    null_frac: float
    common: list[tuple[str, float]]  # most common values (as text) and their share of rows


def column_stats(conn: psycopg.Connection, table: str, column: str) -> ColumnStats | None:
    row = conn.execute(
        """
        SELECT n_distinct, null_frac, most_common_vals::text::text[], most_common_freqs
        FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s AND attname = %s
        """,
        (table, column),
    ).fetchone()
    if row is None:
        return None
    values, freqs = row[2] or [], row[3] or []
    return ColumnStats(float(row[0]), float(row[1]),
                       [(str(v), float(f)) for v, f in zip(values, freqs, strict=False)])


# Tables that belong to a migration tool, not to the app's data.
TOOL_TABLES = ("alembic_version",)


def app_tables(conn: psycopg.Connection) -> list[str]:
    """The app's tables: every ordinary or partitioned table of the current schema, parents
    before the tables whose foreign keys point at them (then by name)."""
    names = [r[0] for r in conn.execute(
        """
        SELECT c.relname FROM pg_class AS c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
          AND NOT c.relispartition AND c.relname <> ALL(%s)
        ORDER BY c.relname
        """, (list(TOOL_TABLES),)).fetchall()]
    edges = conn.execute(
        """
        SELECT DISTINCT c.relname, p.relname FROM pg_constraint AS k
        JOIN pg_class AS c ON c.oid = k.conrelid JOIN pg_class AS p ON p.oid = k.confrelid
        WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
          AND c.oid <> p.oid
        """).fetchall()
    parents: dict[str, set[str]] = {n: set() for n in names}
    for child, parent in edges:
        if child in parents and parent in parents:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:  # Kahn's algorithm; a cycle is broken by name
        ready = sorted(n for n, ps in parents.items() if not ps) or [min(parents)]
        for n in ready:
            ordered.append(n)
            del parents[n]
        for ps in parents.values():
            ps.difference_update(ready)
    return ordered
