"""Nothing left behind when the harness dies by SIGKILL, and `cleanup` removes only our own.

The kill cases start the real command line, wait for a phase's progress line, SIGKILL the
harness (no cleanup code of it can run) and check within a few seconds that its watchdog has
stopped the embedded server and removed its folder, or dropped both scratch databases.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import psycopg
import pytest
from cli_support import (
    FAST,
    NO_WRITES,
    REPO,
    clean_env,
    database_exists,
    postgres_under,
    private_tmpdir,
    run_cli,
    scratch_databases,
    scratch_name,
    still_running,
)
from psycopg import sql
from test_shutdown import PHASE_TIMEOUT, _phase_args

from bench.runner import leftovers
from bench.runner.provision import _warn_about_databases, embedded_server

GONE_WITHIN = 10  # seconds after the SIGKILL


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return bool(predicate())  # type: ignore[operator]


RUN_PHASES = [
    "seed",
    "noise floor (A/A): reads",
    "noise floor (A/A): writes",
    "migrate up",
    "measure before and after",
    "writes before and after",
    "per index: attribution",
    "per index: the recommended set, end to end",
]
# (phase line, options) of `deploy`: pgbench runs in each but the sweep's first seconds. Each
# is held open by its own length (--lead: seconds of load around a migration, and the
# throughput runs' seconds).
DEPLOY_PHASES = {
    "as written, under load": ["--lead", "5"],
    "throughput without and with the indexes": ["--lead", "1", "--throughput-seconds", "5"],
    "concurrently, under load": ["--lead", "3", "--throughput-seconds", "1"],
    "sweep: as written at scale 0.01": ["--scale", "0.02", "--lead", "1",
                                        "--throughput-seconds", "1", "--sweep", "0.01"],
}
KILL_CASES = [(command, phase, source) for source in ("embedded", "dsn")
              for command, phases in (("run", RUN_PHASES), ("deploy", list(DEPLOY_PHASES)))
              for phase in phases]


def _command(command: str, phase: str, tmp_path: Path) -> list[str]:
    out = str(tmp_path / "out")
    if command == "run":
        return ["run", *FAST, *NO_WRITES, "--out", out, *_phase_args(phase, tmp_path)]
    return ["deploy", "--scale", "0.01", "--sweep", "", "--clients", "2", "--runs", "1",
            "--no-progress", "--out", out, *DEPLOY_PHASES[phase]]


def _left_in(tmp: Path) -> list[Path]:
    """What is in the run's TMPDIR but the embedded package's lock folder (one empty lock file
    that every embedded server on the machine shares; under platformdirs' fallback runtime
    folder where XDG_RUNTIME_DIR is not usable)."""
    return [p for p in tmp.iterdir()
            if p.name != "python_PostgresServer" and p.name != f"runtime-{os.geteuid()}"]


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


@pytest.mark.parametrize(("command", "phase", "source"), KILL_CASES)
def test_kill_9_leaves_no_server_folder_database_or_process(
        command: str, phase: str, source: str, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    dsn = request.getfixturevalue("pg_server") if source == "dsn" else None
    args = _command(command, phase, tmp_path)
    if dsn:
        args += ["--dsn", dsn]
    earlier = set(scratch_databases(dsn)) if dsn else set()
    with private_tmpdir() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench", *args], cwd=REPO,
            env=clean_env(TMPDIR=str(tmp)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        seen: list[str] = []
        try:
            deadline = time.monotonic() + PHASE_TIMEOUT
            while f"{phase} ..." not in seen:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
                assert line is not None, "the run ended before the phase:\n" + "\n".join(seen)
                seen.append(line)
            servers = postgres_under(tmp)  # and pgbench (its logs are under TMPDIR too)
            assert any(p.name() == "postgres" for p in servers) == (source == "embedded"), \
                servers
            name = scratch_name("\n".join(seen))
            assert name
            if dsn and phase != "seed" and not phase.startswith("sweep"):  # the twin is there
                assert database_exists(dsn, f"{name}_b")
            time.sleep(0.3)  # well inside the phase
            if command == "deploy" and not phase.startswith("sweep"):  # the load is running
                assert _wait_for(lambda: any(p.name() == "pgbench"
                                             for p in _descendants(proc.pid)), 10)
            children = _descendants(proc.pid)  # the watchdog, pgbench, pg_ctl, ...
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        while (line := lines.get(timeout=10)) is not None:
            seen.append(line)
        assert f"{phase}: done" not in seen, "the kill came after the phase had ended"

        def nothing_left() -> bool:
            if still_running(servers) or still_running(children) or postgres_under(tmp):
                return False
            if _left_in(tmp):
                return False
            return not dsn or not set(scratch_databases(dsn)) - earlier  # the twins, a sweep's

        assert _wait_for(nothing_left, GONE_WITHIN), (
            still_running(servers), still_running(children), _left_in(tmp),
            dsn and scratch_databases(dsn))
        # and `cleanup` finds nothing of this run either
        listed = run_cli("cleanup", *(["--dsn", dsn] if dsn else []),
                         env=clean_env(TMPDIR=str(tmp)))
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith("0 embedded server folder(s)"), listed.stdout
        assert name not in listed.stdout


def test_the_next_run_removes_a_dead_runs_folder_and_nothing_else(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with private_tmpdir() as tmp:
        monkeypatch.setattr("tempfile.tempdir", str(tmp))
        dead, alive, unmarked, kept = (tmp / f"pgindexbench-{n}"
                                       for n in ("dead", "alive", "unmarked", "kept"))
        for folder in (dead, alive, unmarked, kept):
            (folder / "data").mkdir(parents=True)
            (folder / "data" / "PG_VERSION").write_text("18\n")
        (dead / leftovers.MARKER).write_text(json.dumps({"pid": _dead_pid(), "started": 1.0}))
        leftovers.write_marker(alive)  # this process's: a run still going
        (kept / leftovers.MARKER).write_text(json.dumps({"pid": _dead_pid(), "started": 1.0,
                                                         "kept": True}))  # --keep
        assert [f.name for f in leftovers.dead_folders()] == [str(dead)]
        assert [f.name for f in leftovers.dead_folders(kept=True)] == [str(dead), str(kept)]

        with embedded_server():
            pass
        assert not dead.exists()
        assert sorted(p.name for p in tmp.glob("pgindexbench-*")) == [
            alive.name, kept.name, unmarked.name]
        assert "removed 1 embedded server folder(s) that an earlier run left" in \
            capsys.readouterr().err


def _create(admin: str, name: str, note: str | None) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if note is not None:
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(note)))


def test_cleanup_drops_only_marked_scratch_databases_nobody_uses(
        pg_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    host = socket.gethostname()
    dead = f"{leftovers.COMMENT} (pid {_dead_pid()} on {host}, 2026-01-01 00:00:00)"
    names = {
        "pgindexbench_left_dead": dead,
        "pgindexbench_left_elsewhere": f"{leftovers.COMMENT} (pid 1 on another-host, x)",
        "pgindexbench_left_unmarked": None,
        "pgindexbench_left_busy": dead,
        "pgindexbench_left_running": f"{leftovers.COMMENT} (pid {os.getpid()} on {host}, x)",
    }
    for name, note in names.items():
        _create(pg_server, name, note)
    busy = psycopg.connect(pg_server.replace("/postgres?", "/pgindexbench_left_busy?"))
    try:
        _warn_about_databases(pg_server)
        warning = capsys.readouterr().err.strip()
        assert warning.startswith("warning: 3 scratch database(s) of earlier runs"), warning
        assert warning.endswith("python -m bench cleanup --dsn URL")

        dry = run_cli("cleanup", "--dsn", pg_server, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "pgindexbench_left_busy: in use (open connections): would keep" in dry.stdout
        assert database_exists(pg_server, "pgindexbench_left_dead")

        done = run_cli("cleanup", "--dsn", pg_server)
        assert done.returncode == 0, done.stderr
        assert "pgindexbench_left_dead: dropped" in done.stdout
        assert "pgindexbench_left_busy: kept: in use" in done.stdout
        assert "unmarked" not in done.stdout and "running" not in done.stdout
        assert not database_exists(pg_server, "pgindexbench_left_dead")
        assert not database_exists(pg_server, "pgindexbench_left_elsewhere")
        for kept in ("unmarked", "busy", "running"):
            assert database_exists(pg_server, f"pgindexbench_left_{kept}")
    finally:
        busy.close()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            for name in names:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
