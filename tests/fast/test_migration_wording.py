"""A migration that drops indexes, or replaces one, is reported in its own words (indexes
dropped, disk freed, writes cheaper), and a .sql migration is split as the server reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import MigrationError
from bench.report import markdown, per_index
from bench.results.model import DroppedIndex, Method, MigrationRecord, RunResults, TableBytes
from bench.runner import disk, sql_statements
from bench.runner.catalog import IndexInfo
from tests.fast.results_factory import results_doc

MB = 1_000_000
SIZES = {"child": TableBytes(table_bytes=40 * MB, index_bytes=10 * MB),
         "parent": TableBytes(table_bytes=8 * MB, index_bytes=2 * MB)}


def _run(created: list[str], dropped: list[str], *, down_skipped: str | None = None,
         write_cost: float = 0.9) -> RunResults:
    writes = {"insert:child": 10.0, "update:child": 12.0}
    results = results_doc(writes=writes, write_cost=dict.fromkeys(writes, write_cost))
    results.config.migration = "013_indexes.sql"
    results.method = Method()
    for q in results.queries:
        q.claimed = None
        for phase in (q.before, q.after):
            if phase is not None:
                phase.cv = 0.03
    assert results.writes
    for w in results.writes.workloads:
        w.claimed_pct = None
    gone = [DroppedIndex(name=n, table="child", size_bytes=3 * MB, drop_seconds=0.004,
                         definition=f"CREATE INDEX {n} ON public.child (x)") for n in dropped]
    results.migration = MigrationRecord(
        revision="013_indexes", direction="upgrade", seconds=0.2, indexes=created,
        index_count=len(created), form="sql", created=created, dropped=dropped,
        dropped_indexes=gone, transactional=True,
        index_counts_before={"child": 3, "parent": 1},
        index_counts_after={"child": 3 + len(created) - len(dropped), "parent": 1})
    after = [IndexInfo("child", n, f"CREATE INDEX {n} ON public.child (y)", 2 * MB)
             for n in created]
    results.disk = disk.index_costs(SIZES, SIZES, after, created, [], None, gone)
    results.migration_down = MigrationRecord(
        revision="013_indexes", direction="downgrade", seconds=0.0, indexes=[], index_count=0,
        form="sql", created=[] if down_skipped else dropped, dropped=[],
        skipped=down_skipped)
    return results


def _render(results: RunResults) -> str:
    """The parts of report.md that speak of the migration (the whole report needs a real
    run's every figure; tests/fast/test_golden.py renders those)."""
    return "\n".join(markdown.cost_headline(results) + per_index.hint(results)
                     + markdown.migration_section(results) + markdown.disk_section(results))


def test_drop_only_migration_speaks_of_dropped_indexes_and_freed_disk() -> None:
    results = _run([], ["ix_child_kind", "ix_child_created_at"],
                   down_skipped="013_indexes.sql has no downgrade")
    text = _render(results)
    assert "new indexes" not in text
    assert "0 indexes" not in text and "of the 0" not in text
    assert "**Disk: -10%** (6.0 MB freed by the 2 indexes dropped)" in text
    assert "without the dropped indexes: cheaper." in text
    assert "dropped **2 indexes** (`ix_child_kind`, `ix_child_created_at`)" in text
    assert "No downgrade ran (013_indexes.sql has no downgrade)" in text
    assert "The 2 indexes dropped took **6.0 MB**, freed on disk" in text
    assert "The two tables with their indexes shrink from 60.0 MB to 54.0 MB" in text
    assert "| `ix_child_kind` | `child` | 3.0 MB | 4 ms |" in text
    assert "| `child` | 3 | 1 | -2 |" in text
    assert "--per-index" not in text  # per index weighs created indexes: there are none


def test_replace_one_index_reports_both_sides_net() -> None:
    results = _run(["ix_child_kind_created"], ["ix_child_kind"], write_cost=1.0)
    text = _render(results)
    assert ("created **1 index** and dropped **1 index** (`ix_child_kind`)") in text
    assert "**Disk: -1.7%** net (2.0 MB of new indexes, 3.0 MB freed by the dropped ones)" in text
    assert "with the migration's new indexes and without its dropped ones" in text
    assert "The 1 new index takes **2.0 MB**, built in 0.0 s; the 1 index dropped took" in text
    assert "| `ix_child_kind_created` | `child` | 2.0 MB |" in text
    assert "| Dropped index | Table | Size freed | Drop time |" in text
    assert "| `child` | 3 | 3 | +0 |" in text
    assert "which of the 1 new indexes" in text
    assert "The downgrade reverted it (verified)." in text


def test_create_only_without_downgrade_does_not_claim_one_ran() -> None:
    results = _run(["ix_a", "ix_b"], [], down_skipped="013_indexes.sql has no downgrade",
                   write_cost=1.05)
    text = _render(results)
    assert "with the new indexes." in text and "(4.0 MB of new indexes)" in text
    assert "removed them again" not in text and "No downgrade ran" in text


def test_invalid_index_and_autocommit_are_reported() -> None:
    results = _run(["ix_a"], [])
    assert results.migration
    results.migration.transactional = False
    results.migration.invalid_indexes = ["ix_a"]
    text = _render(results)
    assert "ran in autocommit, each on its own" in text
    assert "**INVALID after the migration**: `ix_a`" in text


# --- splitting ----------------------------------------------------------------------------------


def test_split_follows_the_servers_rules(tmp_path: Path) -> None:
    path = tmp_path / "020.sql"
    path.write_text(
        "-- a comment; with a semicolon\n"
        "CREATE INDEX CONCURRENTLY ix_a ON t (a);\n"
        "SELECT 'x;y', $tag$ ; $tag$;  /* ; */\n"
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
        "BEGIN;\nVACUUM t;\nANALYZE t;\nREINDEX INDEX CONCURRENTLY ix_a;\n"
        "DROP INDEX public.ix_b, ix_c;\nCOMMIT;\n"
        "-- migrate:down\n"
        "DROP INDEX CONCURRENTLY ix_a;\n")
    m = sql_statements.load(path)
    kinds = [(s.line, s.action, s.indexes, s.transactional) for s in m.up
             if not s.transaction_control]
    assert kinds == [
        (2, "create", ("ix_a",), False),
        (3, "other", (), True),
        (4, "other", (), True),
        (6, "other", (), False),  # VACUUM
        (7, "other", (), True),  # ANALYZE may run in a transaction
        (8, "other", (), False),  # REINDEX CONCURRENTLY
        (9, "drop", ("ix_b", "ix_c"), True),
    ]
    assert m.up[0].sql == "CREATE INDEX CONCURRENTLY ix_a ON t (a)"
    assert m.down is not None and [(s.line, s.action) for s in m.down] == [(12, "drop")]


def test_no_down_section_and_no_down_file(tmp_path: Path) -> None:
    path = tmp_path / "021.sql"
    path.write_text("CREATE INDEX ix_a ON t (a)")
    assert sql_statements.load(path).down is None
    (tmp_path / "021.down.sql").write_text("DROP INDEX ix_a;")
    m = sql_statements.load(path)
    assert m.down is not None and m.down_path == tmp_path / "021.down.sql"


@pytest.mark.parametrize(("text", "expected"), [
    ("CREATE INDEX a ON t (x);\nCREATE INDX b ON t (y);", "line 2: syntax error"),
    ("-- nothing but a comment\n", "no SQL statement to run"),
    ("CREATE INDEX a ON t (x); ROLLBACK;", "only BEGIN and COMMIT"),
])
def test_bad_sql_migration_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "022.sql"
    path.write_text(text)
    with pytest.raises(MigrationError) as err:
        sql_statements.load(path)
    assert expected in str(err.value) and "\n" not in str(err.value)
