"""Helpers for tests that drive the real command line (`python -m bench`) as a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench.cli import parser
from bench.runner.provision import embedded_server

REPO = Path(__file__).resolve().parents[2]
QUERIES = REPO / "queries"
MIGRATION_007 = QUERIES / "migrations" / "007_add_comprehensive_database_indexes.py"

# A password no output may ever contain; '#' must be percent-encoded in a URI, so both spellings
# are checked. SECRET_MARK is in every spelling.
SECRET_MARK = "Quokka"
PASSWORD = "Quokka#Stapler-7e1c"

# The pipeline's progress lines ("seed ...", "seed: done in 0.5 s"); anything else on stderr
# besides the one `error:` line would be a leak of detail (a traceback, a log dump).
PROGRESS = re.compile(r"^[a-z][\w ()/,.-]*?( \.\.\.|: \S.*)$")


def _supports(option: str) -> bool:
    _args, unknown = parser().parse_known_args(["run", option, "0"])
    return not unknown


# Small and quick wherever the case allows; the write workloads are skipped when they can be.
FAST = ["--scale", "0.01", "--rounds", "3", "--warmup", "0", "--no-progress"]
NO_WRITES = ["--write-rounds", "0"] if _supports("--write-rounds") else []


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would point libpq or the harness elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PG") and k != "DATABASE_URL"}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
            cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """Check the one-line error contract; return that line.

    Exit code 2, no traceback, exactly one `error:` line and it comes last; any other stderr
    line is a progress line of the run that got that far.
    """
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert lines[-1] == errors[0], proc.stderr
    others = [ln for ln in lines[:-1] if not PROGRESS.match(ln)]
    assert not others, f"unexpected stderr lines: {others}"
    return errors[0]


def only_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """As error_line, for a failure found before anything started: stderr is that one line."""
    line = error_line(proc)
    assert proc.stderr.strip() == line, proc.stderr
    return line


def scratch_name(stderr: str) -> str | None:
    m = re.search(r"scratch database (pgindexbench_\w+)", stderr)
    return m.group(1) if m else None


def database_exists(admin_conninfo: str, name: str) -> bool:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
            is not None


def scratch_databases(admin_conninfo: str) -> list[str]:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        rows = conn.execute(
            r"SELECT datname FROM pg_database WHERE datname LIKE 'pgindexbench\_%'").fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class AuthServer:
    """An embedded PostgreSQL where every role but `postgres` logs in with a SCRAM password."""

    admin: str  # conninfo of the trusted superuser `postgres`
    socket_dir: str

    def dsn(self, role: str, password: str = PASSWORD, dbname: str = "postgres") -> str:
        return (f"postgresql://{role}:{quote(password, safe='')}@/{dbname}"
                f"?host={quote(self.socket_dir, safe='/')}")


@contextmanager
def auth_server(roles: dict[str, str]) -> Iterator[AuthServer]:
    """A throwaway embedded server for tests that need password authentication.

    `roles` maps each role to create to its attributes (e.g. "SUPERUSER", "CREATEDB", "");
    each gets PASSWORD. The trust rules initdb wrote stay for `postgres` only.
    """
    with embedded_server() as admin:
        socket_dir = str(conninfo_to_dict(admin)["host"])
        with psycopg.connect(admin, autocommit=True) as conn:
            for role, attributes in roles.items():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
                    sql.Identifier(role), sql.SQL(attributes), sql.Literal(PASSWORD)))
            hba = Path(conn.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
            hba.write_text("local all postgres trust\nlocal all all scram-sha-256\n"
                           + hba.read_text())
            conn.execute("SELECT pg_reload_conf()")
        server = AuthServer(admin, socket_dir)
        if roles:
            _wait_for_password_auth(server.dsn(next(iter(roles)), "not-the-password"))
        yield server


def _wait_for_password_auth(wrong_dsn: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            psycopg.connect(wrong_dsn).close()
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc):
                return
        time.sleep(0.1)
    raise RuntimeError("pg_hba.conf reload did not take effect")


@contextmanager
def private_tmpdir() -> Iterator[Path]:
    """A TMPDIR of the test's own (under /tmp: pytest's base temp is reset to mode 0700 by
    other pytest sessions, which the embedded server's system user could then not enter)."""
    path = Path(tempfile.mkdtemp(prefix="pgindexbench-test-")).resolve()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def postgres_under(folder: Path) -> list[psutil.Process]:
    """Postgres processes whose command line names a path under `folder`, and their children
    (background workers and backends show no data directory in their titles)."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.pid != os.getpid() and any(str(folder) in part for part in cmdline):
            with suppress(psutil.Error):
                for p in (proc, *proc.children(recursive=True)):
                    found[p.pid] = p
    return list(found.values())


def still_running(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `procs` that have not exited (is_running() also guards against PID reuse)."""
    out = []
    for proc in procs:
        with suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
    return out
