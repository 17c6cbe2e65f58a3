"""Pure parts of `bench deploy` beside the stall arithmetic: the CONCURRENTLY revision derived
from the migration (Alembic's offline mode, no database), pgbench queries from shape files, the
options, the ABBA order, the size fit, and deploy.md from a saved deploy.json (no database)."""

from __future__ import annotations

import ast
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bench.cli import main
from bench.deploy_config import DeployConfig
from bench.errors import ConfigError, MigrationError, ResultsError
from bench.report.deploy import CHARTS, load, recommendation, render
from bench.results.deploy import SweepPoint
from bench.runner.deploy import concurrently
from bench.runner.deploy.job import fit_sweep
from bench.runner.deploy.throughput import order
from bench.runner.deploy.traffic import pgbench_query
from tests.sales_agent import APP, MIGRATION_FILE


def test_every_index_of_007_becomes_a_concurrent_build() -> None:
    creates = concurrently.create_statements(MIGRATION_FILE)
    assert len(creates) == 19
    name, table, ddl = creates[0]
    assert (name, table) == ("ix_social_media_activity_lead_id", "social_media_activity")
    assert ddl == ("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_social_media_activity_lead_id "
                   "ON social_media_activity (lead_id)")
    partial = next(d for n, _t, d in creates if n == "ix_leads_score_created")
    assert partial.endswith("(qualification_score DESC, created_at DESC) "
                            "WHERE qualification_score IS NOT NULL")
    drops = concurrently.drop_statements(MIGRATION_FILE)
    assert drops[0] == "DROP INDEX CONCURRENTLY IF EXISTS ix_voice_sessions_status_created"
    assert len(drops) == 19


def test_the_revision_file_is_a_valid_alembic_revision(tmp_path: Path) -> None:
    path = concurrently.write_revision(MIGRATION_FILE, tmp_path)
    assert path.name == "007_add_comprehensive_database_indexes_concurrently.py"
    source = path.read_text()
    ast.parse(source)
    assert "revision = '007_comprehensive_indexes'" in source
    assert "down_revision = '006_add_voice_session_logs'" in source
    assert "autocommit_block()" in source and "DROP INDEX CONCURRENTLY" in source
    # Alembic renders it offline too (alembic upgrade --sql): every build on its own.
    statements = concurrently.offline_sql(path, "upgrade")
    builds = [s for s in statements if s.startswith("CREATE INDEX CONCURRENTLY")]
    assert len(builds) == 19
    assert concurrently.create_statements(path) == concurrently.create_statements(MIGRATION_FILE)


def test_a_migration_that_does_more_than_indexes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "008_add_column.py"
    path.write_text(
        "import sqlalchemy as sa\nfrom alembic import op\nrevision = '008'\n"
        "down_revision = '007'\n"
        "def upgrade():\n    op.add_column('leads', sa.Column('x', sa.Integer()))\n"
        "    op.create_index('ix_leads_x', 'leads', ['x'])\n"
        "def downgrade():\n    op.drop_index('ix_leads_x', table_name='leads')\n")
    with pytest.raises(MigrationError, match=r"008_add_column.py: CONCURRENTLY can be derived "
                                             r"only .*ALTER TABLE leads ADD COLUMN x INTEGER"):
        concurrently.create_statements(path)


def test_shape_parameters_become_typed_pgbench_variables() -> None:
    query = "SELECT * FROM t WHERE a >= :day AND a < :day + interval '1 day' AND b::text = :b"
    assert pgbench_query(query, {"day": "timestamp with time zone", "b": "text"}) == (
        "SELECT * FROM t WHERE a >= CAST(:day AS timestamp with time zone) AND a < "
        "CAST(:day AS timestamp with time zone) + interval '1 day' AND b::text = "
        "CAST(:b AS text)")
    assert pgbench_query("SELECT :days, x::day", {"day": "date"}) == "SELECT :days, x::day"


def test_runs_alternate_in_abba_order() -> None:
    assert order(0, 2) == ["without", "with", "with", "without"]
    assert order(1, 2) == ["with", "without", "without", "with"]
    assert order(0, 1) == ["without", "with"]


def test_the_stall_is_extrapolated_along_the_fit() -> None:
    points = [SweepPoint(scale=s, rows=int(2e6 * s), migration_seconds=4.0 * s,
                         longest_stall_ms=4000.0 * s) for s in (0.1, 0.3, 1.0)]
    sweep = fit_sweep(points, at_scale=10)
    assert sweep.at_rows == 20_000_000
    assert sweep.migration_fit is not None and sweep.migration_fit[1] == pytest.approx(1.0)
    assert sweep.predicted_migration_s == pytest.approx(40.0)
    assert sweep.predicted_stall_ms == pytest.approx(40_000.0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"clients": (0, 2)}, "--clients must be whole numbers from 1 to 64 (got 0,2)"),
    ({"lead_s": 0.1}, "--lead must be from 0.5 to 600 seconds (got 0.1)"),
    ({"sweep_scales": (0.0,)}, "every scale in --sweep must be above 0"),
    ({"app": replace(APP, mix=Path("/nonexistent.toml"))},
     "workload mix not found: /nonexistent.toml"),
    ({"lock_timeout_ms": 0}, "--lock-timeout must be from 1 to 600000 ms (got 0)"),
])
def test_bad_options_are_one_clear_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        DeployConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_clients_on_the_command_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--clients", "1,two"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --clients must be whole numbers separated by commas (got '1,two')")


FIXTURES = Path(__file__).parent / "fixtures"


def test_deploy_md_is_reproduced_byte_for_byte() -> None:
    """deploy-small.json and .md are a real run (scale 0.05): rendering it again gives the
    same bytes."""
    results = load(FIXTURES / "deploy-small.json")
    assert render(results) == (FIXTURES / "deploy-small.md").read_text()


def test_the_recommendation_names_the_table_the_stall_and_the_alternative() -> None:
    results = load(FIXTURES / "deploy-small.json")
    line = recommendation(results)
    assert line.startswith("Deploy with CREATE INDEX CONCURRENTLY "
                           "(007_add_comprehensive_database_indexes_concurrently.py): as "
                           "written, writes to social_media_activity wait up to ")
    assert "at scale 0.05 (100,000 rows)" in line and "concurrently, at most" in line


def test_a_foreign_file_is_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "deploy.json").write_text('{"kind": "deploy", "config": 3}')
    with pytest.raises(ResultsError, match=r"deploy.json: not a deploy.json of pg-index-bench: "):
        load(tmp_path)


def test_the_report_command_redraws_a_deploy_folder(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "deploy-small.json", tmp_path / "deploy.json")
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "deploy.md").read_text() == (FIXTURES / "deploy-small.md").read_text()
    for name in CHARTS:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
