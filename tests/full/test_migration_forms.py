"""Every form a migration comes in, applied to a real embedded PostgreSQL: a .sql file (in one
transaction, and with CONCURRENTLY in autocommit), the revision `deploy` writes, a hand-written
Alembic revision with autocommit_block(), drop-only and replace-one migrations, failures half
way, and a small Alembic project (tests/apps/alembic_demo) by file, by id and by range."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.config import RunConfig
from bench.errors import ConfigError, MigrationError
from bench.project import app as project_app
from bench.project import schema as project_schema
from bench.runner import catalog, disk
from bench.runner.deploy.concurrently import write_revision
from bench.runner.migrate import apply
from bench.runner.provision import Target
from bench.runner.seeding import seed_database
from tests.sales_agent import MIGRATION_FILE

DEMO = Path(__file__).parents[1] / "apps" / "alembic_demo"

TINY_SCHEMA = """
CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent,
                    kind text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 1000) AS g;
INSERT INTO child SELECT g, 1 + g % 1000, CASE WHEN g % 3 = 0 THEN 'a' ELSE 'b' END,
                         now() - g * interval '1 minute' FROM generate_series(1, 20000) AS g;
CREATE INDEX ix_child_kind ON child (kind);
CREATE INDEX ix_child_created_at ON child (created_at);
ANALYZE;
"""

THREE_INDEXES = """\
-- 010: the foreign key and two filters get indexes; a comment; with a semicolon
CREATE INDEX ix_child_parent_id ON child (parent_id);
/* block comment; still a comment */
CREATE INDEX ix_parent_name ON parent (name)
  WHERE name <> 'x;y';
