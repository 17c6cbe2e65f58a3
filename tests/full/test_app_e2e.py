"""`python -m bench run` end to end on apps other than this repository's own, as their users
run it: from a copy of the app's folder (its project file found there), or with flags alone.

(a) tests/apps/ticketing: a pg_dump-style schema.sql and a .sql migration; (b)
tests/apps/alembic_demo: an Alembic history whose revision 003 builds its indexes CONCURRENTLY
in an autocommit_block(); (c) a schema taken from an existing database by URL, read only there;
(d) no project file at all: --schema, --migration, --queries and --rows.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_support import FAST, clean_env, scratch_databases
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.report.deploy import load as load_deploy
from bench.results import store
from bench.results.model import RunResults

APPS = Path(__file__).parents[1] / "apps"
TICKETING_INDEXES = ["orders_customer_id_idx", "orders_status_placed_at_idx",
                     "tickets_event_code_tier_no_idx"]
TICKETING_SHAPES = ["customer_orders", "event_sales", "orders_by_status"]
QUICK = [*FAST, "--write-rounds", "0"]


def app_copy(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(APPS / name, folder)
    return folder


def bench(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def results_of(out: Path) -> tuple[RunResults, str]:
    """results.json, validated against the model, and report.md."""
    results = store.load(out / "results.json")
    assert results.complete
    return results, (out / "report.md").read_text()


def check_ticketing(results: RunResults, report: str) -> None:
    assert results.migration is not None
    assert results.migration.form == "sql"
    assert sorted(results.migration.created) == TICKETING_INDEXES
    assert results.migration.invalid_indexes == []
    assert sorted(q.name for q in results.queries) == TICKETING_SHAPES
    for q in results.queries:
        assert q.before and q.before.median_ms is not None, q.name
        assert q.after and q.after.median_ms is not None, q.name
    for name in [*TICKETING_INDEXES, *TICKETING_SHAPES]:
        assert f"`{name}`" in report, name
    assert "Order history of one customer" in report  # a shape's report_row
    assert report.startswith("# Index impact: migration 002")


def _snapshot(conninfo: str) -> dict[str, Any]:
    """What a run could change in a database: its objects, rows, and writes committed."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        objects = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class AS c JOIN pg_namespace AS n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1").fetchall()
        tables = [r[0] for r in objects if r[1] == "r"]
        rows = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(t))).fetchone() for t in tables}
        writes = conn.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_user_tables").fetchone()
    return {"objects": objects, "rows": rows, "writes": writes}


# --- (a) and (b): from the app's folder -------------------------------------------------------


def test_ticketing_from_its_folder(tmp_path: Path) -> None:
    app = app_copy("ticketing", tmp_path)
    bench(app, "run", *FAST, "--write-rounds", "2", "--out", "out")
    results, report = results_of(app / "out")
    check_ticketing(results, report)
    assert results.seed is not None and results.seed.rows["venues"] == 4  # 400 x 0.01
    # The derived write workloads of the tables the migration indexes, and their overhead.
    assert results.writes is not None
    names = {w.name for w in results.writes.workloads}
    assert {"insert:orders", "update:orders:customer_id", "update:orders:notes"} <= names
    assert "`insert:orders`" in report


def test_alembic_project_with_an_autocommit_block(tmp_path: Path) -> None:
    app = app_copy("alembic_demo", tmp_path)
    bench(app, "run", *QUICK, "--out", "out")
    results, report = results_of(app / "out")
    m = results.migration
    assert m is not None
    assert m.form == "alembic project" and m.revision == "003"
    assert sorted(m.created) == ["ix_orders_customer_id", "ix_orders_status_created"]
    assert m.invalid_indexes == [] and m.transactional is False
    builds = {s.index: s for s in m.statements if s.action == "create"}
    assert sorted(builds) == sorted(m.created)
    for s in builds.values():
        assert s.transactional is False and "CONCURRENTLY" in s.sql and s.seconds > 0
    # Build times per index, and no INVALID index anywhere in the report.
    for name in m.created:
        row = next(ln for ln in report.splitlines() if ln.startswith(f"| `{name}` | `orders`"))
        assert row.rstrip(" |").endswith(" ms"), row
    assert "INVALID" not in report
    assert "ran in autocommit" in report
    assert [q.name for q in results.queries] == ["orders_of_customer"]
    assert "`orders_of_customer`" in report and "Orders of one customer" in report
    assert results.migration_down is not None and results.migration_down.skipped is None


# --- (c) a schema from an existing database ---------------------------------------------------


