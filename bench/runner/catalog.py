"""What the server's catalog says about the benchmark tables: indexes and sizes."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

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
