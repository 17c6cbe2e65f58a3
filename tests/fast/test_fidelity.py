"""The fidelity arithmetic (bench/results/fidelity.py) against hand-computed values, and the
generic generator shaped by a stats file: row counts, determinism, shares, fan-out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa

from bench.data.from_stats import cells_for, children_counts, column_model, pg_correlation
from bench.data.generic import GenericGenerator
from bench.data.strings import Text, materialize
from bench.results.fidelity import (
    compare,
    cumulative_share,
    distinct_ratio,
    headline,
    histogram_error,
    mcv_distance,
    q_error,
    rank_distance,
    shape_fidelity,
    with_shapes,
)
from bench.results.model import DataFidelity
from bench.results.table_stats import ColumnStats, ForeignKeyFanout, Quantiles, StatsFile


def _col(**kw: object) -> ColumnStats:
    base: dict[str, object] = {"name": "c", "kind": "number", "values": "kept", "null_frac": 0.0,
                               "avg_width": 8, "n_distinct": -1}
    return ColumnStats.model_validate(base | kw)


def test_q_error_and_distinct_ratio() -> None:
    assert q_error(10, 40) == 4 and q_error(40, 10) == 4 and q_error(0, 0.5) == 1
    # -0.5 of 1,000 source rows scales to 50 of 100 rows; 40 seen: 0.8
    assert distinct_ratio(_col(n_distinct=-0.5), _col(n_distinct=40), 1000, 100) == 0.8
    # a positive count stays a count, capped by the non-null rows
    assert distinct_ratio(_col(n_distinct=500), _col(n_distinct=-1), 1000, 100) == 1.0


def test_mcv_distance_is_total_variation_over_the_union() -> None:
    # |0.5-0.4| + |0.3-0.3| + |0-0.1| + |0.2-0| = 0.4, halved
    assert mcv_distance(["a", "b", "d"], [0.5, 0.3, 0.2],
                        ["a", "b", "c"], [0.4, 0.3, 0.1]) == pytest.approx(0.2)
    assert rank_distance([0.1, 0.5], [0.4, 0.2, 0.1]) == pytest.approx(0.5 * (0.1 + 0.1 + 0.1))


def test_histogram_error_reads_the_synthetic_cdf_at_the_source_bounds() -> None:
    assert cumulative_share([0.0, 10.0, 20.0], 15.0, linear=True) == 0.75
    assert cumulative_share(["a", "c", "e"], "d", linear=False) == 0.75
    # source quartiles 0, 10, 20, 30, 40; synthetic 0, 20, 40 puts 10 at 0.25, 30 at 0.75
    assert histogram_error(["0", "10", "20", "30", "40"], ["0", "20", "40"], "number") == 0
    # synthetic 0, 10, 40: F(10) = 0.5 against 0.25 (the largest), F(20) = 2/3 against 0.5,
    # F(30) = 5/6 against 0.75
    assert histogram_error(["0", "10", "20", "30", "40"], ["0", "10", "40"], "number") == 0.25
    times = ["2024-01-01 00:00:00+00", "2024-01-03 00:00:00+00"]
    assert histogram_error(times, ["2024-01-01 00:00:00+00", "2024-01-05 00:00:00+00"],
                           "time") == 0.5  # the source's end falls halfway
    assert histogram_error(["a"], ["a", "b"], "text") is None


def test_compare_names_the_furthest_column_and_skips_keys() -> None:
    src = StatsFile(source="server", schema_name="public", values="kept", tables=[{
        "name": "t", "reltuples": 1000, "relpages": 10, "columns": [
            _col(name="id", correlation=1.0).model_dump(),
            _col(name="s", kind="text", n_distinct=2, most_common_vals=["x", "y"],
                 most_common_freqs=[0.7, 0.3], correlation=0.1).model_dump()]}])
    syn = src.model_copy(deep=True)
    syn.tables[0].columns[0].correlation = 0.0  # a key: not counted
    syn.tables[0].columns[1].most_common_freqs = [0.6, 0.4]
    syn.tables[0].columns[1].null_frac = 0.05
    f = compare(src, syn, keys={("t", "id")})
    assert (f.furthest, f.furthest_what) == ("t.s", "most common values")
    assert f.distance == pytest.approx(0.1)
    assert [c.made_as for c in f.columns] == ["key", ""]
    assert headline(f) == ("data: within 10.0% of production's statistics; furthest: t.s "
                           "(most common values)")


def test_plans_compared_node_by_node() -> None:
    scan = {"Node Type": "Index Scan", "Index Name": "ix", "Relation Name": "t", "Plan Rows": 10}
    src = [{"Plan": {"Node Type": "Limit", "Plan Rows": 5, "Plans": [scan]}}]
    syn = [{"Plan": {"Node Type": "Limit", "Plan Rows": 5, "Plans": [scan | {"Plan Rows": 25}]}}]
    s = shape_fidelity("q", src, syn)
    assert s.same_plan and s.source_plan == "Limit(Index Scan using ix on t)"
    # The same plan: every node paired; the shape's figure is its base-table scans'.
    assert [(n.node, n.q_error) for n in s.nodes] == [("Limit", 1.0),
                                                      ("Index Scan using ix on t", 2.5)]
    assert s.max_q_error == 2.5
    other = [{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Plan Rows": 10}}]
    differs = shape_fidelity("q", src, other)
    assert not differs.same_plan and [n.node for n in differs.nodes] == [
        "Index Scan using ix on t"]  # a different plan: the scans, paired by relation
    assert differs.max_q_error == 1.0


def test_only_base_table_nodes_make_the_median() -> None:
    join = {"Node Type": "Hash Join", "Plan Rows": 1000, "Plans": [
        {"Node Type": "Seq Scan", "Relation Name": "a", "Plan Rows": 100},
        {"Node Type": "Hash", "Plan Rows": 10, "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "b", "Plan Rows": 10}]}]}
    off = json.loads(json.dumps(join))
    off["Plan Rows"] = 1  # the join's estimate far off, the scans' not
    off["Plans"][0]["Plan Rows"] = 200
    s = shape_fidelity("j", [{"Plan": join}], [{"Plan": off}])
    assert [n.q_error for n in s.nodes] == [1000.0, 2.0, 1.0, 1.0]
    assert s.max_q_error == 2.0
    base = DataFidelity(distance=0.0)
    f = with_shapes(base, [s, shape_fidelity("k", [{"Plan": join}], [{"Plan": join}])])
    assert f.median_q_error == 1.0  # of 2, 1, 1, 1
    assert headline(f).endswith("query shapes: 2 of 2 plans the same, base-table estimates' "
                                "q-error median 1.00, worst 2.00")


def test_cells_and_pg_correlation() -> None:
    g = cells_for(500, 1000)  # G (1 - exp(-1000 / G)) = 500
    assert g * (1 - np.exp(-1000 / g)) == pytest.approx(500, rel=1e-6)
    assert pg_correlation(np.arange(100.0)) == pytest.approx(1.0)
    assert pg_correlation(np.zeros(100)) == pytest.approx(1.0)  # ties in physical order
    assert pg_correlation(np.arange(100.0)[::-1]) == pytest.approx(-1.0)


def test_column_model_reproduces_shares_distinct_and_correlation() -> None:
    stats = _col(null_frac=0.0, n_distinct=-0.1, most_common_vals=["5"],
                 most_common_freqs=[0.5], histogram_bounds=["0", "100", "200"],
                 correlation=0.8)
    model = column_model(stats, 20_000, "float")
    assert model is not None and 0 < model.sorted_share < 1
    rng = np.random.default_rng(3)
    rows = np.arange(1, 20_001)
    x = model.numbers(model.uniforms(rng, rows, 20_000))
    assert (x == 5).mean() == pytest.approx(0.5, abs=0.02)
    assert len(np.unique(x)) == pytest.approx(2_000, rel=0.1)
    assert pg_correlation(x) == pytest.approx(0.8, abs=0.05)
    assert column_model(stats.model_copy(update={"values": "withheld"}), 10, "float") is None
    assert column_model(stats, 10, "uuid") is None


def test_children_counts_follow_the_quantiles() -> None:
    fk = ForeignKeyFanout(name="f", table="c", columns=["p"], parent_table="p",
                          parent_columns=["id"], parent_rows=1000, distinct_parents=800,
                          children_per_parent=Quantiles(mean=10, p50=4, p90=20, p99=100,
                                                        max=300))
    counts = children_counts(fk, 1000, 8000)
    assert counts.sum() == 8000 and (counts > 0).sum() == 800
    assert np.median(counts[counts > 0]) == pytest.approx(4, rel=0.5)
    assert counts.max() >= 100


def _tables() -> list[sa.Table]:
    md = sa.MetaData()
    parent = sa.Table("p", md, sa.Column("id", sa.BigInteger, primary_key=True))
    child = sa.Table("c", md, sa.Column("id", sa.BigInteger, primary_key=True),
                     sa.Column("p_id", sa.BigInteger, sa.ForeignKey("p.id"), nullable=False),
                     sa.Column("status", sa.Text, nullable=False),
                     sa.Column("at", sa.DateTime(timezone=True), nullable=True))
    return [parent, child]


def _stats() -> StatsFile:
    return StatsFile.model_validate({
        "source": "server", "schema_name": "public", "values": "kept",
        "tables": [{"name": "p", "reltuples": 500, "relpages": 3, "columns": []},
                   {"name": "c", "reltuples": 20_000, "relpages": 100, "columns": [
                       _col(name="status", kind="text", n_distinct=3,
                            most_common_vals=["done", "new", "lost"],
                            most_common_freqs=[0.9, 0.099, 0.001]).model_dump(),
                       _col(name="at", kind="time", null_frac=0.25, correlation=1.0,
                            histogram_bounds=["2024-01-01 00:00:00+00",
                                              "2024-02-01 00:00:00+00"]).model_dump()]}],
        "foreign_keys": [{"name": "f", "table": "c", "columns": ["p_id"], "parent_table": "p",
                          "parent_columns": ["id"], "parent_rows": 500,
                          "distinct_parents": 250,
                          "children_per_parent": {"mean": 80, "p50": 20, "p90": 200,
                                                  "p99": 800, "max": 1500}}]})


def _rows(g: GenericGenerator, seed: int, table: str) -> dict[str, np.ndarray]:
    ctx = g.make_context(seed, 1.0)
    blocks = list(g.blocks(ctx, table))
    return {c: np.concatenate([materialize(b[c]) if isinstance(b[c], Text) else b[c]
                               for b in blocks]) for c in blocks[0]}


def test_the_generator_follows_the_stats_file() -> None:
    g = GenericGenerator(_tables(), table_rows={}, total_rows=None, stats=_stats())
    assert g.row_counts(1.0) == {"p": 500, "c": 20_000}
    assert g.row_counts(0.1) == {"p": 50, "c": 2_000}
    rows = _rows(g, 5, "c")
    status = list(rows["status"])
    assert status.count("done") == pytest.approx(18_000, abs=300)
    assert 0 < status.count("lost") < 60
    at = rows["at"]
    assert np.isnat(at).mean() == pytest.approx(0.25, abs=0.02)
    seen = at[~np.isnat(at)]
    assert (np.diff(seen.astype(np.int64)) >= 0).mean() > 0.95  # in insertion order
    per_parent = np.bincount(rows["p_id"].astype(np.int64), minlength=501)[1:]
    assert (per_parent > 0).sum() == 250 and per_parent.sum() == 20_000
    assert _rows(g, 5, "c")["p_id"].tolist() == rows["p_id"].tolist()  # deterministic
    assert _rows(g, 6, "c")["p_id"].tolist() != rows["p_id"].tolist()


def test_the_report_section_names_each_shape_and_its_furthest_node() -> None:
    from bench.report.markdown import fidelity_section
    from bench.results.model import SeedRecord
    from tests.fast.results_factory import results_doc

    scan = {"Node Type": "Seq Scan", "Relation Name": "t", "Plan Rows": 300}
    s = shape_fidelity("by status", [{"Plan": scan}], [{"Plan": scan | {"Plan Rows": 100}}])
    results = results_doc()
    results.seed = SeedRecord(scale=0.5, seed=1, rows={}, total_rows=0, copy_seconds=0,
                              constraints_seconds=0, vacuum_analyze_seconds=0, total_seconds=0,
                              rows_per_s=0, copy_rows_per_s=0,
                              fidelity=with_shapes(DataFidelity(distance=0.0), [s]))
    text = "\n".join(fidelity_section(results))
    assert "| by status | yes | 3.00 | Seq Scan on t: 300 / 100 (q 3.00) |" in text
    assert "Median base-table q-error 3.00" in text and "--scale 0.5" in text
