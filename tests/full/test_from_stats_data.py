"""Data generated from production's statistics (`--stats stats.json`): the source of
test_stats_export.py (a Zipf-skewed foreign key, a status with rare values, nulls, timestamps in
insertion order) with indexes, exported read-only, generated at the same size into another
database; the planner's base-table estimates for the queries below then agree with the
source's (median q-error <= 1.5, each <= 3) and the plans are the same; the source untouched."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_support import PASSWORD, error_line, run_cli
from psycopg import sql
from test_stats_export import (  # noqa: F401 (a fixture)
    CUSTOMERS,
    ORDERS,
    Source,
    source,
)

from bench.config import RunConfig
from bench.project.app import App
from bench.results.fidelity import headline, median, shape_fidelity
from bench.results.model import DataFidelity, SeedRecord, ShapeFidelity
from bench.runner import client_tools
from bench.runner.provision import Target, scratch_database
from bench.runner.seeding import seed_database
from bench.runner.shape_fidelity import add_shapes, first_parameters
from bench.runner.shapes import load_shapes

INDEXES = """
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_created_at_idx ON orders (created_at);
CREATE INDEX customers_tier_idx ON customers (tier);
"""

QUERIES = {
    "rare status": "SELECT * FROM orders WHERE status = 'failed'",
    "rarest status": "SELECT * FROM orders WHERE status = 'refunded'",
    "common status": "SELECT * FROM orders WHERE status = 'pending'",
    "most status": "SELECT * FROM orders WHERE status = 'done'",
    "null notes": "SELECT * FROM orders WHERE note IS NULL",
    "notes": "SELECT id FROM orders WHERE note IS NOT NULL",
    "a day": "SELECT * FROM orders WHERE created_at >= '2024-03-05' AND "
             "created_at < '2024-03-06'",
    "last week": "SELECT * FROM orders WHERE created_at >= '2024-03-21'",
    "small amounts": "SELECT * FROM orders WHERE amount < 50",
    "an ordinary customer": "SELECT * FROM orders WHERE customer_id = {ordinary}",
    "a tier": "SELECT * FROM customers WHERE tier = 'pro'",
    "early signups": "SELECT * FROM customers WHERE signed_up_at < '2024-01-15'",
    "join": "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
            "WHERE c.tier = 'enterprise' AND o.status = 'pending'",
    "latest failed": "SELECT * FROM orders WHERE status = 'failed' ORDER BY created_at DESC "
                     "LIMIT 10",
}


# Query shapes for --stats-dsn: parameters drawn from the synthetic data, as a run draws them.
SHAPES = {
    "by_status": ("-- param status: SELECT DISTINCT status FROM orders ORDER BY 1\n"
                  "SELECT * FROM orders WHERE status = :status"),
    "by_customer": ("-- param customer: SELECT id FROM customers ORDER BY id\n"
                    "SELECT * FROM orders WHERE customer_id = :customer"),
    "tier_join": ("-- param tier: SELECT DISTINCT tier FROM customers ORDER BY 1\n"
                  "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id\n"
                  "WHERE c.tier = :tier AND o.status = 'pending'"),
    "since": ("-- param since: SELECT created_at FROM orders ORDER BY id\n"
              "SELECT * FROM orders WHERE created_at >= :since"),
}


@dataclass(frozen=True)
class Generated:
    source: Source
    target: Target
    stats: Path
    fidelity: DataFidelity
    app: App
    before: tuple[object, ...]  # the source as it was before the export


def _untouched(admin: str) -> tuple[object, ...]:
    """The source's tuple counters, analyze times and contents (not the cluster's next
    transaction id: the scratch database on the same server takes some)."""
    with psycopg.connect(admin, autocommit=True) as conn:
        counters = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_mod_since_analyze, last_analyze "
            "FROM pg_stat_user_tables ORDER BY relname").fetchall()
        digests = [conn.execute(sql.SQL("SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) "
                                        "FROM {} x").format(sql.Identifier(t))).fetchone()
                   for t in ("customers", "orders")]
    return counters, digests


@pytest.fixture(scope="module")
def generated(source: Source, tmp_path_factory: pytest.TempPathFactory,  # noqa: F811
              ) -> Iterator[Generated]:
    folder = tmp_path_factory.mktemp("from_stats")
    with psycopg.connect(source.admin, autocommit=True) as conn:  # part of building the source
        conn.execute(INDEXES)
        conn.execute("ANALYZE customers; ANALYZE orders")
    before = _untouched(source.admin)
    stats = folder / "stats.json"
    proc = run_cli("stats", "export", "--dsn", source.reader, "--out", str(stats))
    assert proc.returncode == 0, proc.stderr
    schema = folder / "schema.sql"  # pg_dump --schema-only through the read-only role
    subprocess.run([str(client_tools.tool("pg_dump")), "--schema-only", "--no-owner",
                    "--no-privileges", "-f", str(schema), "-d", source.reader],
                   check=True, capture_output=True, timeout=60)
    (folder / "migration.sql").write_text("SELECT 1;\n")
    (folder / "queries").mkdir()
    for name, text in SHAPES.items():
        (folder / "queries" / f"{name}.sql").write_text(text + "\n")
    app = App(root=folder, schema=str(schema), migration=folder / "migration.sql",
              queries=folder / "queries", from_stats=stats)
    with scratch_database(source.server.admin, "dsn") as target:
        record = seed_database(target, RunConfig(scale=1.0, seed=11, progress=False, app=app),
                               echo=lambda _line: None)
        assert record.fidelity is not None
        assert _untouched(source.admin) == before
        yield Generated(source, target, stats, record.fidelity, app, before)


def _explain(conninfo: str, query: str) -> Any:
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        row = conn.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchone()
    assert row is not None
    return row[0]


def _ordinary_customer(conninfos: list[str]) -> int:
    """A customer id in neither database's most common values of orders.customer_id."""
    common: set[int] = set()
    for conninfo in conninfos:
        with psycopg.connect(conninfo) as conn:
            row = conn.execute("SELECT most_common_vals::text::bigint[] FROM pg_stats "
                               "WHERE tablename = 'orders' AND attname = 'customer_id'"
                               ).fetchone()
            common |= set(row[0] or []) if row else set()
    return next(i for i in range(CUSTOMERS // 2, CUSTOMERS) if i not in common)


def _shapes(g: Generated) -> list[ShapeFidelity]:
    both = [g.source.admin, g.target.conninfo]
    ordinary = _ordinary_customer(both)
    out = []
    for name, query in QUERIES.items():
        text = query.format(ordinary=ordinary)
        out.append(shape_fidelity(name, _explain(g.source.admin, text),
                                  _explain(g.target.conninfo, text)))
    return out


def test_rows_per_table_are_the_sources(generated: Generated) -> None:
    with generated.target.connect() as conn:
        counts = dict(conn.execute(
            "SELECT 'customers', count(*) FROM customers UNION ALL "
            "SELECT 'orders', count(*) FROM orders").fetchall())
    assert counts == {"customers": CUSTOMERS, "orders": ORDERS}


def test_base_table_estimates_and_plans_match_the_source(generated: Generated) -> None:
    shapes = _shapes(generated)
    errors = {s.shape: s.max_q_error for s in shapes}
    report = "\n".join(f"{s.shape}: q {s.max_q_error:.2f} same plan {s.same_plan} "
                       f"{s.source_plan} | {s.synthetic_plan}" for s in shapes)
    print(report)
    assert all(e is not None for e in errors.values())
    assert (median([e for e in errors.values() if e is not None]) or 99) <= 1.5, report
    assert max(e for e in errors.values() if e is not None) <= 3, report
    # ANALYZE samples at random on both sides: a value whose plans cost nearly the same
    # (0.4% of the rows: Index Scan or Bitmap Heap Scan on the same index) may flip between
    # runs. Every plan reads the same relations through the same indexes, and at most one
    # differs in its node types.
    differ = [s.shape for s in shapes if not s.same_plan]
    assert len(differ) <= 1, report
    assert all(_indexes(s.source_plan) == _indexes(s.synthetic_plan) for s in shapes), report


def test_the_fidelity_report(generated: Generated) -> None:
    f = generated.fidelity
    print(headline(f))
    for c in f.columns:
        print(json.dumps(c.model_dump()))
    by = {(c.table, c.column): c for c in f.columns}
    assert ("orders", "status") in by and ("orders", "note") in by
    assert abs(by[("orders", "note")].null_frac_diff) < 0.02
    assert (by[("orders", "status")].mcv_distance or 0) < 0.02
    assert abs(by[("orders", "created_at")].correlation_error or 0) < 0.05
    assert f.distance < 0.25 and f.furthest


def test_stats_dsn_plans_each_shape_on_the_source_read_only(generated: Generated) -> None:
    g = generated
    cfg = RunConfig(scale=1.0, seed=11, progress=False, app=g.app)
    shapes = load_shapes(g.app.queries)
    record = SeedRecord(scale=1.0, seed=11, rows={}, total_rows=0, copy_seconds=0,
                        constraints_seconds=0, vacuum_analyze_seconds=0, total_seconds=0,
                        rows_per_s=0, copy_rows_per_s=0, fidelity=g.fidelity)
    said: list[str] = []
    add_shapes(record, g.source.reader, g.target, cfg, shapes,
               first_parameters(g.target, cfg, shapes), said.append)
    assert record.fidelity is not None
    found = {s.shape: s for s in record.fidelity.shapes}
    print("\n".join(said))
    assert set(found) == set(SHAPES)
    for s in found.values():
        assert s.same_plan, said
        assert s.nodes and any(" on " in n.node for n in s.nodes)
        assert len(s.nodes) == s.source_plan.count("(") + s.source_plan.count(",") + 1
        assert s.max_q_error is not None and s.max_q_error <= 3, said
    assert (record.fidelity.median_q_error or 99) <= 1.5, said
    assert said[0].startswith("seed: data: within") and "4 of 4 plans the same" in said[0]
    assert _untouched(g.source.admin) == g.before  # nothing written on the source


def test_stats_dsn_on_the_command_line(generated: Generated) -> None:
    g, folder = generated, generated.app.root
    base = ["seed", "--schema", g.app.schema, "--migration", str(g.app.migration),
            "--queries", str(g.app.queries), "--no-progress"]
    proc = run_cli(*base, "--stats-dsn", g.source.reader)  # no stats file: one line, exit 2
    assert "--stats-dsn compares plans on data made from a stats file" in error_line(proc)
    proc = run_cli(*base, "--dsn", g.source.server.admin, "--stats", str(g.stats),
                   "--stats-dsn", g.source.reader, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "query shapes: 4 of 4 plans the same" in proc.stderr, proc.stderr
    assert "seed:   by_status: same plan, base-table q-error" in proc.stderr
    assert PASSWORD not in proc.stderr
    assert _untouched(g.source.admin) == g.before


def _indexes(plan: str | None) -> set[str]:
    """The indexes and tables a plan's one-line form names ('... using ix on t')."""
    import re

    return set(re.findall(r"(?:using|on) (\w+)", plan or ""))