@pytest.fixture
def source_db(pg_server: str) -> Any:
    """A database holding the ticketing schema (and a few rows), and a role that may only
    read it (every transaction of the role read only)."""
    name, role = "app_e2e_source", "app_e2e_reader"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(
            sql.Identifier(role)))
    admin = make_conninfo(pg_server, dbname=name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute((APPS / "ticketing" / "schema.sql").read_text())
        conn.execute("SELECT pg_catalog.set_config('search_path', 'public', false)")
        conn.execute("INSERT INTO customers (email, first_name, last_name) "
                     "VALUES ('a@example.com', 'Ada', 'Byron')")
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(name), sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(
            sql.Identifier(role)))
    params = conninfo_to_dict(pg_server)
    url = (f"postgresql://{role}@/{name}?host={params['host']}"
           + (f"&port={params['port']}" if params.get("port") else ""))
    yield admin, url
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_schema_from_a_database_url_is_only_read(source_db: tuple[str, str], pg_server: str,
                                                 tmp_path: Path) -> None:
    admin, url = source_db
    app = app_copy("ticketing", tmp_path)
    before = _snapshot(admin)
    proc = bench(app, "run", *QUICK, "--dsn", pg_server, "--schema", url, "--out", "out")
    assert "seed: schema from database user=app_e2e_reader dbname=app_e2e_source" in proc.stderr
    results, report = results_of(app / "out")
    check_ticketing(results, report)
    assert _snapshot(admin) == before  # nothing created, no row written
    assert results.seed is not None and results.seed.rows["customers"] > 1  # not the source's
    assert scratch_databases(pg_server) == []


# --- (d) no project file ----------------------------------------------------------------------


def test_flags_without_a_project_file(pg_server: str, tmp_path: Path) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    shutil.copy(APPS / "ticketing" / "schema.sql", work / "schema.sql")
    shutil.copy(APPS / "ticketing" / "migrations" / "002_indexes.sql", work / "m.sql")
    shutil.copytree(APPS / "ticketing" / "queries", work / "q")
    proc = bench(work, "run", *QUICK, "--scale", "1", "--dsn", pg_server, "--schema",
                 "schema.sql", "--migration", "m.sql", "--queries", "q/", "--rows", "20000",
                 "--out", "out")
    assert "seed: schema from SQL file schema.sql" in proc.stderr
    results = store.load(work / "out" / "results.json")
    report = (work / "out" / "report.md").read_text()
    assert results.complete and results.migration is not None
    assert sorted(results.migration.created) == TICKETING_INDEXES
    assert report.startswith("# Index impact: migration m")
    for name in [*TICKETING_INDEXES, *TICKETING_SHAPES]:
        assert f"`{name}`" in report, name
    assert results.seed is not None
    assert 15_000 <= sum(results.seed.rows.values()) <= 25_000
    assert results.config.migration == "m.sql"
    assert scratch_databases(pg_server) == []


# --- --per-index and deploy on a .sql migration -----------------------------------------------


def test_per_index_on_a_sql_migration_recommends_a_sql_file(pg_server: str,
                                                            tmp_path: Path) -> None:
    app = app_copy("ticketing", tmp_path)
    bench(app, "run", "--per-index", *FAST, "--write-rounds", "2", "--dsn", pg_server,
          "--out", "out")
    results, report = results_of(app / "out")
    assert results.per_index is not None and results.per_index.mix.source == "workload_mix.toml"
    rec = results.per_index.recommended
    assert rec is not None
    assert rec.sql_file == "002_indexes_recommended.sql" and rec.revision_file == ""
    assert not list((app / "out").glob("*.py")), "an Alembic revision for a .sql migration"
    text = (app / "out" / rec.sql_file).read_text()
    for name in TICKETING_INDEXES:
        assert (f"INDEX IF NOT EXISTS {name} ON" in text) == (name in rec.indexes), name
    # The set, applied to the third twin from that file, made what it says.
    assert rec.migration is not None and rec.migration.form == "sql"
    assert sorted(rec.migration.created) == sorted(rec.indexes)
    assert f"`{rec.sql_file}`" in report and "(Alembic)" not in report
    assert scratch_databases(pg_server) == []


def test_deploy_on_a_sql_migration(tmp_path: Path) -> None:
    app = app_copy("ticketing", tmp_path)
    bench(app, "deploy", "--scale", "0.02", "--sweep", "", "--clients", "1", "--runs", "1",
          "--throughput-seconds", "1", "--lead", "0.5", "--no-progress", "--out", "dep")
    out = app / "dep"
    variant = out / "002_indexes_concurrently.sql"
    assert not list(out.glob("*.py"))
    text = variant.read_text()
    for name in TICKETING_INDEXES:
        assert f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON" in text
        assert f'DROP INDEX CONCURRENTLY IF EXISTS "{name}";' in text.split("-- down")[1]
    doc = load_deploy(out)
    assert doc.complete and doc.revision_file == variant.name
    assert doc.as_written is not None and doc.concurrently is not None
    assert sorted(b.name for b in doc.as_written.builds) == TICKETING_INDEXES
    assert all("CONCURRENTLY" not in b.sql for b in doc.as_written.builds)
    assert sorted(b.name for b in doc.concurrently.builds) == TICKETING_INDEXES
    assert all("CONCURRENTLY" in b.sql for b in doc.concurrently.builds)
    assert doc.as_written.failed == 0 and doc.concurrently.failed == 0
    case = doc.invalid_index
    assert case is not None and case.invalid_detected and case.valid_after_remedy
    report = (out / "deploy.md").read_text()
    assert f"`{variant.name}` (in this folder: a ready .sql file" in report
    assert "autocommit_block" not in report and "Alembic" not in report
