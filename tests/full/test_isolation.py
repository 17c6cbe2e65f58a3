"""With --dsn the harness touches nothing but the scratch database it creates, and leaks no secret.

One full run (`python -m bench run --dsn ...`) against a server that already holds an
application's databases, tables (one named like a harness table), roles and settings; a snapshot
of all of that before and after must be identical. The DSN carries a distinctive password that
must appear in no output.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_support import (
    FAST,
    PASSWORD,
    SECRET_MARK,
    AuthServer,
    auth_server,
    database_exists,
    error_line,
    run_cli,
    scratch_databases,
    scratch_name,
)
from psycopg import sql
from psycopg.conninfo import make_conninfo

APP_DB = "app_staging"

APP_SCHEMA = """
CREATE TABLE leads (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,
                    qualification_score int, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX leads_email_idx ON leads (email);
INSERT INTO leads (email, qualification_score, created_at)
SELECT 'lead' || g || '@example.com', g % 100, '2024-01-01'::timestamptz + g * interval '1 hour'
FROM generate_series(1, 500) g;
CREATE TABLE invoices (id int PRIMARY KEY, lead_id bigint REFERENCES leads (id), amount numeric);
INSERT INTO invoices SELECT g, 1 + g % 500, g * 1.25 FROM generate_series(1, 300) g;
CREATE VIEW big_invoices AS SELECT * FROM invoices WHERE amount > 100;
"""


@dataclass
class FullRun:
    server: AuthServer
    before: dict[str, Any]
    after: dict[str, Any]
    proc: subprocess.CompletedProcess[str]
    out: Path


def snapshot(admin: str) -> dict[str, Any]:
    """Everything on the server a harness might change by mistake, as comparable values."""
    def rows(conn: psycopg.Connection, query: str) -> list[tuple]:
        return conn.execute(query).fetchall()

    with psycopg.connect(admin, autocommit=True) as conn:
        snap: dict[str, Any] = {
            "databases": rows(conn, """
                SELECT datname, datdba::regrole::text, pg_encoding_to_char(encoding),
                       datcollate, datctype, datistemplate, datallowconn, datconnlimit,
                       datacl::text
                FROM pg_database ORDER BY datname"""),
            "roles": rows(conn, """
                SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
                       rolreplication, rolbypassrls, rolconnlimit, rolpassword, rolvaliduntil
                FROM pg_authid ORDER BY rolname"""),
            "memberships": rows(conn, """
                SELECT roleid::regrole::text, member::regrole::text, admin_option
                FROM pg_auth_members ORDER BY 1, 2"""),
            "role_settings": rows(conn, """
                SELECT setdatabase, setrole::regrole::text, setconfig::text
                FROM pg_db_role_setting ORDER BY 1, 2"""),
            "settings": rows(conn, """
                SELECT name, setting, source FROM pg_settings
                WHERE source NOT IN ('client', 'session') ORDER BY name"""),
            "auto_conf": rows(conn, """
                SELECT name, setting, applied FROM pg_file_settings ORDER BY name, seqno"""),
        }
        dbnames = [r[0] for r in rows(conn, """
            SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname""")]
    for db in dbnames:
        with psycopg.connect(make_conninfo(admin, dbname=db), autocommit=True) as conn:
            relations = rows(conn, """
                SELECT n.nspname, c.relname, c.relkind, c.relowner::regrole::text,
                       c.relacl::text, c.reloptions::text
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
                ORDER BY 1, 2""")
            tables = [(s, t) for s, t, kind, *_ in relations if kind == "r"]
            contents = {
                f"{s}.{t}": conn.execute(sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
                    " FROM {} x").format(sql.Identifier(s, t))).fetchone()
                for s, t in tables
            }
            snap[f"db:{db}"] = {
                "relations": relations,
                "indexes": rows(conn, "SELECT schemaname, indexname, indexdef FROM pg_indexes "
                                      "ORDER BY 1, 2"),
                "schemas": rows(conn, "SELECT nspname, nspowner::regrole::text, nspacl::text "
                                      "FROM pg_namespace ORDER BY 1"),
                "extensions": rows(conn, "SELECT extname, extversion FROM pg_extension "
                                         "ORDER BY 1"),
                "contents": contents,
            }
    return snap


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullRun]:
    roles = {"bench_admin": "SUPERUSER", "bench_user": "CREATEDB", "bench_nocreatedb": ""}
    with auth_server(roles) as server:
        with psycopg.connect(server.admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {APP_DB}")
            conn.execute("ALTER DATABASE app_staging SET work_mem = '7MB'")
            conn.execute("CREATE ROLE app_reader NOLOGIN")
        for db in (APP_DB, "postgres"):
            with psycopg.connect(make_conninfo(server.admin, dbname=db), autocommit=True) as c:
                c.execute(APP_SCHEMA)
                c.execute("GRANT SELECT ON invoices TO app_reader")
        before = snapshot(server.admin)
        out = tmp_path_factory.mktemp("isolation") / "out"
        # The DSN names the application's own database: the harness may only connect to it.
        proc = run_cli("run", "--dsn", server.dsn("bench_admin", dbname=APP_DB), *FAST,
                       "--out", str(out))
        yield FullRun(server, before, snapshot(server.admin), proc, out)


def test_full_run_succeeds_in_its_own_scratch_database(full_run: FullRun) -> None:
    assert full_run.proc.returncode == 0, full_run.proc.stderr
    name = scratch_name(full_run.proc.stderr)
    assert name and name.startswith("pgindexbench_")
    assert not database_exists(full_run.server.admin, name)
    assert scratch_databases(full_run.server.admin) == []


def test_existing_databases_tables_roles_settings_untouched(full_run: FullRun) -> None:
    assert full_run.proc.returncode == 0, full_run.proc.stderr
    assert full_run.before[f"db:{APP_DB}"]["contents"]["public.leads"][0] == 500
    assert full_run.after.keys() == full_run.before.keys()
    for key in full_run.before:
        assert full_run.after[key] == full_run.before[key], f"{key} changed"


def test_password_is_in_no_output(full_run: FullRun) -> None:
    assert full_run.proc.returncode == 0, full_run.proc.stderr
    encoded = PASSWORD.replace("#", "%23")
    files = [p for p in full_run.out.rglob("*") if p.is_file()]
    assert {"results.json", "report.md"} <= {p.name for p in files}
    for text in (full_run.proc.stdout, full_run.proc.stderr):
        assert SECRET_MARK not in text
    for path in files:
        data = path.read_bytes()
        for spelled in (PASSWORD, encoded, SECRET_MARK):
            assert spelled.encode() not in data, f"password found in {path.name}"
    assert "password=***" in (full_run.out / "results.json").read_text()


def test_without_createdb_nothing_is_created(full_run: FullRun, tmp_path: Path) -> None:
    server = full_run.server
    proc = run_cli("run", "--dsn", server.dsn("bench_nocreatedb", dbname=APP_DB), *FAST,
                   "--out", str(tmp_path / "out"))
    line = error_line(proc)
    assert "CREATEDB privilege" in line and "bench_nocreatedb" in line
    assert SECRET_MARK not in proc.stderr
    assert snapshot(server.admin) == full_run.before


def test_least_privilege_role_runs_and_leaves_nothing(full_run: FullRun, tmp_path: Path) -> None:
    # CREATEDB and nothing else: no superuser, so pg_prewarm, CHECKPOINT and the like must
    # degrade gracefully inside the run instead of failing it.
    server = full_run.server
    proc = run_cli("run", "--dsn", server.dsn("bench_user", dbname=APP_DB), *FAST,
                   "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert SECRET_MARK not in proc.stderr + proc.stdout
    assert scratch_databases(server.admin) == []
    assert snapshot(server.admin) == full_run.before
