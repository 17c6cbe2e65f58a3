"""Write overhead and disk cost, measured for real on the embedded server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bench.config import RunConfig
from bench.results.claims import load_for
from bench.results.model import DiskSection, WriteSection, WriteWorkload
from bench.runner import catalog, disk
from bench.runner.migrate import apply
from bench.runner.provision import Target, scratch_database, twin_database
from bench.runner.seeding import seed_database
from seed.models import TABLES
from tests.sales_agent import MIGRATION_FILE, write_bench

CLAIMS = load_for(MIGRATION_FILE)
assert CLAIMS is not None
Measured = tuple[WriteSection, DiskSection, dict[str, int], Target]


def _counts(target: Target) -> dict[str, int]:
    with target.connect() as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture(scope="module")
def measured(pg_server: str) -> Iterator[Measured]:
    """Seed, copy into a twin, measure writes on both (A/A), migrate the twin, measure both
    side by side (A/B); keep the twins."""
    with scratch_database(pg_server, "embedded") as target:
        cfg = RunConfig(scale=0.01, seed=3, progress=False)
        seed_database(target, cfg, echo=lambda _line: None)
        counts_seeded = _counts(target)
        with target.connect() as conn:
            sizes_before = catalog.table_sizes(conn, TABLES)
        with target.connect(autocommit=True) as conn:
            bench = write_bench(target, conn, seed=3, rounds=4, warmup=1)
        with twin_database(target) as twin:
            conninfo = {"A": target.conninfo, "B": twin.conninfo}
            bench.measure_pair(conninfo, "aa", 4)
            assert _counts(target) == _counts(twin) == counts_seeded, \
                "the A/A block left rows behind"
            engine = sa.create_engine(twin.sqlalchemy_url(), poolclass=sa.pool.NullPool)
            try:
                mig = apply(engine, twin, cfg.migration, "upgrade")
            finally:
                engine.dispose()
            with twin.connect() as conn:
                costs = disk.index_costs(sizes_before, catalog.table_sizes(conn, TABLES),
                                         catalog.list_indexes(conn, TABLES), mig.indexes,
                                         mig.statements, CLAIMS.disk_growth_pct)
                # Straight from the server, at the same moment (the writes will grow them).
                sizes = {ix.name: conn.execute("SELECT pg_relation_size(%s::regclass)",
                                               (ix.name,)).fetchone()[0]
                         for ix in costs.created}
            bench.measure_pair(conninfo, "ab")
            assert _counts(target) == _counts(twin) == counts_seeded
            yield bench.section(CLAIMS.write_claim), costs, sizes, twin


def _workload(section: WriteSection, name: str) -> WriteWorkload:
    return next(w for w in section.workloads if w.name == name)


def test_every_workload_measured_in_both_phases(measured: Measured) -> None:
    section = measured[0]
    names = {w.name for w in section.workloads}
    assert {f"insert:{t}" for t in TABLES} <= names
    assert {"copy:social_media_activity", "copy:agent_executions", "update:leads",
            "update:agent_executions", "update:social_media_activity",
            "update:contact_social_profiles"} <= names
    for w in section.workloads:
        for p in (w.before, w.after):
            assert p is not None
            assert p.rounds == 4 and len(p.times_us_per_row) == 4
            assert p.median_us_per_row > 0 and p.rows_per_s and p.rows_per_s > 0
            assert p.wal_bytes_per_row > 0
        assert w.overhead_ci95 is not None
        lo, hi = w.overhead_ci95
        assert lo <= hi
        assert w.claimed_pct == CLAIMS.write_claim(w.operation)
        assert w.aa is not None and w.aa.rounds == 4


def test_more_wal_per_inserted_row_after_indexes(measured: Measured) -> None:
    w = _workload(measured[0], "insert:social_media_activity")  # gains 5 indexes
    assert w.before and w.after
    # One heap record plus one per index: 2 (heap + pkey) before, 7 after.
    assert w.before.wal_records_per_row == pytest.approx(2.0, abs=0.3)
    assert w.after.wal_records_per_row == pytest.approx(7.0, abs=0.3)
    assert w.after.wal_bytes_per_row > w.before.wal_bytes_per_row


def test_hot_updates_end_when_the_updated_column_gets_indexed(measured: Measured) -> None:
    w = _workload(measured[0], "update:leads")  # SET updated_at; ix_leads_updated_at is new
    assert w.before and w.after and w.before.hot_pct is not None
    assert w.before.hot_pct > 20
    assert w.after.hot_pct == pytest.approx(0.0, abs=1.0)


def test_sizes_agree_with_pg_relation_size(measured: Measured) -> None:
    _, costs, sizes, _ = measured
    assert len(costs.created) == 19
    for ix in costs.created:
        assert ix.size_bytes == sizes[ix.name], ix.name
        assert ix.build_seconds and ix.build_seconds > 0
    assert costs.new_index_bytes == sum(ix.size_bytes for ix in costs.created)
    assert costs.growth_pct == pytest.approx(100 * costs.new_index_bytes / costs.total_before_bytes)
    assert costs.claimed_growth_pct == (10.0, 15.0)
