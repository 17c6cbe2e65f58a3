"""An app's own Alembic project: its alembic.ini and env.py, run the way Alembic runs them.

The schema before a migration is the project's history upgraded to the migration's
`down_revision`. Our connection goes to env.py the documented way (Alembic's cookbook, "Sharing
a Connection across one or more programmatic migration commands"):
`config.attributes["connection"]`; env.py files that build their own engine get our database
as `sqlalchemy.url` instead.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from bench.errors import ConfigError, first_line
from bench.project.app import App
from bench.runner.provision import Target


def config_for(ini: Path, url: str) -> Config:
    if not ini.is_file():
        raise ConfigError(f"alembic.ini not found: {ini}")
    cfg = Config(str(ini))
    # env.py runs with the ini's folder as the base of relative script_location paths.
    location = cfg.get_main_option("script_location")
    if location and not Path(location).is_absolute() and "%(here)s" not in location \
            and ":" not in location:
        cfg.set_main_option("script_location", str((ini.parent / location).resolve()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def script_for(ini: Path) -> ScriptDirectory:
    # The URL is not used to read the scripts.
    return ScriptDirectory.from_config(config_for(ini, "postgresql://"))


def locate(ini: Path, text: str) -> tuple[Path, tuple[str, str] | None]:
    """A revision id, or a range `A..B`, of the project: the file of the (last) revision, and
    the range (None for one revision)."""
    script = script_for(ini)
    base, sep, head = text.partition("..")
    try:
        if sep:
            if not base or not head:
                raise ConfigError(f"{ini}: migration range {text!r}: give it as A..B")
            first, last = _get(script, base, ini), _get(script, head, ini)
            # B must descend from A: walking down from B reaches A.
            list(script.iterate_revisions(last.revision, first.revision))
            if first.revision == last.revision:
                raise ConfigError(f"{ini}: migration range {text!r} is empty (A = B)")
            return Path(str(last.path)), (first.revision, last.revision)
        return Path(str(_get(script, text, ini).path)), None
    except (CommandError, RevisionError) as exc:
        raise ConfigError(f"{ini}: migration {text!r}: {first_line(exc)}") from None


def _get(script: ScriptDirectory, revision: str, ini: Path) -> Script:
    try:
        found = script.get_revision(revision)
    except CommandError as exc:
        raise ConfigError(f"{ini}: Alembic revision {revision!r}: {first_line(exc)}") from None
    if found is None:
        raise ConfigError(f"{ini}: Alembic revision {revision!r} not found in {script.dir}")
    return found


def migration_revisions(app: App) -> tuple[tuple[str, ...], str]:
    """(the revisions the schema is upgraded to before the migration, the migration's last
    revision): the migration's down revisions, or A of a range A..B."""
    script = script_for(Path(app.schema))
    try:
        if app.migration_range:
            base, head = app.migration_range
            return (base,), head
        revision = _revision(script, app.migration)
        return tuple(script.get_revision(revision)._versioned_down_revisions), revision
    except CommandError as exc:
        raise ConfigError(f"{app.schema}: {first_line(exc)}") from None


def upgrade_to_base_of(target: Target, app: App) -> str:
    """Upgrade `target` to the migration's down revision(s); the revision(s) it reached."""
    cfg = config_for(Path(app.schema), target.sqlalchemy_url())
    down, _head = migration_revisions(app)
    engine = sa.create_engine(target.sqlalchemy_url(), poolclass=sa.pool.NullPool)
    try:
        # A connection outside a transaction: env.py's context.begin_transaction() opens
        # Alembic's own, which an autocommit_block() in the history can commit and reopen.
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            for base in down:
                command.upgrade(cfg, base)
            conn.commit()
    except CommandError as exc:
        raise ConfigError(f"{app.schema}: {first_line(exc)}") from None
    except sa.exc.DBAPIError as exc:
        raise ConfigError(f"{app.schema}: upgrading to {', '.join(down)} failed: "
                          f"{first_line(exc.orig or exc)}") from None
    finally:
        engine.dispose()
    return ", ".join(down) or "base (no tables before the migration)"


def migrate(conn: sa.Connection, app: App, url: str, direction: str) -> None:
    """Run the migration through the app's own env.py on `conn`: upgrade to its (last)
    revision, or downgrade to where it started."""
    cfg = config_for(Path(app.schema), url)
    cfg.attributes["connection"] = conn
    down, head = migration_revisions(app)
    if direction == "upgrade":
        command.upgrade(cfg, head)
    else:
        for base in down or ("base",):
            command.downgrade(cfg, base)


def _revision(script: ScriptDirectory, migration: Path) -> str:
    """The revision id of a migration given as a file of the project, or as an id."""
    if migration.is_file():
        for rev in script.walk_revisions():
            if rev.path and Path(rev.path).resolve() == migration.resolve():
                return rev.revision
        raise ConfigError(f"{migration}: not a revision of the Alembic project "
                          f"{script.dir}")
    found = script.get_revision(migration.name)
    if found is None:
        raise ConfigError(f"Alembic revision {migration.name} not found in {script.dir}")
    return found.revision
