"""Bad input or an unusable environment: one `error:` line, exit code 2, no traceback, no secret.

Every case drives the real command line (`python -m bench run ...`) as a subprocess against a
real PostgreSQL: a throwaway embedded server with password authentication for the roles below.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import (
    FAST,
    MIGRATION_007,
    NO_WRITES,
    PASSWORD,
    QUERIES,
    SECRET_MARK,
    AuthServer,
    auth_server,
    clean_env,
    database_exists,
    error_line,
    only_error_line,
    postgres_under,
    private_tmpdir,
    run_cli,
    scratch_databases,
    scratch_name,
)

ROLES = {"bench_admin": "SUPERUSER", "bench_nocreatedb": "NOCREATEDB"}


@pytest.fixture(scope="module")
def server() -> Iterator[AuthServer]:
    with auth_server(ROLES) as srv:
        yield srv


@pytest.fixture
def admin_dsn(server: AuthServer) -> str:
    return server.dsn("bench_admin")


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET_MARK not in text, text


def assert_no_scratch_left(server: AuthServer) -> None:
    assert scratch_databases(server.admin) == []


# --- reaching the server ----------------------------------------------------------------------


def test_unreachable_host(tmp_path: Path) -> None:
    dsn = f"postgresql://bench:{PASSWORD.replace('#', '%23')}@127.0.0.1:1/app"
    proc = run_cli("run", "--dsn", dsn, *FAST, "--out", str(tmp_path / "out"))
    line = error_line(proc)
    assert "cannot connect to PostgreSQL" in line and "127.0.0.1" in line
    assert "refused" in line.lower()
    assert_no_secret(proc.stdout, proc.stderr)


def test_unreachable_host_via_database_url(tmp_path: Path) -> None:
    dsn = f"postgresql://bench:{PASSWORD.replace('#', '%23')}@127.0.0.1:1/app"
    proc = run_cli("run", *FAST, "--out", str(tmp_path / "out"), env=clean_env(DATABASE_URL=dsn))
    assert "cannot connect to PostgreSQL" in error_line(proc)
    assert_no_secret(proc.stdout, proc.stderr)


def test_wrong_password(server: AuthServer, tmp_path: Path) -> None:
    dsn = server.dsn("bench_admin", password=f"{SECRET_MARK}-wrong-one")
    proc = run_cli("run", "--dsn", dsn, *FAST, "--out", str(tmp_path / "out"))
    line = error_line(proc)
    assert 'password authentication failed for user "bench_admin"' in line
    assert "password=***" in line
    assert_no_secret(proc.stdout, proc.stderr)
    assert_no_scratch_left(server)


def test_debug_shows_the_traceback_but_not_the_password(server: AuthServer,
                                                        tmp_path: Path) -> None:
    dsn = server.dsn("bench_admin", password=f"{SECRET_MARK}-wrong-one")
    proc = run_cli("run", "--debug", "--dsn", dsn, *FAST, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("error: cannot connect to PostgreSQL")
    assert_no_secret(proc.stdout, proc.stderr)


def test_missing_database(server: AuthServer, tmp_path: Path) -> None:
    dsn = server.dsn("bench_admin", dbname="no_such_db_here")
    proc = run_cli("run", "--dsn", dsn, *FAST, "--out", str(tmp_path / "out"))
    assert 'database "no_such_db_here" does not exist' in error_line(proc)
    assert_no_secret(proc.stdout, proc.stderr)


def test_missing_createdb_privilege(server: AuthServer, tmp_path: Path) -> None:
    proc = run_cli("run", "--dsn", server.dsn("bench_nocreatedb"), *FAST,
                   "--out", str(tmp_path / "out"))
    line = error_line(proc)
    assert "CREATEDB" in line and "bench_nocreatedb" in line
    assert_no_secret(proc.stdout, proc.stderr)
    assert_no_scratch_left(server)


@pytest.mark.parametrize("dsn", [
    f"postgresql://bench:{SECRET_MARK}@[::1",  # unterminated IPv6 host
    f"postgresql+psycopg://bench:{SECRET_MARK}@localhost/app",  # a SQLAlchemy URL
    f"host=localhost password={SECRET_MARK} nonsense",  # a keyword without '='
    f"postgresql://bench:{SECRET_MARK}@localhost/app?no_such_option=1",
])
def test_unparseable_dsn(dsn: str, tmp_path: Path) -> None:
    proc = run_cli("run", "--dsn", dsn, *FAST, "--out", str(tmp_path / "out"))
    assert "not a valid PostgreSQL connection string" in only_error_line(proc)
    assert_no_secret(proc.stdout, proc.stderr)


# --- the embedded server ----------------------------------------------------------------------


def test_embedded_server_fails_to_start(tmp_path: Path) -> None:
    # A locale the machine does not have: initdb refuses to create the cluster. A real failure
    # (a shell or container with LANG/LC_ALL set to a locale that is not installed).
    with private_tmpdir() as tmp:
        proc = run_cli("run", *FAST, "--out", str(tmp_path / "out"),
                       env=clean_env(TMPDIR=str(tmp), LC_ALL="xx_YY.UTF-8"))
        line = error_line(proc)
        assert line.startswith("error: the embedded PostgreSQL failed to start: ")
        assert "locale" in line
        assert postgres_under(tmp) == []
        assert not list(tmp.glob("pgindexbench-*")), "the data directory was left behind"


# --- option values ----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["--scale", "0"], "--scale must be greater than 0"),
    (["--scale", "-1"], "--scale must be greater than 0"),
    (["--rounds", "0"], "--rounds must be at least 1"),
    (["--rounds", "-3"], "--rounds must be at least 1"),
    (["--warmup", "-1"], "--warmup must be 0 or more"),
    (["--seed", "-1"], "--seed must be 0 or more"),
    (["--statement-timeout", "0"], "--statement-timeout must be between"),
    (["--statement-timeout", "inf"], "--statement-timeout must be between"),
    (["--parallel-workers", "5000"], "--parallel-workers must be between 0 and 1024"),
    (["--shapes", "nosuch"], "unknown shape(s) nosuch; available: "),
    (["--queries", "/nonexistent/queries"], "query folder not found"),
    (["--migration", "/nonexistent/007.py"], "migration not found"),
])
def test_invalid_option_values(args: list[str], expected: str, tmp_path: Path) -> None:
    # The option under test comes last, so it overrides FAST's value of the same option.
    proc = run_cli("run", *FAST, "--out", str(tmp_path / "out"), *args)
    assert expected in only_error_line(proc)


def test_unusable_out_folder(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "results.txt"
    not_a_folder.write_text("")
    proc = run_cli("run", *FAST, "--out", str(not_a_folder))
    assert "is a file, not a folder" in only_error_line(proc)


def test_option_of_the_wrong_type_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("run", *FAST, "--out", str(tmp_path / "out"), "--scale", "abc")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].endswith("argument --scale: invalid float value: 'abc'")


# --- query shape files ------------------------------------------------------------------------


def _queries_with(tmp_path: Path, name: str, content: str | bytes) -> Path:
    folder = tmp_path / "queries"
    folder.mkdir()
    for f in QUERIES.glob("*.sql"):
        shutil.copy(f, folder)
    target = folder / name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    return target


BROKEN_SHAPES = {
    "syntax_error": (
        "-- param lead_id: SELECT id FROM leads ORDER BY 1\n"
        "SELECT id FROM leads WHERE id = :lead_id ORDER BY BY id\n",
        'syntax error at or near "id"',
    ),
    "unknown_parameter": (
        "-- param lead_id: SELECT id FROM leads ORDER BY 1\n"
        "SELECT id FROM leads WHERE id = :lead_id AND status = :nosuch_param\n",
        "parameter(s) :nosuch_param have no '-- param NAME",
    ),
    "unknown_column_in_pool": (
        "-- param lead_id: SELECT no_such_column FROM leads ORDER BY 1\n"
        "SELECT id FROM leads WHERE id = :lead_id\n",
        'pool query for :lead_id failed: column "no_such_column" does not exist',
    ),
    "not_utf8": (b"SELECT \xff\xfe FROM leads\n", "cannot be read as UTF-8 text"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SHAPES))
def test_broken_query_file_is_named(case: str, admin_dsn: str, server: AuthServer,
                                    tmp_path: Path) -> None:
    content, expected = BROKEN_SHAPES[case]
    broken = _queries_with(tmp_path, f"{case}.sql", content)
    proc = run_cli("run", "--dsn", admin_dsn, *FAST, *NO_WRITES, "--out", str(tmp_path / "out"),
                   "--queries", str(broken.parent))
    line = error_line(proc)
    assert line.startswith(f"error: {broken}: "), line
    assert expected in line
    assert_no_secret(proc.stdout, proc.stderr)
    assert_no_scratch_left(server)


# --- the migration ----------------------------------------------------------------------------


def test_failing_migration_is_rolled_back_and_names_the_index(
        admin_dsn: str, server: AuthServer, tmp_path: Path) -> None:
    broken = tmp_path / "007_broken.py"
    source = MIGRATION_007.read_text()
    original = '("ix_leads_updated_at", "leads", ["updated_at"], {})'
    assert original in source
    broken.write_text(source.replace(
        original, '("ix_leads_updated_at", "leads", ["no_such_column"], {})'))
    out = tmp_path / "out"
    proc = run_cli("run", "--dsn", admin_dsn, *FAST, *NO_WRITES, "--out", str(out),
                   "--migration", str(broken))
    line = error_line(proc)
    assert "ix_leads_updated_at" in line
    assert 'column "no_such_column" does not exist' in line
    assert "rolled back" in line
    assert "migrate up ..." in proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] is False
    name = scratch_name(proc.stderr)
    assert name and not database_exists(server.admin, name)


# --- a runaway query --------------------------------------------------------------------------


def test_runaway_query_hits_the_statement_timeout_and_the_run_goes_on(
        admin_dsn: str, tmp_path: Path) -> None:
    _queries_with(tmp_path, "runaway.sql",
                  "-- report_row: a query that never finishes\nSELECT pg_sleep(5)\n")
    out = tmp_path / "out"
    proc = run_cli("run", "--dsn", admin_dsn, *FAST, *NO_WRITES, "--out", str(out),
                   "--queries", str(tmp_path / "queries"), "--shapes", "runaway,simple_where",
                   "--statement-timeout", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] is True
    queries = {q["name"]: q for q in doc["queries"]}
    for phase in ("before", "after"):
        assert "statement timeout" in queries["runaway"][phase]["error"]
        assert queries["runaway"][phase]["rounds"] == 0
        assert queries["simple_where"][phase]["median_ms"] is not None
    row = next(ln for ln in (out / "report.md").read_text().splitlines()
               if ln.startswith("| `runaway`"))
    assert "statement timeout" in row


# --- an app's own files (its project file, schema, shapes, Alembic history) -------------------

APPS = Path(__file__).parents[1] / "apps"


def _app(tmp_path: Path, name: str = "ticketing") -> Path:
    folder = tmp_path / name
    shutil.copytree(APPS / name, folder)
    return folder


def _run_app(app: Path, admin_dsn: str, *args: str) -> str:
    proc = run_cli("run", "--dsn", admin_dsn, *FAST, *NO_WRITES, "--out", str(app / "out"),
                   *args, cwd=app)
    assert_no_secret(proc.stdout, proc.stderr)
    return error_line(proc)


def test_unknown_key_in_the_project_file(admin_dsn: str, server: AuthServer,
                                         tmp_path: Path) -> None:
    app = _app(tmp_path)
    project = app / "pg-index-bench.toml"
    project.write_text(project.read_text().replace('queries = "queries"',
                                                   'queries = "queries"\nquerys = "q"'))
    proc = run_cli("run", "--dsn", admin_dsn, *FAST, "--out", str(app / "out"), cwd=app)
    assert only_error_line(proc) == f"error: {project}: querys: unknown key"
    assert_no_scratch_left(server)


def test_missing_schema_file(admin_dsn: str, server: AuthServer, tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "schema.sql").unlink()
    line = _run_app(app, admin_dsn)
    assert str(app / "schema.sql") in line and "not found" in line, line
    assert_no_scratch_left(server)


def test_shape_naming_a_missing_table(admin_dsn: str, server: AuthServer,
                                      tmp_path: Path) -> None:
    app = _app(tmp_path)
    shape = app / "queries" / "refunds.sql"
    shape.write_text("-- param order_id: SELECT id FROM orders ORDER BY id\n"
                     "SELECT * FROM refunds WHERE order_id = :order_id\n")
    line = _run_app(app, admin_dsn)
    assert line.startswith(f"error: {shape}: "), line
    assert 'relation "refunds" does not exist' in line
    assert_no_scratch_left(server)


def test_schema_that_does_not_build(admin_dsn: str, server: AuthServer, tmp_path: Path) -> None:
    app = _app(tmp_path)
    schema = app / "schema.sql"
    schema.write_text(schema.read_text().replace("REFERENCES public.venues(id)",
                                                 "REFERENCES public.no_such_table(id)", 1))
    line = _run_app(app, admin_dsn)
    assert line.startswith(f"error: {schema}:"), line
    assert 'relation "public.no_such_table" does not exist' in line
    assert_no_scratch_left(server)


def test_alembic_revision_that_does_not_exist(admin_dsn: str, server: AuthServer,
                                              tmp_path: Path) -> None:
    app = _app(tmp_path, "alembic_demo")
    proc = run_cli("run", "--dsn", admin_dsn, *FAST, "--out", str(app / "out"),
                   "--migration", "004", cwd=app)
    line = only_error_line(proc)
    assert "004" in line and str(app / "alembic.ini") in line, line
    assert_no_scratch_left(server)