DO $body$ BEGIN RAISE NOTICE 'a DO block; with semicolons'; END $body$;
CREATE INDEX ix_child_kind_created ON child (kind, created_at DESC);
"""


@pytest.fixture
def tiny(scratch_db: Target) -> Target:
    with scratch_db.connect(autocommit=True) as conn:
        conn.execute(TINY_SCHEMA)
    return scratch_db


@pytest.fixture
def engine(scratch_db: Target) -> Iterator[sa.Engine]:
    e = sa.create_engine(scratch_db.sqlalchemy_url(), poolclass=sa.pool.NullPool)
    yield e
    e.dispose()


def _indexes(target: Target) -> dict[str, str]:
    with target.connect() as conn:
        return {i.name: i.definition
                for i in catalog.list_indexes(conn, catalog.app_tables(conn))}


def _invalid(target: Target) -> list[str]:
    with target.connect() as conn:
        return [r[0] for r in conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid").fetchall()]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# --- .sql files -------------------------------------------------------------------------------


def test_sql_file_of_three_create_index_lines(tiny: Target, engine: sa.Engine,
                                              tmp_path: Path) -> None:
    path = _write(tmp_path, "010_fk.sql", THREE_INDEXES)
    before = _indexes(tiny)
    up = apply(engine, tiny, path, "upgrade")
    new = {"ix_child_parent_id", "ix_parent_name", "ix_child_kind_created"}
    assert up.form == "sql" and up.transactional is True
    assert set(up.indexes) == set(up.created or []) == new and up.dropped == []
    assert set(_indexes(tiny)) == set(before) | new
    creates = [s for s in up.statements if s.action == "create"]
    assert [s.index for s in creates] == ["ix_child_parent_id", "ix_parent_name",
                                          "ix_child_kind_created"]
    assert all(s.seconds > 0 and s.transactional for s in creates)
    assert "WHERE name <> 'x;y'" in creates[1].sql
    assert [s.sql for s in up.statements if s.action == "other"] == [
        "DO $body$ BEGIN RAISE NOTICE 'a DO block; with semicolons'; END $body$"]
    assert up.index_counts_after["child"] - up.index_counts_before["child"] == 2
    # No downgrade: fine, recorded, nothing runs (the migrated twin is dropped anyway).
    down = apply(engine, tiny, path, "downgrade")
    assert down.skipped and "has no downgrade" in down.skipped
    assert down.indexes == [] and set(_indexes(tiny)) == set(before) | new


def test_sql_file_with_concurrently_runs_each_in_autocommit(tiny: Target, engine: sa.Engine,
                                                            tmp_path: Path) -> None:
    path = _write(tmp_path, "011_fk_concurrently.sql", """\
        SET lock_timeout = '5s';
        CREATE INDEX CONCURRENTLY ix_child_parent_id ON child (parent_id);
        CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_parent_name ON parent (name);
        CREATE INDEX CONCURRENTLY ix_child_kind_created ON child (kind, created_at);
        VACUUM (ANALYZE) child;
        -- down
        DROP INDEX CONCURRENTLY ix_child_kind_created;
        DROP INDEX CONCURRENTLY IF EXISTS ix_parent_name;
        DROP INDEX CONCURRENTLY ix_child_parent_id;
        """)
    before = _indexes(tiny)
    up = apply(engine, tiny, path, "upgrade")
    assert up.transactional is False and up.invalid_indexes == []
    assert set(up.indexes) == {"ix_child_parent_id", "ix_parent_name", "ix_child_kind_created"}
    creates = [s for s in up.statements if s.action == "create"]
    assert len(creates) == 3 and all(s.transactional is False and s.seconds > 0
                                     for s in creates)
    vacuum = next(s for s in up.statements if s.sql.startswith("VACUUM"))
    assert vacuum.transactional is False
    down = apply(engine, tiny, path, "downgrade")
    assert set(down.indexes) == set(up.indexes) and down.skipped is None
    assert _indexes(tiny) == before


def test_down_sql_beside_the_file(tiny: Target, engine: sa.Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "012_one.sql", "CREATE INDEX ix_child_parent_id ON child (parent_id)")
    _write(tmp_path, "012_one.down.sql", "DROP INDEX ix_child_parent_id;")
    before = _indexes(tiny)
    apply(engine, tiny, path, "upgrade")
    down = apply(engine, tiny, path, "downgrade")
    assert down.indexes == ["ix_child_parent_id"] and _indexes(tiny) == before


# --- drop and replace -------------------------------------------------------------------------


def test_drop_only_migration(tiny: Target, engine: sa.Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "013_drop_unused.sql", """\
        DROP INDEX ix_child_kind;
        DROP INDEX ix_child_created_at;
        -- down
        CREATE INDEX ix_child_kind ON child (kind);
        CREATE INDEX ix_child_created_at ON child (created_at);
        """)
    with tiny.connect() as conn:
        sizes_before = catalog.table_sizes(conn, catalog.app_tables(conn))
    up = apply(engine, tiny, path, "upgrade")
    assert up.created == [] and up.indexes == []
    assert up.dropped == ["ix_child_created_at", "ix_child_kind"]
    sizes = {d.name: d.size_bytes for d in up.dropped_indexes}
    assert set(sizes) == set(up.dropped) and all(s > 0 for s in sizes.values())
    assert all(d.table == "child" and d.drop_seconds is not None for d in up.dropped_indexes)
    assert up.index_counts_before["child"] - up.index_counts_after["child"] == 2
    with tiny.connect() as conn:
        tables = catalog.app_tables(conn)
        section = disk.index_costs(sizes_before, catalog.table_sizes(conn, tables),
                                   catalog.list_indexes(conn, tables), up.indexes,
                                   up.statements, None, up.dropped_indexes)
    assert section.created == [] and section.new_index_bytes == 0
    assert section.freed_index_bytes == sum(sizes.values())
    assert section.growth_pct is not None and section.growth_pct < 0
    assert section.tables["child"].dropped_index_bytes == section.freed_index_bytes
    down = apply(engine, tiny, path, "downgrade")
    assert down.created == ["ix_child_created_at", "ix_child_kind"] and down.indexes == []


def test_replace_one_index_by_another(tiny: Target, engine: sa.Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "014_replace.sql", """\
        CREATE INDEX ix_child_kind_created ON child (kind, created_at);
        DROP INDEX ix_child_kind;
        """)
    up = apply(engine, tiny, path, "upgrade")
    assert up.created == ["ix_child_kind_created"] and up.dropped == ["ix_child_kind"]
    assert up.indexes == ["ix_child_kind_created"]
    assert [d.name for d in up.dropped_indexes] == ["ix_child_kind"]
    assert up.index_counts_before["child"] == up.index_counts_after["child"]


# --- failures half way --------------------------------------------------------------------------


def test_failing_transactional_sql_changes_nothing(tiny: Target, engine: sa.Engine,
                                                   tmp_path: Path) -> None:
    path = _write(tmp_path, "015_broken.sql", """\
        CREATE INDEX ix_child_parent_id ON child (parent_id);
        CREATE INDEX ix_child_nope ON child (no_such_column);
        CREATE INDEX ix_parent_name ON parent (name);
        """)
    before = _indexes(tiny)
    with pytest.raises(MigrationError) as err:
        apply(engine, tiny, path, "upgrade")
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith("015_broken.sql line 2 upgrade failed at `CREATE INDEX ix_child_nope")
    assert 'column "no_such_column" does not exist' in line
    assert line.endswith("(rolled back, nothing changed)")
    assert _indexes(tiny) == before


def test_failing_concurrent_build_says_what_it_left(tiny: Target, engine: sa.Engine,
                                                    tmp_path: Path) -> None:
    path = _write(tmp_path, "016_unique.sql", """\
        CREATE INDEX CONCURRENTLY ix_child_parent_id ON child (parent_id);
        CREATE UNIQUE INDEX CONCURRENTLY ux_child_kind ON child (kind);
        """)
    with pytest.raises(MigrationError) as err:
        apply(engine, tiny, path, "upgrade")
    line = str(err.value)
    assert "016_unique.sql line 2" in line and "could not create unique index" in line
    assert "not one transaction" in line
    assert "ux_child_kind (INVALID)" in line and "ix_child_parent_id" in line
    assert "the migrated twin is dropped anyway" in line
    assert _invalid(tiny) == ["ux_child_kind"]


def test_sql_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    from bench.runner.migrate import check

    path = _write(tmp_path, "017_typo.sql", "CREATE INDEX a ON t (x);\n\nCREATE INDX b ON t (y);\n")
    with pytest.raises(MigrationError, match=r"017_typo.sql: line 3: syntax error"):
        check(path)


# --- Alembic revisions ----------------------------------------------------------------------


def test_hand_written_revision_with_autocommit_block(tiny: Target, engine: sa.Engine,
                                                     tmp_path: Path) -> None:
    path = _write(tmp_path, "018_fk_concurrently.py", '''\
        """Index the foreign key without blocking writes."""
        from alembic import op

        revision = "018"
        down_revision = "017"


        def upgrade():
            op.execute("SET lock_timeout = '5s'")
            with op.get_context().autocommit_block():
                op.create_index("ix_child_parent_id", "child", ["parent_id"],
                                postgresql_concurrently=True)
                op.create_index("ix_parent_name", "parent", ["name"],
                                postgresql_concurrently=True)
            op.create_index("ix_child_kind_created", "child", ["kind", "created_at"])


        def downgrade():
            pass
        ''')
    before = _indexes(tiny)
    up = apply(engine, tiny, path, "upgrade")
    assert up.form == "alembic" and up.revision == "018" and up.transactional is False
    assert set(up.indexes) == {"ix_child_parent_id", "ix_parent_name", "ix_child_kind_created"}
    by_index = {s.index: s for s in up.statements if s.action == "create"}
    assert by_index["ix_child_parent_id"].transactional is False
    assert by_index["ix_parent_name"].transactional is False
    assert by_index["ix_child_kind_created"].transactional is True
    assert "CONCURRENTLY" in by_index["ix_parent_name"].sql
    assert up.invalid_indexes == []
    down = apply(engine, tiny, path, "downgrade")  # an empty downgrade() is fine
    assert down.skipped is None and down.indexes == []
    assert set(_indexes(tiny)) == set(before) | set(up.indexes)


def test_the_revision_deploy_writes_runs(scratch_db: Target, engine: sa.Engine,
                                         tmp_path: Path) -> None:
    seed_database(scratch_db, RunConfig(scale=0.002, seed=1, progress=False),
                  echo=lambda _line: None)
    revision = write_revision(MIGRATION_FILE, tmp_path)
    before = _indexes(scratch_db)
    up = apply(engine, scratch_db, revision, "upgrade")
    assert up.index_count == 19 and up.transactional is False and up.invalid_indexes == []
    creates = [s for s in up.statements if s.action == "create"]
    assert len(creates) == 19
    assert all("CONCURRENTLY" in s.sql and s.transactional is False for s in creates)
    down = apply(engine, scratch_db, revision, "downgrade")
    assert down.index_count == 19 and _indexes(scratch_db) == before


# --- an app's own Alembic project ------------------------------------------------------------


def _demo_app(migration: str) -> project_app.App:
    return project_app.resolve(DEMO, schema="alembic.ini", migration=Path(migration),
                               queries=Path("queries"))


def test_alembic_project_revision_file(scratch_db: Target, engine: sa.Engine) -> None:
    app = project_app.resolve(DEMO)  # its project file: schema alembic.ini, migration 003
    assert app.schema == str(DEMO / "alembic.ini") and app.migration_range is None
    assert app.migration == DEMO / "versions" / "003_order_indexes.py"
    said = project_schema.build(scratch_db, app)
    assert "upgraded to 002" in said
    with scratch_db.connect() as conn:
        assert catalog.app_tables(conn) == ["customers", "orders"]
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'")}
        assert "status" in columns
        conn.execute("INSERT INTO customers (id, email) SELECT g, 'c' || g || '@x' "
                     "FROM generate_series(1, 100) AS g")
        conn.execute("INSERT INTO orders (id, customer_id, total_cents) "
                     "SELECT g, 1 + g % 100, g FROM generate_series(1, 2000) AS g")
        conn.commit()
    up = apply(engine, scratch_db, app, "upgrade")
    assert up.form == "alembic project" and up.revision == "003"
    assert up.indexes == ["ix_orders_customer_id", "ix_orders_status_created"]
    assert up.transactional is False and up.invalid_indexes == []
    assert {s.index for s in up.statements if s.action == "create"} == set(up.indexes)
    assert all("alembic_version" not in s.sql for s in up.statements)
    with scratch_db.connect() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("003",)
    down = apply(engine, scratch_db, app, "downgrade")
    assert set(down.indexes) == set(up.indexes)
    with scratch_db.connect() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("002",)


def test_alembic_project_revision_id_and_range(scratch_db: Target, engine: sa.Engine) -> None:
    by_id = _demo_app("003")
    assert by_id.migration == DEMO / "versions" / "003_order_indexes.py"
    app = _demo_app("001..003")
    assert app.migration_range == ("001", "003")
    assert app.migration == DEMO / "versions" / "003_order_indexes.py"
    assert "upgraded to 001" in project_schema.build(scratch_db, app)
    up = apply(engine, scratch_db, app, "upgrade")  # 001 -> 002 (a column) -> 003 (indexes)
    assert up.indexes == ["ix_orders_customer_id", "ix_orders_status_created"]
    assert any("ADD COLUMN status" in s.sql for s in up.statements if s.action == "other")
    down = apply(engine, scratch_db, app, "downgrade")
    assert set(down.indexes) == set(up.indexes)
    with scratch_db.connect() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("001",)


@pytest.mark.parametrize(("migration", "expected"), [
    ("999", "Alembic revision '999'"),
    ("001..999", "Alembic revision '999'"),
    ("003..001", "migration '003..001'"),
])
def test_alembic_revision_that_does_not_exist(migration: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        _demo_app(migration)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_cli_exits_2_on_a_revision_that_does_not_exist() -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--migration", "999"],
                          cwd=DEMO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "'999'" in lines[0]
