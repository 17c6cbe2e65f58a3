"""What earlier runs left behind, found only where it is provably the harness's own.

An embedded server's folder is `pgindexbench-*` in the temp dir and holds MARKER, naming the
harness process that made it; it is a leftover once that process is gone. A scratch database on
a server is named `pgindexbench_*` AND carries COMMENT (set when it is created); it is a
leftover unless its comment names a live process on this host. A database anyone is connected
to is never dropped (plain DROP DATABASE, which the server refuses then).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

MARKER = "pgindexbench-run.json"
COMMENT = "pg-index-bench scratch database"
_MADE_BY = re.compile(r"\(pid (\d+) on (\S+),")


@dataclass(frozen=True)
class Leftover:
    name: str  # a folder or a database
    size_bytes: int | None
    in_use: bool = False  # a database with open connections


def _me() -> dict[str, object]:
    return {"pid": os.getpid(), "started": psutil.Process().create_time(),
            "host": socket.gethostname()}


def write_marker(workdir: Path, kept: bool = False) -> None:
    """`kept`: --keep asked for it, so the next run leaves it (`cleanup` removes it)."""
    (workdir / MARKER).write_text(json.dumps({**_me(), "kept": kept}))


def comment() -> str:
    """The comment that marks a scratch database as the harness's."""
    return f"{COMMENT} (pid {os.getpid()} on {socket.gethostname()}, " \
           f"{time.strftime('%Y-%m-%d %H:%M:%S')}); drop it with: python -m bench cleanup"


def _alive(pid: int, started: float | None = None) -> bool:
    try:
        proc = psutil.Process(pid)
        return started is None or abs(proc.create_time() - started) < 1
    except psutil.Error:
        return False


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for f in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


# --- embedded servers' folders -----------------------------------------------------------------


def dead_folders(tmp: Path | None = None, kept: bool = False) -> list[Leftover]:
    """Folders of embedded servers whose harness process has gone (with `kept`, also those
    that --keep kept)."""
    found = []
    for folder in sorted(Path(tmp or tempfile.gettempdir()).glob("pgindexbench-*")):
        try:
            made = json.loads((folder / MARKER).read_text())
            pid, started = int(made["pid"]), float(made["started"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not provably ours (or not a folder)
        if not _alive(pid, started) and (kept or not made.get("kept")):
            found.append(Leftover(str(folder), _size(folder)))
    return found


def scratch_folder(kind: str) -> Path:
    """A folder for the run's own files (pgbench's scripts and logs) in the temp dir, marked as
    an embedded server's is and watched: removed also when the harness is killed, and found by
    the next run and by `cleanup` if even the watchdog could not remove it."""
    from bench.runner import watchdog

    folder = Path(tempfile.mkdtemp(prefix=f"pgindexbench-{kind}-")).resolve()
    write_marker(folder)
    watchdog.watch_folder(folder)
    return folder


def remove_scratch_folder(folder: Path) -> None:
    from bench.runner import watchdog

    shutil.rmtree(folder, ignore_errors=True)
    watchdog.forget(folder)


def remove_folder(folder: Path) -> None:
    """Stop any postgres still running on it, then delete it."""
    from bench.runner.provision import _stop_strays

    _stop_strays(folder / "data")
    shutil.rmtree(folder, ignore_errors=True)


# --- scratch databases on a server -------------------------------------------------------------


def scratch_databases(server_conninfo: str) -> list[Leftover]:
    """The harness's scratch databases on the server that no live run on this host owns."""
    with psycopg.connect(server_conninfo, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute(
            r"""SELECT d.datname, shobj_description(d.oid, 'pg_database'),
                       CASE WHEN has_database_privilege(d.oid, 'CONNECT')
                            THEN pg_database_size(d.oid) END,
                       EXISTS (SELECT FROM pg_stat_activity a WHERE a.datid = d.oid)
                FROM pg_database d WHERE d.datname LIKE 'pgindexbench\_%' ORDER BY 1"""
        ).fetchall()
    host = socket.gethostname()
    found = []
    for name, note, size, in_use in rows:
        if not (note or "").startswith(COMMENT):
            continue  # named like ours, but nothing proves it
        made = _MADE_BY.search(note)
        if made and made.group(2) == host and _alive(int(made.group(1))):
            continue  # a run still going
        found.append(Leftover(name, size, bool(in_use)))
    return found


def drop_database(server_conninfo: str, name: str) -> str | None:
    """Drop it unless someone is connected; None if dropped, else why not."""
    assert name.startswith("pgindexbench_")
    try:
        with psycopg.connect(server_conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.ObjectInUse:
        return "in use (open connections)"
    except psycopg.Error as exc:
        from bench.errors import first_line
        from bench.runner.provision import mask

        return mask(first_line(exc), server_conninfo)
    return None


def megabytes(items: list[Leftover]) -> str:
    return f"{sum(i.size_bytes or 0 for i in items) / 1e6:,.0f} MB"
