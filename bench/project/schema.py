"""Build the app's schema, as it is before the migration, in a scratch database.

A schema source is one of:

* `package.module:Base` (or a MetaData): SQLAlchemy models, made with `metadata.create_all`;
* a `.sql` file such as `pg_dump --schema-only` output, run by psql (ON_ERROR_STOP);
* an `alembic.ini`: the project's own Alembic environment (its env.py, run the way Alembic runs
  it), upgraded to the migration's `down_revision`; our connection is handed to env.py the
  documented way (`config.attributes["connection"]`) and as `sqlalchemy.url`;
* a `postgresql://` URL: an existing database whose schema (only) is copied with pg_dump; the
  source is only read.

Afterwards the harness knows the tables from the catalog alone (bench/runner/catalog.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.errors import ConfigError, first_line
from bench.project.app import App
from bench.project.hooks import load_object
from bench.runner import client_tools
from bench.runner.provision import Target, redact

PSQL_TIMEOUT_S = 600


def kind(source: str) -> str:
    """What kind of source a schema string names."""
    if source.startswith(("postgresql://", "postgres://")) or (
            "=" in source and "dbname" in source):
        return "database"
    if source.endswith(".sql"):
        return "sql"
    if source.endswith(".ini"):
        return "alembic"
    return "metadata"


def build(target: Target, app: App) -> str:
    """Create the app's pre-migration schema in `target`; a line saying what was done."""
    source = app.schema
    what = kind(source)
    if what == "metadata":
        metadata = _metadata(source, app.root)
        engine = sa.create_engine(target.sqlalchemy_url(), poolclass=sa.pool.NullPool)
        try:
            metadata.create_all(engine)
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(f"schema {source}: cannot be created: "
                              f"{first_line(getattr(exc, 'orig', None) or exc)}") from None
        finally:
            engine.dispose()
        return f"SQLAlchemy metadata {source} ({len(metadata.tables)} tables)"
    if what == "sql":
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"schema file not found: {path}")
        run_sql_file(target, path)
        return f"SQL file {path.name}"
    if what == "alembic":
        from bench.project import alembic_project

        revision = alembic_project.upgrade_to_base_of(target, app)
        return f"Alembic project {Path(source).name}, upgraded to {revision}"
    copy_schema(source, target)
    return f"database {redact(source)} (schema only, read there)"


def _metadata(spec: str, root: Path) -> sa.MetaData:
    obj = load_object(spec, root, "schema")
    metadata = getattr(obj, "metadata", obj)
    if not isinstance(metadata, sa.MetaData):
        raise ConfigError(f"schema {spec!r}: neither a MetaData nor a declarative base "
                          f"(got {type(obj).__name__})")
    return metadata


def _client_env(conninfo: str) -> tuple[str, dict[str, str]]:
    """A conninfo without its password (visible in `ps`) and an environment that carries it."""
    params = conninfo_to_dict(conninfo)
    password = params.pop("password", None)
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def run_sql_file(target: Target, path: Path) -> None:
    """Run a SQL file in `target` with psql, stopping at the first error (one line: the file,
    the line and the server's message)."""
    conninfo, env = _client_env(target.conninfo)
    psql = client_tools.tool("psql", target.source)
    proc = subprocess.run(
        [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-f", str(path)],
        capture_output=True, text=True, env=env, timeout=PSQL_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln or "FATAL" in ln]
        detail = (errors or proc.stderr.strip().splitlines() or ["psql failed"])[0]
        raise ConfigError(f"{path}: {detail.removeprefix('psql:').strip()}")


def copy_schema(source: str, target: Target) -> None:
    """pg_dump --schema-only of `source` (read-only there), restored into `target`."""
    conninfo, env = _client_env(source)
    pg_dump = client_tools.dump_tool(_server_version(source))
    dump = subprocess.run(
        [str(pg_dump), "--schema-only", "--no-owner", "--no-privileges", "--no-publications",
         "--no-subscriptions", "-d", conninfo],
        capture_output=True, text=True, env=env, timeout=PSQL_TIMEOUT_S, check=False)
    if dump.returncode != 0:
        raise ConfigError(f"schema {redact(source)}: pg_dump failed: "
                          f"{first_line(RuntimeError(dump.stderr or 'no output'))}")
    target_conninfo, target_env = _client_env(target.conninfo)
    psql = client_tools.tool("psql", target.source)
    proc = subprocess.run(
        [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target_conninfo],
        input=_without_schema_public(dump.stdout), capture_output=True, text=True,
        env=target_env, timeout=PSQL_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise ConfigError(f"schema {redact(source)}: restoring it failed: "
                          f"{first_line(RuntimeError(proc.stderr or 'no output'))}")


def _server_version(source: str) -> int:
    """The source server's version (server_version_num), from the connection's handshake
    alone: nothing is run there."""
    try:
        with psycopg.connect(source, connect_timeout=10) as conn:
            return conn.info.server_version
    except psycopg.Error as exc:
        raise ConfigError(f"schema {redact(source)}: cannot connect: {first_line(exc)}") from None


def _without_schema_public(dump: str) -> str:
    """A dump made by a newer pg_dump may create schema public, which exists already."""
    return "\n".join(ln for ln in dump.splitlines()
                     if ln.strip() not in ("CREATE SCHEMA public;",))

