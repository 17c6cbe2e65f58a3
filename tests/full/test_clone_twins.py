"""run --twins DSN_A DSN_B: two clones the user gives are the twins (issue 19 item 5).

On the embedded server the test makes the user's two clones itself (one seeded by the
harness's seeder, the other CREATE DATABASE ... TEMPLATE it), runs the command line on them
and checks that nothing was seeded, copied, created or dropped, that the clones hold the same
indexes, rows and extensions afterwards as before (the migration undone, also when the
downgrade is missing and after Ctrl-C), and that clones which differ stop the run with one
line and exit 2.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.config import RunConfig
from bench.runner import catalog
from bench.runner.provision import Target
from bench.runner.seeding import seed_database
from tests.full.cli_support import FAST, REPO, clean_env, error_line, run_cli

QUICK = [*FAST, "--aa-rounds", "2"]


def _create(admin: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}{}").format(
            sql.Identifier(name),
            sql.SQL(" TEMPLATE {}").format(sql.Identifier(template)) if template else sql.SQL("")))
    return make_conninfo(admin, dbname=name)


def _name(conninfo: str) -> str:
    return str(conninfo_to_dict(conninfo)["dbname"])


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@pytest.fixture(scope="module")
def clones(pg_server: str) -> Iterator[tuple[str, str]]:
    """Two clones of one seeded database (names the harness would never give its own)."""
    tag = secrets.token_hex(3)
    names = [f"app_clone_a_{tag}", f"app_clone_b_{tag}"]
    try:
        a = _create(pg_server, names[0])
        seed_database(Target(a, names[0], "dsn", pg_server),
                      RunConfig(scale=0.01, seed=3, progress=False), echo=lambda _line: None)
        b = _create(pg_server, names[1], template=names[0])
        yield a, b
    finally:
        for name in names:
            _drop(pg_server, name)


def _state(conninfo: str) -> dict[str, Any]:
    """What a run must leave as it found it: indexes, rows per table, extensions."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = catalog.app_tables(conn)
        indexes = sorted((ix.name, ix.definition) for ix in catalog.list_indexes(conn, tables))
        rows = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(t))).fetchone()[0] for t in tables}  # type: ignore[index]
        extensions = sorted(r[0] for r in conn.execute("SELECT extname FROM pg_extension"))
    return {"indexes": indexes, "rows": rows, "extensions": extensions}


def _databases(admin: str) -> list[str]:
    with psycopg.connect(admin, autocommit=True) as conn:
        return sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database"))


def test_a_run_on_two_clones_seeds_nothing_and_leaves_them_as_found(
        clones: tuple[str, str], pg_server: str, tmp_path: Path) -> None:
    a, b = clones
    before = {"A": _state(a), "B": _state(b)}
    databases = _databases(pg_server)
    out = tmp_path / "out"
    proc = run_cli("run", "--twins", a, b, *QUICK, "--write-rounds", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    phases = [line.split(" ...")[0].split(":")[0] for line in proc.stderr.splitlines()]
    assert "seed" not in phases and "twin" not in phases and "provision" not in phases, \
        proc.stderr  # no seeding, no copy, no scratch database
    assert "twins" in phases, proc.stderr
    assert "migrate down:" in proc.stderr, proc.stderr
    assert _databases(pg_server) == databases  # none created, none dropped
    assert _state(a) == before["A"] and _state(b) == before["B"]
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] and results["seed"] is None
    made = results["clones"]
    assert made["a"]["database"] == _name(a)
    assert made["b"]["database"] == _name(b)
    assert made["a"]["rows"] == made["b"]["rows"] and sum(made["a"]["rows"].values()) > 10_000
    assert made["b"]["bytes"] > 0 and made["same_server"] is True
    assert made["restored"] is True and made["undone"] == [] and made["left_behind"] == []
    assert isinstance(made["measured_alike"], bool)
    assert made["measured_alike"] == (made["differing"] == [])
    assert results["indexes"]["created"]  # the migration did run, on B
    assert results["migration_down"] is not None
    report = (out / "report.md").read_text()
    assert "two clones you gave" in report
    assert ("measured alike" in report) == made["measured_alike"]


