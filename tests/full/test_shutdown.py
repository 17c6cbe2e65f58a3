"""Ctrl-C or SIGTERM in any phase: server stopped, scratch database dropped, partial results kept.

Each case starts the real command line, waits for the phase's progress line on stderr, sends
the signal, and then checks what is left: exit code 130, results.json marked incomplete, no
postgres process of that run (found by its data directory under the run's own TMPDIR, so other
servers on the machine do not count), no data directory, and on --dsn no scratch database.
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
import tomllib
from pathlib import Path

import pytest
from cli_support import (
    FAST,
    MIGRATION_007,
    NO_WRITES,
    QUERIES,
    REPO,
    clean_env,
    database_exists,
    postgres_under,
    private_tmpdir,
    scratch_name,
    still_running,
)

PHASE_TIMEOUT = 180  # seconds to reach the phase (a loaded machine seeds slowly)


def _slow_queries(folder: Path, seconds: float = 2) -> Path:
    """The six shapes plus one that sleeps, so the measuring phase lasts a few seconds."""
    folder.mkdir()
    for f in QUERIES.glob("*.sql"):
        (folder / f.name).write_text(f.read_text())
    (folder / "slow.sql").write_text(f"-- report_row: a slow query\nSELECT pg_sleep({seconds:g})\n")
    return folder


def _slow_migration(path: Path) -> Path:
    """Migration 007 whose upgrade() ends with a long statement, so migrating lasts a while."""
    source = MIGRATION_007.read_text()
    anchor = "\n\ndef downgrade() -> None:"
    assert anchor in source
    path.write_text(source.replace(anchor, '\n    op.execute("SELECT pg_sleep(60)")' + anchor))
    return path


def _slow_writes_project(folder: Path) -> Path:
    """The 007 project with one more write workload, an UPDATE that sleeps 0.2 s per row (50 rows
    a round), so a write phase lasts a while; a project file of its own names that folder."""
    writes = folder / "writes"
    writes.mkdir(parents=True)
    for f in (QUERIES / "writes").glob("*.sql"):
        (writes / f.name).write_text(f.read_text())
    (writes / "update_slow.sql").write_text(
        "-- table: leads\n-- name: update:slow\n-- rows: SELECT id FROM leads ORDER BY id\n"
        "UPDATE leads SET updated_at = clock_timestamp() "
        "WHERE id = :id AND (SELECT true FROM pg_sleep(0.2))\n")
    project = tomllib.loads((REPO / "pg-index-bench.toml").read_text())
    for key in ("migration", "queries", "mix"):
        project[key] = str(REPO / project[key])
    copies = ", ".join(f'"{t}"' for t in project["writes"]["copy_tables"])
    path = folder / "pg-index-bench.toml"
    path.write_text(
        "".join(f'{k} = "{project[k]}"\n' for k in ("schema", "migration", "queries", "mix"))
        + f'[data]\ngenerator = "{project["data"]["generator"]}"\n'
        + f'[writes]\nfolder = "{writes}"\ncopy_tables = [{copies}]\n')
    return path


WRITES = ["--write-rounds", "2"]  # after NO_WRITES: the last one counts


# (phase line to wait for, extra options) per phase of `run`; each holds its phase open for
# seconds (a shape, a write or a migration that sleeps), and skips what would come before it
# and take long (the A/A control before the later phases).
def _phase_args(phase: str, tmp_path: Path) -> list[str]:
    if phase == "seed":
        return ["--scale", "0.05"]  # seeding lasts about a second
    if phase == "noise floor (A/A): reads":
        return ["--queries", str(_slow_queries(tmp_path / "queries"))]
    if phase == "noise floor (A/A): writes":
        return [*WRITES, "--project", str(_slow_writes_project(tmp_path / "app"))]
    if phase == "measure before and after":
        return ["--aa-rounds", "0", "--queries", str(_slow_queries(tmp_path / "queries"))]
    if phase == "writes before and after":
        return ["--aa-rounds", "0", *WRITES,
                "--project", str(_slow_writes_project(tmp_path / "app"))]
    if phase.startswith("per index"):  # the slow shape in each index state, and in the set's
        return ["--aa-rounds", "0", "--per-index",  # reads
                "--queries", str(_slow_queries(tmp_path / "queries", seconds=0.3))]
    assert phase == "migrate up", phase
    return ["--migration", str(_slow_migration(tmp_path / "007_slow.py"))]


CASES = [
    ("seed", "SIGINT", "embedded"),
    ("seed", "SIGTERM", "dsn"),
    ("noise floor (A/A): reads", "SIGTERM", "embedded"),
    ("noise floor (A/A): reads", "SIGINT", "dsn"),
    ("migrate up", "SIGINT", "embedded"),
    ("migrate up", "SIGTERM", "dsn"),
]


@pytest.mark.parametrize(("phase", "signame", "source"), CASES)
def test_interrupt(phase: str, signame: str, source: str, tmp_path: Path,
                   request: pytest.FixtureRequest) -> None:
    dsn = request.getfixturevalue("pg_server") if source == "dsn" else None
    out = tmp_path / "out"
    args = [*FAST, *NO_WRITES, "--out", str(out), *_phase_args(phase, tmp_path)]
    if dsn:
        args += ["--dsn", dsn]
    with private_tmpdir() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "run", *args], cwd=REPO,
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
            servers = postgres_under(tmp)
            assert bool(servers) == (source == "embedded"), servers
            time.sleep(0.3)  # well inside the phase
            if signame == "SIGINT":  # Ctrl-C at a terminal signals the whole process group
                os.killpg(proc.pid, signal.SIGINT)
            else:
                proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            returncode = proc.wait(timeout=60)
            stopped_in = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        while (line := lines.get(timeout=10)) is not None:
            seen.append(line)
        stderr = "\n".join(seen)

        assert returncode == 130, stderr
        assert "Traceback" not in stderr
        assert f"{phase}: done" not in stderr, "the signal came after the phase had ended"
        assert seen[-1].startswith("interrupted: scratch database dropped"), stderr
        assert stopped_in < 30, f"took {stopped_in:.1f} s to stop"
        assert still_running(servers) == [], "the embedded server survived"
        assert postgres_under(tmp) == []
        assert not list(tmp.glob("pgindexbench-*")), "the data directory was left behind"

    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] is False
    assert "seed" in doc or phase == "seed"
    if phase == "migrate up":  # what was measured before the migration is kept
        assert doc["queries"] and all(q["aa"]["rounds"] > 0 for q in doc["queries"])
    if dsn:
        name = scratch_name(stderr)
        assert name and not database_exists(dsn, name)
        assert not database_exists(dsn, f"{name}_b"), "the twin database was left behind"
