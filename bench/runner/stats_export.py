"""`python -m bench stats export`: a live server's planner statistics into stats.json, read-only.

Everything runs in one `READ ONLY` transaction with a short statement_timeout and lock_timeout
(SET LOCAL), on catalog views and SELECTs alone, so a role with SELECT on the tables and
pg_read_all_stats is enough and nothing on the server is written (no transaction id is even
assigned). The tables are those of the connection's current schema (the first of its
search_path that exists), or the ones --tables names.

Per foreign key the fan-out comes from pg_stats where it can (the child column's distinct count
is the number of parents with children; its most common values' frequencies the heaviest
parents' children) and from a bounded sample where it must (the quantiles of children per
parent: the whole table up to SAMPLE_ROWS rows, else TABLESAMPLE SYSTEM at the fraction that
gives about SAMPLE_ROWS rows, with a LIMIT).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from bench.data import checks
from bench.errors import ConfigError, ServerError, first_line
from bench.results.table_stats import (
    ColumnStats,
    ForeignKeyFanout,
    Quantiles,
    StatsFile,
    TableStats,
    column_values,
    kind_of_category,
    values_of,
    with_stand_ins,
    withheld,
)
from bench.runner.provision import check_dsn, mask, redact

SAMPLE_ROWS = 100_000
STATEMENT_TIMEOUT_S = 10.0
SAMPLE_SEED = 42

Conn = psycopg.Connection[tuple[Any, ...]]

_TABLES = """
SELECT c.oid, c.relname, c.reltuples, c.relpages, c.relkind = 'p',
       has_table_privilege(c.oid, 'SELECT')
  FROM pg_class c
 WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
   AND c.relkind IN ('r', 'p') AND NOT c.relispartition
 ORDER BY c.relname
"""

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), bt.typcategory, bt.typtype = 'e',
       s.null_frac, s.avg_width, s.n_distinct, s.most_common_vals::text, s.most_common_freqs,
       s.histogram_bounds::text, s.correlation, cn.nspname, co.collname
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
  JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = %(table)s
                 AND s.attname = a.attname AND s.inherited = %(inherited)s
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
 WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum
"""

_FOREIGN_KEYS = """
SELECT con.conname, child.relname, parent.relname, parent.reltuples,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
  FROM pg_constraint con
  JOIN pg_class child ON child.oid = con.conrelid
  JOIN pg_class parent ON parent.oid = con.confrelid
 WHERE con.contype = 'f' AND con.conrelid = ANY(%s)
 ORDER BY child.relname, con.conname
"""


@contextmanager
def read_only(dsn: str, timeout_s: float = STATEMENT_TIMEOUT_S) -> Iterator[Conn]:
    """A connection inside a READ ONLY transaction with short timeouts, rolled back at the end."""
    check_dsn(dsn)
    try:
        conn = psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as exc:
        raise ServerError(f"cannot connect to PostgreSQL at {redact(dsn)}: "
                          f"{mask(first_line(exc), dsn)}") from None
    try:
        conn.read_only = True
        with conn.transaction(force_rollback=True):
            ms = int(timeout_s * 1000)
            conn.execute(f"SET LOCAL statement_timeout = {ms}")
            conn.execute(f"SET LOCAL lock_timeout = {min(ms, 2000)}")
            yield conn
    except psycopg.errors.QueryCanceled:
        raise ServerError(f"a statistics query ran past statement_timeout ({timeout_s:g} s) on "
                          f"{redact(dsn)}") from None
    except psycopg.Error as exc:
        raise ServerError(f"reading statistics at {redact(dsn)}: "
                          f"{mask(first_line(exc), dsn)}") from None
    finally:
        conn.close()


def export(dsn: str, keep_values: bool = False, tables: set[str] | None = None,
           sample_rows: int = SAMPLE_ROWS, timeout_s: float = STATEMENT_TIMEOUT_S) -> StatsFile:
    with read_only(dsn, timeout_s) as conn:
        return read_stats(conn, keep_values, tables, sample_rows)


def read_stats(conn: Conn, keep_values: bool = False, tables: set[str] | None = None,
               sample_rows: int = SAMPLE_ROWS) -> StatsFile:
    row = conn.execute("SELECT current_schema(), current_setting('server_version')").fetchone()
    assert row is not None
    schema, version = row
    if schema is None:
        raise ConfigError("the connection has no current schema (its search_path names none "
                          "that exists)")
    found = conn.execute(_TABLES).fetchall()
    if tables is not None:
        if missing := tables - {r[1] for r in found}:
            raise ConfigError(f"--tables: no table {', '.join(sorted(missing))} in schema "
                              f"{schema}")
        found = [r for r in found if r[1] in tables]
    if denied := [r[1] for r in found if not r[5]]:
        raise ServerError(f"the role lacks SELECT on {', '.join(denied)} (schema {schema}); "
                          f"grant it, or leave them out with --tables")
    out = StatsFile(source="server", server_version=version, schema_name=schema,
                    values="kept" if keep_values else "stand-ins")
    for oid, name, reltuples, relpages, partitioned, _ in found:
        out.tables.append(TableStats(name=name, reltuples=reltuples, relpages=relpages,
                                     columns=_columns(conn, oid, name, partitioned,
                                                      keep_values)))
    by_name = {t.name: t for t in out.tables}
    for fk in conn.execute(_FOREIGN_KEYS, ([r[0] for r in found],)).fetchall():
        out.foreign_keys.append(_fanout(conn, fk, by_name[fk[1]], sample_rows))
    return out


