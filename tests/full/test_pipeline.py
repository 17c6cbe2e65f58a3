"""End to end on the embedded PostgreSQL: the run's outputs and what they must show."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.config import RunConfig
from bench.runner.run.pipeline import run
from tests.sales_agent import APP

FK_INDEXES = {"ix_social_media_activity_lead_id", "ix_contact_social_profiles_lead_id",
              "ix_organization_charts_lead_id"}
MIGRATION_007 = FK_INDEXES | {
    "ix_leads_qualified_at", "ix_leads_updated_at", "ix_agent_executions_started_at",
    "ix_agent_executions_completed_at", "ix_social_media_activity_posted_at",
    "ix_social_media_activity_scraped_at", "ix_social_media_activity_sentiment",
    "ix_contact_social_profiles_decision_maker_score",
    "ix_contact_social_profiles_contact_priority", "ix_voice_session_logs_completed_at",
    "ix_leads_score_created", "ix_agent_executions_status_created",
    "ix_agent_executions_lead_status", "ix_social_media_activity_platform_posted",
    "ix_contact_profiles_company_score", "ix_voice_sessions_status_created",
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("run")
    cfg = RunConfig(scale=0.02, seed=5, rounds=8, aa_rounds=6, warmup=1, write_rounds=4,
                    crosscheck_rounds=3, out=out, progress=False)
    run(cfg, echo=lambda _line: None)
    return json.loads((out / "results.json").read_text()), out


def test_outputs_exist(finished_run: tuple[dict[str, Any], Path]) -> None:
    doc, out = finished_run
    assert doc["complete"] is True
    assert (out / "report.md").read_text().startswith("# Index impact")
    png = (out / "query_latency.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_results_contract(finished_run: tuple[dict[str, Any], Path]) -> None:
    doc, _ = finished_run
    names = [q["name"] for q in doc["queries"]]
    assert sorted(names) == sorted(["fk_join", "timestamp_range", "composite_filter_sort",
                                    "simple_where", "platform_timeline",
                                    "top_contacts_per_company"])
    for q in doc["queries"]:
        for phase in ("before", "after"):
            p = q[phase]
            assert p["rounds"] == 8
            assert p["median_ms"] > 0 and p["p95_ms"] >= p["median_ms"]
            assert isinstance(p["indexes_used"], list)
            assert p["plan"]["Plan"]["Node Type"]
            assert len(p["times_ms"]) == 8
        # The typical per-round ratio: between the smallest and largest per-round ratio.
        ratios = [b / a for b, a in zip(q["before"]["times_ms"], q["after"]["times_ms"],
                                        strict=True)]
        assert min(ratios) <= q["speedup"] <= max(ratios)
        lo, hi = q["speedup_ci95"]
        assert lo <= q["speedup"] <= hi
        assert len(q["params"]) == 8
    env = doc["environment"]
    assert env["harness_version"] and env["python"] and "git_commit" in env
    settings = doc["server"]["settings"]
    assert settings["jit"] == "off"
    assert settings["max_parallel_workers_per_gather"] == "0"
    assert doc["server"]["version"].startswith("PostgreSQL")
    assert doc["config"]["scale"] == 0.02 and doc["config"]["seed"] == 5
    assert set(doc["migration"]["indexes"]) == MIGRATION_007
    assert doc["migration_down"]["index_count"] == 19
    assert doc["cache"]["pg_prewarm"] is True


def test_intervals_crosscheck_and_noise_floor(finished_run: tuple[dict[str, Any], Path]) -> None:
    doc, out = finished_run
    for q in doc["queries"]:
        for phase in ("before", "after"):
            p = q[phase]
            lo, hi = p["median_ci95_ms"]
            assert lo <= p["median_ms"] <= hi
            assert p["crosscheck"]["rounds"] == 3
            assert p["crosscheck"]["plain_client_median_ms"] > 0
        lo, hi = q["speedup_ci95"]
        assert lo <= q["speedup"] <= hi
        assert q["aa"]["rounds"] == 6 and len(q["aa"]["a_times"]) == 6
        assert q["aa"]["ci95"][0] <= q["aa"]["ratio"] <= q["aa"]["ci95"][1]
    for w in doc["writes"]["workloads"]:
        assert w["aa"]["rounds"] == 6 and w["before"]["rounds"] == 4
    assert doc["method"]["design"] == "twins" and doc["method"]["aa_read_rounds"] == 6
    text = (out / "report.md").read_text()
    assert "## Noise floor: the A/A control" in text and "ABBA" in text


def test_the_twins_share_statistics_and_only_one_is_migrated(
        finished_run: tuple[dict[str, Any], Path]) -> None:
    doc, _ = finished_run
    assert doc["migration"]["index_counts_before"] != doc["migration"]["index_counts_after"]
    for q in doc["queries"]:  # every round ran its parameter set on both twins
        assert q["before"]["rounds"] == q["after"]["rounds"] == len(q["params"])


def test_fk_join_gains_a_foreign_key_index_and_gets_faster(
    finished_run: tuple[dict[str, Any], Path],
) -> None:
    doc, _ = finished_run
    fk = next(q for q in doc["queries"] if q["name"] == "fk_join")
    assert not set(fk["before"]["indexes_used"]) & MIGRATION_007
    assert "Seq Scan" in fk["before"]["node_types"]
    assert set(fk["after"]["indexes_used"]) & FK_INDEXES
    assert fk["after"]["median_ms"] < fk["before"]["median_ms"]
    assert fk["verdict"] == "faster"


def test_same_parameters_before_and_after(finished_run: tuple[dict[str, Any], Path]) -> None:
    doc, _ = finished_run
    for q in doc["queries"]:
        # One parameter list serves both phases; it varies from round to round.
        assert len({json.dumps(p, sort_keys=True) for p in q["params"]}) > 1 or \
            q["name"] in {"composite_filter_sort", "simple_where", "platform_timeline"}


def test_report_names_claims_and_measurements(finished_run: tuple[dict[str, Any], Path]) -> None:
    doc, out = finished_run
    text = (out / "report.md").read_text()
    for q in doc["queries"]:
        assert f"`{q['name']}`" in text
        assert q["report_row"] in text
    assert "100x" in text  # the fk_join claim, shown as claimed
    assert "95%" in text
    assert "ix_social_media_activity_lead_id" in text


def test_another_migration_is_reported_as_itself(tmp_path: Path) -> None:
    """--migration other.py: the report names that migration and its index count, and shows
    no claims (it has no claims file); nothing in it mentions migration 007."""
    migration = tmp_path / "008_add_two_indexes.py"
    migration.write_text(
        'revision = "008_two"\n'
        "from alembic import op\n\n\n"
        "def upgrade() -> None:\n"
        '    op.create_index("ix_leads_updated_at", "leads", ["updated_at"])\n'
        '    op.create_index("ix_social_media_activity_lead_id", "social_media_activity",'
        ' ["lead_id"])\n\n\n'
        "def downgrade() -> None:\n"
        '    op.drop_index("ix_social_media_activity_lead_id", "social_media_activity")\n'
        '    op.drop_index("ix_leads_updated_at", "leads")\n')
    out = tmp_path / "out"
    cfg = RunConfig(scale=0.01, seed=5, rounds=4, aa_rounds=0, warmup=1, write_rounds=2,
                    crosscheck_rounds=0, out=out, app=replace(APP, migration=migration),
                    progress=False)
    results = run(cfg, echo=lambda _line: None)
    assert results.claims is None and results.migration and results.migration.index_count == 2
    text = (out / "report.md").read_text()
    assert text.startswith("# Index impact: migration 008, measured")
    assert "created **2 indexes**" in text
    for claimed in ("migration 007", "19 indexes", "+3–5%", "claimed", "Claimed", "no claim",
                    "the report says"):
        assert claimed not in text, claimed
