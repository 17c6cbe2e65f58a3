"""How the pacing of single-row writes moves their server-side time and the index overhead.

    python benchmarks/write_pacing.py [--scale 0.1] [--table social_media_activity] [--rows 600]

Seeds the 007 app on an embedded server (or $DATABASE_URL), then times the same single-row
INSERTs of one table under EXPLAIN (ANALYZE, TIMING OFF, WAL), committed every 10 as the write
phase does, paced three ways: back to back (one pipeline per unit of 10), one client round trip
each (the write phase's way), and with 1 ms of idle time before each (an app server's round
trip). It does so without and with the migration's indexes on that table (made and dropped
here, between the blocks, which alternate three times), and prints the median execution time
per row and the overhead. The write phase reports the second pacing; this shows how far the
figures would move with the others (README, "Write workloads").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.config import RunConfig, dsn_from_env  # noqa: E402
from bench.runner import catalog, migrate  # noqa: E402
from bench.runner.provision import provision  # noqa: E402
from bench.runner.seeding import seed_database  # noqa: E402

EXPLAIN = "EXPLAIN (ANALYZE, TIMING OFF, WAL, FORMAT JSON) "
UNIT = 10
Conn = psycopg.Connection[Any]


def _rows(conn: Conn, table: str, n: int) -> tuple[str, list[dict[str, Any]]]:
    """An INSERT of the table's own columns but its key, and n of its rows to insert again."""
    cols = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attidentity = '' AND attname <> 'id' ORDER BY attnum",
        (table,))]
    names = sql.SQL(", ").join(map(sql.Identifier, cols))
    got = conn.execute(sql.SQL("SELECT {} FROM {} LIMIT %s").format(
        names, sql.Identifier(table)), (n,)).fetchall()
    rows = [{c: Jsonb(v) if isinstance(v, dict | list) else v for c, v in zip(cols, r,
                                                                             strict=True)}
            for r in got]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table), names, sql.SQL(", ").join(map(sql.Placeholder, cols)))
    return EXPLAIN + query.as_string(conn), rows


def _one_by_one(gap_s: float) -> Callable[[Conn, str, list[dict[str, Any]]], list[float]]:
    def run(conn: Conn, query: str, rows: list[dict[str, Any]]) -> list[float]:
        out = []
        for start in range(0, len(rows), UNIT):
            conn.execute("BEGIN")
            for row in rows[start:start + UNIT]:
                if gap_s:
                    time.sleep(gap_s)
                doc = conn.execute(query, row, prepare=False).fetchone()[0][0]  # type: ignore[index]
                out.append(float(doc["Execution Time"]) * 1000)
            conn.execute("COMMIT")
        return out
    return run


def _back_to_back(conn: Conn, query: str, rows: list[dict[str, Any]]) -> list[float]:
    out = []
    for start in range(0, len(rows), UNIT):
        with conn.pipeline():
            conn.execute("BEGIN")
            curs = [conn.execute(query, row, prepare=False) for row in rows[start:start + UNIT]]
            conn.execute("COMMIT")
        out += [float(c.fetchone()[0][0]["Execution Time"]) * 1000 for c in curs]  # type: ignore[index]
    return out


PACINGS = {"back to back (pipelined)": _back_to_back,
           "one round trip each (the write phase)": _one_by_one(0.0),
           "1 ms idle before each": _one_by_one(0.001)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--table", default="social_media_activity")
    ap.add_argument("--rows", type=int, default=600)
    args = ap.parse_args()
    cfg = RunConfig(scale=args.scale, dsn=dsn_from_env(None), progress=False)
    with provision(cfg.dsn) as target:
        seed_database(target, cfg, lambda line: None)
        with psycopg.connect(target.conninfo, autocommit=True) as conn:
            conn.execute("SET jit = off")
            before = {i.name for i in catalog.list_indexes(conn, [args.table])}
            # The app's migration, applied to learn its indexes on the table.
            engine = sa.create_engine(target.sqlalchemy_url(), poolclass=sa.pool.NullPool)
            migrate.apply(engine, target, cfg.app, "upgrade")
            engine.dispose()
            migration = [(i.name, i.definition) for i in catalog.list_indexes(conn, [args.table])
                         if i.name not in before]
            for name, _ in migration:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            query, rows = _rows(conn, args.table, args.rows)
            top = conn.execute(sql.SQL("SELECT max(id) FROM {}").format(
                sql.Identifier(args.table))).fetchone()[0]  # type: ignore[index]
            times: dict[tuple[str, str], list[float]] = {}
            for cycle in range(3):
                for state in (("without", "with") if cycle % 2 == 0 else ("with", "without")):
                    for _name, definition in migration if state == "with" else ():
                        conn.execute(definition)
                    for pacing, run in PACINGS.items():
                        times.setdefault((pacing, state), []).extend(run(conn, query, rows))
                        conn.execute(sql.SQL("DELETE FROM {} WHERE id > %s").format(
                            sql.Identifier(args.table)), (top,))
                        conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(args.table)))
                    for name, _ in migration if state == "with" else ():
                        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    print(f"INSERT into {args.table}, scale {args.scale}, {len(migration)} indexes of the "
          f"migration, {3 * args.rows} rows per cell (median execution time per row):\n")
    print("| pacing | without (µs) | with (µs) | added (µs) | overhead |")
    print("|---|---|---|---|---|")
    for pacing in PACINGS:
        a = statistics.median(times[(pacing, "without")])
        b = statistics.median(times[(pacing, "with")])
        print(f"| {pacing} | {a:.1f} | {b:.1f} | {b - a:+.1f} | {100 * (b / a - 1):+.0f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