def _columns(conn: Conn, oid: int, table: str, partitioned: bool,
             keep_values: bool) -> list[ColumnStats]:
    rows = conn.execute(_COLUMNS, {"table": table, "inherited": partitioned,
                                   "oid": oid}).fetchall()
    texts = [r[0] for r in conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s "
        "AND contype = 'c'", (oid,))]
    allowed = checks.parse(texts, {r[0] for r in rows}).values
    out = []
    for (name, type_, category, is_enum, null_frac, avg_width, n_distinct, mcv, freqs, hist,
         correlation, coll_schema, collation) in rows:
        column = ColumnStats(
            name=name, type=type_, kind=kind_of_category(category, is_enum), values="kept",
            null_frac=null_frac, avg_width=avg_width, n_distinct=n_distinct,
            most_common_vals=values_of(mcv), most_common_freqs=freqs,
            histogram_bounds=values_of(hist), correlation=correlation)
        listed = set(allowed.get(name, ()))
        if column.kind == "enum" or (listed and set(column_values(column)) <= listed):
            column = column.model_copy(update={"values": "schema"})
        elif keep_values or column.kind in ("number", "time", "boolean"):
            pass
        elif column.kind == "text":
            column = with_stand_ins(column, _sorted(conn, column_values(column), coll_schema,
                                                    collation))
        else:
            column = withheld(column)
        out.append(column)
    return out


def _sorted(conn: Conn, values: list[str], coll_schema: str | None,
            collation: str | None) -> list[str]:
    """`values` in the column's collation order, as the server sorts them."""
    if not values:
        return []
    collate = (sql.SQL(" COLLATE {}.{}").format(sql.Identifier(coll_schema),
                                                 sql.Identifier(collation))
               if coll_schema and collation else sql.SQL(""))
    row = conn.execute(sql.SQL("SELECT array_agg(v ORDER BY v{}) FROM unnest(%s::text[]) v")
                       .format(collate), (values,)).fetchone()
    assert row is not None
    return list(row[0])


def _fanout(conn: Conn, fk: tuple[Any, ...], child: TableStats,
            sample_rows: int) -> ForeignKeyFanout:
    name, _, parent, parent_rows, columns, parent_columns = fk
    rows = max(child.reltuples, 0.0)
    out = ForeignKeyFanout(name=name, table=child.name, columns=columns, parent_table=parent,
                           parent_columns=parent_columns, parent_rows=parent_rows,
                           distinct_parents=None)
    stats = child.column(columns[0]) if len(columns) == 1 else None
    if stats is not None:
        out.distinct_parents = stats.distinct_count(rows)
        out.top_children = [round(f * rows, 1) for f in stats.most_common_freqs or []]
    fraction = min(1.0, sample_rows / rows) if rows > 0 else 1.0
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c))
                                     for c in columns)
    sample = (sql.SQL("TABLESAMPLE SYSTEM ({}) REPEATABLE ({})").format(
        sql.Literal(fraction * 100), sql.Literal(SAMPLE_SEED)) if fraction < 1 else sql.SQL(""))
    query = sql.SQL("SELECT count(*), ({not_null}) FROM (SELECT {cols} FROM {table} {sample} "
                    "LIMIT {cap}) s GROUP BY {cols}").format(
        cols=cols, table=sql.Identifier(child.name), sample=sample,
        cap=sql.Literal(sample_rows), not_null=not_null)
    groups = conn.execute(query).fetchall()
    counts = np.array([n for n, keyed in groups if keyed], dtype=float)
    out.sample_rows = int(sum(n for n, _ in groups))
    if fraction >= 1 and out.sample_rows >= sample_rows and rows > sample_rows:
        fraction = sample_rows / rows  # the row count was stale: the cap cut the table short
    out.sample_fraction = fraction
    out.sample_method = "full" if fraction >= 1 else "tablesample system"
    if counts.size:
        scaled = counts / fraction
        mean = float(scaled.mean())
        if stats is not None and out.distinct_parents:
            mean = rows * (1 - stats.null_frac) / out.distinct_parents
        p50, p90, p99 = (round(float(q), 3) for q in np.quantile(scaled, [0.5, 0.9, 0.99]))
        out.children_per_parent = Quantiles(mean=round(mean, 3), p50=p50, p90=p90, p99=p99,
                                            max=round(float(scaled.max()), 3))
        if out.distinct_parents is None:
            out.distinct_parents = round(counts.size / fraction, 1)
    return out
