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
from alembic.script import ScriptDirectory
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


def upgrade_to_base_of(target: Target, app: App) -> str:
    """Upgrade `target` to the migration's down revision(s); the revision(s) it reached."""
    cfg = config_for(Path(app.schema), target.sqlalchemy_url())
    script = ScriptDirectory.from_config(cfg)
    try:
        revision = _revision(script, app.migration)
        down = tuple(script.get_revision(revision)._versioned_down_revisions)
    except CommandError as exc:
        raise ConfigError(f"{app.schema}: {first_line(exc)}") from None
    engine = sa.create_engine(target.sqlalchemy_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            for base in down:
                command.upgrade(cfg, base)
    except CommandError as exc:
        raise ConfigError(f"{app.schema}: {first_line(exc)}") from None
    except sa.exc.DBAPIError as exc:
        raise ConfigError(f"{app.schema}: upgrading to {', '.join(down)} failed: "
                          f"{first_line(exc.orig or exc)}") from None
    finally:
        engine.dispose()
    return ", ".join(down) or "base (no tables before the migration)"


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