def test_a_migration_without_a_downgrade_is_undone_on_the_clone(
        clones: tuple[str, str], tmp_path: Path) -> None:
    a, b = clones
    before = _state(b)
    migration = tmp_path / "042_one_index.sql"  # no -- down section: nothing to run down
    migration.write_text("CREATE INDEX ix_clone_test_email_status ON leads (email, status);\n")
    out = tmp_path / "out"
    proc = run_cli("run", "--twins", a, b, *QUICK, "--write-rounds", "0", "--migration",
                   str(migration), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "dropped index ix_clone_test_email_status" in proc.stderr, proc.stderr
    assert _state(b) == before
    made = json.loads((out / "results.json").read_text())["clones"]
    assert made["undone"] == ["dropped index ix_clone_test_email_status"]
    assert made["restored"] is True


def test_ctrl_c_after_the_migration_leaves_the_clone_as_found(
        clones: tuple[str, str], tmp_path: Path) -> None:
    a, b = clones
    before = _state(b)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--twins", a, b, *QUICK, "--rounds", "50",
         "--max-time", "60", "--write-rounds", "0", "--out", str(tmp_path / "out")],
        cwd=REPO, env=clean_env(), stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("migrate up:") and "indexes created" in line:  # B is migrated
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.communicate(timeout=120)[1]
    stderr = "".join(seen) + rest
    assert proc.returncode == 130, stderr
    assert "undoing the migration" in stderr, stderr
    assert _state(b) == before
    assert "the migration, if it ran, was undone on B" in stderr


def test_clones_that_differ_stop_the_run_with_one_line(
        clones: tuple[str, str], pg_server: str, tmp_path: Path) -> None:
    a, _b = clones
    name = f"app_clone_c_{secrets.token_hex(3)}"
    try:
        c = _create(pg_server, name, template=_name(a))
        with psycopg.connect(c, autocommit=True) as conn:
            conn.execute("DROP TABLE organization_charts")
        proc = run_cli("run", "--twins", a, c, *QUICK, "--out", str(tmp_path / "out"))
        line = error_line(proc)
        assert "no table organization_charts" in line and name in line, line
        assert not (tmp_path / "out" / "results.json").exists() or \
            json.loads((tmp_path / "out" / "results.json").read_text())["queries"] == []
    finally:
        _drop(pg_server, name)
    same = run_cli("run", "--twins", a, a, *QUICK, "--out", str(tmp_path / "out"))
    assert "reach the same database" in error_line(same)
    gone = make_conninfo(a, port="1", host="127.0.0.1")
    assert "cannot connect" in error_line(run_cli("run", "--twins", a, gone, *QUICK,
                                                  "--out", str(tmp_path / "out")))
    both = run_cli("run", "--twins", a, a, "--dsn", pg_server, *QUICK)
    assert "cannot go with --dsn" in error_line(both)


def test_rows_a_role_without_superuser_leaves_are_named(tmp_path: Path) -> None:
    """Without superuser the write workloads keep the parent rows they inserted (deleting them
    would check every child table): the run names them, with the DELETE that takes them out,
    and never shows the password."""
    from tests.full.cli_support import PASSWORD, SECRET_MARK, auth_server, private_tmpdir

    with private_tmpdir() as tmp, auth_server({"bench": "CREATEDB"}) as server:
        env = clean_env(TMPDIR=str(tmp))
        with psycopg.connect(server.admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE app_a OWNER bench")
        a = server.dsn("bench", dbname="app_a")
        seed_database(Target(a, "app_a", "dsn", server.admin),
                      RunConfig(scale=0.01, seed=3, progress=False), echo=lambda _line: None)
        with psycopg.connect(server.admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE app_b TEMPLATE app_a OWNER bench")
        b = server.dsn("bench", dbname="app_b")
        before = _state(b)
        out = tmp_path / "out"
        proc = run_cli("run", "--twins", a, b, *QUICK, "--write-rounds", "2",
                       "--shapes", "simple_where", "--out", str(out), env=env)
        assert proc.returncode == 0, proc.stderr
        made = json.loads((out / "results.json").read_text())["clones"]
        assert made["restored"] is False
        kept = [line for line in made["left_behind"] if "table leads keeps rows" in line]
        assert len(kept) == 2, made["left_behind"]  # one per clone: both were written to
        assert all('DELETE FROM "leads" WHERE "id" > 1000' in line for line in kept), kept
        assert "not as the run found it" in proc.stderr
        mine = next(line for line in kept if line.startswith("app_b:"))
        with psycopg.connect(b, autocommit=True) as conn:  # the statement given does it
            conn.execute(mine.rsplit(": ", 1)[-1])  # type: ignore[arg-type]
        assert _state(b)["indexes"] == before["indexes"] and _state(b)["rows"] == before["rows"]
        everything = proc.stdout + proc.stderr + "".join(
            f.read_text() for f in out.iterdir() if f.suffix in (".json", ".md"))
        assert SECRET_MARK not in everything and PASSWORD not in everything
