"""pgbench, the load driver: the binary that ships with the embedded server (or, on a --dsn
server, the one on PATH), run with the harness's scripts and per-transaction logs.

Two ways to run it: `run()` for a fixed number of seconds (throughput), and `Background` for a
load that runs until the harness stops it (during a migration, whose length nobody knows in
advance). Stopping terminates its server sessions (found by their application_name), so every
client ends and pgbench writes out its logs; a transaction cut short that way is not logged.

The connection string goes to pgbench through PGDATABASE, never on its command line (where
`ps` would show a password). Each pgbench is told to the watchdog, which kills it if the harness
dies first (kill -9): no load outlives the run.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from bench.errors import ServerError
from bench.results.pgbench_log import Txn, read_logs
from bench.runner import client_tools, watchdog
from bench.runner.provision import mask

PROTOCOL = "extended"  # unnamed statements, a custom plan per call, as the main run's EXPLAINs
STOP_TIMEOUT_S = 30.0
APP_PREFIX = "pgib-load-"


def binary(source: str) -> Path:
    """The embedded package's pgbench; on a --dsn server the one on PATH if there is one."""
    return client_tools.tool("pgbench", source)


def version(exe: Path) -> str:
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30,
                         check=False)
    return out.stdout.strip() or out.stderr.strip()


def _command(exe: Path, scripts: Sequence[tuple[Path, int]], clients: int, seconds: int,
             log_prefix: Path, seed: int, rate: float | None) -> list[str]:
    cmd = [str(exe), "--no-vacuum", "--protocol", PROTOCOL, "--client", str(clients),
           "--jobs", str(min(clients, 2)), "--time", str(seconds), "--log",
           f"--log-prefix={log_prefix}", f"--random-seed={seed}"]
    if rate:
        cmd += ["--rate", f"{rate:.3f}"]
    for path, weight in scripts:
        cmd += ["--file", f"{path}@{weight}"]
    return cmd


def _env(conninfo: str, app: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PGDATABASE=conninfo, PGAPPNAME=app)
    return env


def _logs(prefix: Path) -> list[Txn]:
    return read_logs(sorted(prefix.parent.glob(prefix.name + ".*")))


def _failure(stderr: str, conninfo: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        if "error" in line.lower() or "aborted" in line or "FATAL" in line:
            return mask(line, conninfo)
    return mask(lines[-1], conninfo) if lines else "no output"


def run(exe: Path, conninfo: str, scripts: Sequence[tuple[Path, int]], clients: int,
        seconds: int, workdir: Path, seed: int, tag: str) -> list[Txn]:
    """pgbench for `seconds` at full speed (no --rate); its transactions."""
    prefix = workdir / f"log-{tag}"
    with subprocess.Popen(_command(exe, scripts, clients, seconds, prefix, seed, None),
                          env=_env(conninfo, APP_PREFIX + tag), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        watchdog.watch_process(proc.pid)
        try:
            _out, err = proc.communicate(timeout=seconds + 120)
        finally:  # also on a timeout or Ctrl-C: the with block kills and reaps it
            if proc.poll() is None:
                proc.kill()
            watchdog.forget(proc.pid)
    if proc.returncode != 0:
        raise ServerError(f"pgbench failed ({tag}): {_failure(err, conninfo)}")
    return _logs(prefix)


class Background:
    """pgbench running at a fixed --rate until stop(); use as a context manager."""

    def __init__(self, exe: Path, conninfo: str, scripts: Sequence[tuple[Path, int]],
                 clients: int, rate: float, workdir: Path, seed: int, tag: str) -> None:
        self.conninfo = conninfo
        self.app = f"{APP_PREFIX}{tag}-{secrets.token_hex(3)}"
        self.prefix = workdir / f"log-{tag}"
        self.cmd = _command(exe, scripts, clients, 3600, self.prefix, seed, rate)
        self.clients = clients
        self.proc: subprocess.Popen[str] | None = None
        self.started_at = 0.0

    def __enter__(self) -> Background:
        self.started_at = time.time()
        self.proc = subprocess.Popen(self.cmd, env=_env(self.conninfo, self.app),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watchdog.watch_process(self.proc.pid)
        self._wait_connected()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with suppress(Exception):  # cleanup on the way out of an error: never mask it
                self._terminate()
        if self.proc is not None:
            watchdog.forget(self.proc.pid)

    def _sessions(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                           (self.app,)).fetchone()
        return int(row[0]) if row else 0

    def _wait_connected(self, timeout_s: float = 30.0) -> None:
        """Until all clients are connected (or pgbench has failed)."""
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while self._sessions(conn) < self.clients:
                self.check()
                if time.monotonic() > deadline:
                    self._terminate()
                    raise ServerError(f"pgbench did not connect its {self.clients} clients "
                                      f"within {timeout_s:g} s")
                time.sleep(0.02)
        self.started_at = time.time()

    def check(self) -> None:
        """Fail if pgbench has stopped on its own (a script error, a lost connection)."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            _out, err = self.proc.communicate()
            raise ServerError(f"pgbench stopped during the load: {_failure(err, self.conninfo)}")

    def stop(self) -> list[Txn]:
        """End the load: terminate its sessions, wait for pgbench, return its transactions."""
        self.check()
        self._terminate()
        return _logs(self.prefix)

    def _terminate(self) -> None:
        assert self.proc is not None
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = %s", (self.app,))
        try:
            self.proc.communicate(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise ServerError(f"pgbench did not stop within {STOP_TIMEOUT_S:g} s of its "
                              "sessions being terminated") from None
        finally:
            watchdog.forget(self.proc.pid)
