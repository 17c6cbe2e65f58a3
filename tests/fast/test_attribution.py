"""Per-index attribution's pure parts: statistics against hand-computed values, the verdict
rule, the set search, covering indexes, the report and the command line's checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy import stats as sps

from bench.cli import main
from bench.report import markdown
from bench.report import per_index as report
from bench.results import attribution as attr
from bench.results import store
from bench.results.mix import WorkloadMix
from bench.results.per_index import (
    IndexAttribution,
    PerIndexSection,
    ReadEffect,
    RecommendedSet,
    ShapeBenefit,
    WriteEffect,
)
from bench.runner.per_index.recommend import portable, write_files
from tests.sales_agent import MIGRATION_FILE

FIXTURES = Path(__file__).parent / "fixtures"


def test_mean_difference_is_the_mean_of_paired_differences_with_students_interval() -> None:
    a, b = [10.0, 12.0, 11.0, 13.0], [1.0, 2.0, 2.0, 3.0]  # differences 9, 10, 9, 10
    mean, (lo, hi) = attr.mean_difference(a, b)
    assert mean == pytest.approx(9.5)
    half = float(sps.t.ppf(0.975, 3)) * math.sqrt(1 / 3) / 2  # sd of 9,10,9,10 = sqrt(1/3)
    assert (lo, hi) == pytest.approx((9.5 - half, 9.5 + half))
    # The between-run SD is relative to the effect and adds in quadrature.
    _, (lo2, hi2) = attr.mean_difference(a, b, extra_rel_sd=0.1)
    half2 = float(sps.t.ppf(0.975, 3)) * math.sqrt((math.sqrt(1 / 3) / 2) ** 2 + 0.95 ** 2)
    assert (lo2, hi2) == pytest.approx((9.5 - half2, 9.5 + half2))


def test_weighted_sums_and_differences_add_variances() -> None:
    z = attr.Z95
    total, (lo, hi) = attr.weighted_sum([attr.Term(2.0, 3.0, (3 - z, 3 + z)),  # se 1
                                         attr.Term(0.0, 100.0, (0.0, 200.0)),  # not run
                                         attr.Term(1.0, 4.0, (4 - 2 * z, 4 + 2 * z))])  # se 2
    assert total == pytest.approx(10.0)
    assert hi - total == pytest.approx(total - lo)
    assert hi - total == pytest.approx(z * math.sqrt(2 ** 2 + 2 ** 2))
    value, (dlo, dhi) = attr.difference((10.0, (10 - 3 * z, 10 + 3 * z)), (1.0, (1 - 4 * z,
                                                                               1 + 4 * z)))
    assert value == 9.0 and dhi - value == pytest.approx(value - dlo)
    assert dhi - value == pytest.approx(5 * z)
    assert attr.weighted_sum([]) == (0.0, (0.0, 0.0))


@pytest.mark.parametrize(("used", "net", "loo", "expected"), [
    (False, (-1.0, 5.0), None, "unused"),
    (True, (0.5, 2.0), None, "keep"),
    (True, (-3.0, -1.0), None, "drop"),
    (True, (-1.0, 1.0), None, "inconclusive"),
    (True, (-1.0, 1.0), (0.1, 0.3), "keep"),  # pays within the migration, not alone
    (True, (-3.0, -1.0), (-1.0, 1.0), "inconclusive"),
    (True, (-3.0, -1.0), (-2.0, -0.5), "drop"),
])
def test_verdict(used: bool, net: tuple[float, float], loo: tuple[float, float] | None,
                 expected: str) -> None:
    assert attr.verdict(used, net, loo) == expected


def test_kept_share() -> None:
    assert attr.kept_share(100.0, 1.0, 1.0) == 1.0
    assert attr.kept_share(100.0, 10.0, 0.0) == pytest.approx(0.9)
    assert attr.kept_share(5.0, 7.0, 6.0) == 1.0  # the migration saved nothing here


def test_smallest_set_removes_in_order_what_the_oracle_allows() -> None:
    # "b" and "c" serve one shape together: one of them can go, not both.
    def removable(current: frozenset[str], name: str) -> bool:
        return name == "a" or len(current & {"b", "c"}) == 2

    assert attr.smallest_set(["a", "b", "c"], ["c", "a", "b"], removable) == {"b"}
    assert attr.smallest_set(["a", "b", "c"], ["b", "c"], removable) == {"a", "c"}


def _ix(name: str, table: str, *cols: str, predicate: str | None = None,
        unique: bool = False) -> attr.IndexShape:
    return attr.IndexShape(name, table, cols, predicate, unique)


def test_covered_by_leading_columns() -> None:
    lead = _ix("lead", "t", "lead_id")
    lead_status = _ix("lead_status", "t", "lead_id", "status")
    status_lead = _ix("status_lead", "t", "status", "lead_id")
    other_table = _ix("lead_u", "u", "lead_id", "status")
    unique = _ix("lead_unique", "t", "lead_id", unique=True)
    partial = _ix("lead_partial", "t", "lead_id", "x", predicate="x IS NOT NULL")
    assert attr.covered_by(lead, lead_status)
    assert not attr.covered_by(lead_status, lead)
    assert not attr.covered_by(lead, status_lead)
    assert not attr.covered_by(lead, other_table)
    assert not attr.covered_by(unique, lead_status)  # uniqueness is never redundant
    assert not attr.covered_by(lead, partial)  # a partial index serves only some rows
    assert attr.covered_by(_ix("p", "t", "lead_id", predicate="x IS NOT NULL"), partial)
    twin = _ix("lead2", "t", "lead_id")
    assert attr.covered_pairs([lead, twin, lead_status]) == [
        ("lead", "lead2"), ("lead", "lead_status"), ("lead2", "lead"), ("lead2", "lead_status")]


def test_portable_definitions() -> None:
    assert portable("CREATE INDEX ix_a ON public.t USING btree (a, b DESC)") == (
        "CREATE INDEX IF NOT EXISTS ix_a ON t USING btree (a, b DESC)")
    assert portable("CREATE UNIQUE INDEX ix_b ON app.t USING btree (a) WHERE (a > 0)") == (
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_b ON t USING btree (a) WHERE (a > 0)")


def test_the_written_revision_is_a_revision_of_its_own(tmp_path: Path) -> None:
    rec = RecommendedSet(indexes=["ix_a"], kept_pct={"s": 99.0})
    py, sql_file = write_files(tmp_path, MIGRATION_FILE, rec,
                               {"ix_a": "CREATE INDEX ix_a ON public.t USING btree (a)"},
                               {"ix_a": "t", "ix_b": "t"})
    text = py.read_text()
    assert 'revision = "007_comprehensive_indexes_recommended"' in text
    assert "down_revision = '006_add_voice_session_logs'" in text
    assert "Left out: ix_b" in text and "kept: s 99%" in text
    compile(text, str(py), "exec")
    sql_text = sql_file.read_text()
    assert "CREATE INDEX IF NOT EXISTS ix_a ON t USING btree (a);" in sql_text
    assert "-- DROP INDEX IF EXISTS ix_b;" in sql_text


def _section() -> PerIndexSection:
    z = attr.Z95
    keep = IndexAttribution(
        name="ix_keep", table="t", definition="CREATE INDEX ix_keep ON t (a)", size_bytes=10**6,
        build_seconds=0.2, used_in=["s: after"], verdict="keep", in_recommended_set=True,
        add_one=[ReadEffect(shape="s", plans_changed=2, param_sets=2, rounds=10, saved_ms=5.0,
                            saved_ci95=(4.0, 6.0), factor=50.0, factor_ci95=(40.0, 60.0))],
        leave_one_out=[ReadEffect(shape="s", plans_changed=2, param_sets=2, rounds=10,
                                  saved_ms=5.0, saved_ci95=(4.0, 6.0))],
        writes=[WriteEffect(workload="insert:t", rounds=8, without_us_per_row=20.0,
                            added_us_per_row=4.0, added_ci95=(2.0, 6.0),
                            added_wal_bytes_per_row=60.0, added_wal_records_per_row=1.0)],
        read_saved_ms_per_s=10.0, read_saved_ci95=(10 - z, 10 + z),
        write_added_ms_per_s=0.004, write_added_ci95=(0.002, 0.006), net_ms_per_s=10.0,
        net_ci95=(8.0, 12.0))
    unused = IndexAttribution(name="ix_unused", table="t", definition="", verdict="unused",
                              write_added_ms_per_s=0.01, write_added_ci95=(0.005, 0.015),
                              net_ms_per_s=-0.01, net_ci95=(-0.015, -0.005))
    return PerIndexSection(
        mix=WorkloadMix(source="mix.toml", reads={"s": 2.0}, writes={"insert:t": 1.0}),
        shapes=[ShapeBenefit(shape="s", calls_per_s=2.0, rounds=10, param_sets=2, none_ms=6.0,
                             all_ms=1.0, saved_ms=5.0, saved_ci95=(4.0, 6.0))],
        indexes=[keep, unused],
        recommended=RecommendedSet(indexes=["ix_keep"], kept_pct={"s": 100.0},
                                   revision_file="r.py", sql_file="r.sql"))


def test_the_report_shows_verdicts_and_the_set() -> None:
    results = store.load(FIXTURES / "small1.results.json")
    results.per_index = _section()
    text = markdown.render(results, ["per_index.png"])
    assert "**Per index: 1 keep, 1 unused** (of the 2 indexes of migration 007" in text
    assert "**Recommended set: 1 of the 2 indexes**" in text and "`r.py`, `r.sql`" in text
    assert "| `ix_keep` | ✅ keep | 10.0 ms/s (+8.04 ms/s to +12.0 ms/s) |" in text
    assert "| `ix_unused` | ⚪ unused |" in text
    assert "![per_index.png](per_index.png)" in text
    assert text.index("**Per index:") < text.index("## Read queries")
    # Round trip through results.json.
    again = type(results).model_validate_json(results.model_dump_json())
    assert again.per_index == results.per_index


def test_the_sets_figures_where_it_runs_as_the_migration_are_the_migrations() -> None:
    """A shape with the migrated twin's plans keeps the migration's figures (labelled so); the
    rest is the set's own measurement."""
    results = store.load(FIXTURES / "small1.results.json")
    section = _section()
    rec = section.recommended
    assert rec is not None
    main_q = {q.name: q for q in results.queries}
    own = main_q["simple_where"].model_copy(update={"speedup": 1.23,
                                                    "speedup_ci95": (1.1, 1.4)})
    rec.queries = [own]
    rec.shapes_as_migration = [n for n in main_q if n != "simple_where"]
    results.per_index = section
    assert rec.query("fk_join", results.queries) is main_q["fk_join"]
    assert rec.query("simple_where", results.queries) is own
    text = markdown.render(results, ["per_index.png"])
    assert "(5 of the 6 with the plans they run with migration 007, so its figures)" in text
    assert "| `fk_join` | 36.6x (31.9x–38.6x) | the same plans |" in text
    assert "| `simple_where` | 1.62x (1.45x–2.27x) | 1.23x (1.10x–1.40x) |" in text
    # Every shape with the migration's plans: said so, with the ones faster with neither.
    rec.queries, rec.shapes_as_migration = [], list(main_q)
    text = markdown.render(results, ["per_index.png"])
    assert ("end to end every shape runs the plans it runs with migration 007, so its read "
            "figures are migration 007's") in text
    # Round trip through results.json.
    again = type(results).model_validate_json(results.model_dump_json())
    assert again.per_index == results.per_index


def test_a_twin_run_without_the_flag_says_how_to_get_it() -> None:
    results = store.load(FIXTURES / "small1.results.json")
    assert report.hint(results) == []  # a run from before the twin design: no hint
    from bench.results.model import Method

    results.method = Method()
    (line, _) = report.hint(results)
    assert "run with `--per-index`" in line and "nightly" in line
    assert line in markdown.render(results, [])


def test_a_mix_naming_an_unknown_shape_is_refused_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mix = tmp_path / "mix.toml"
    mix.write_text('[reads]\nfk_joins = 1.0\n[writes]\n"insert:leads" = 1.0\n')
    code = main(["run", "--per-index", "--mix", str(mix), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"error: {mix}: unknown name(s) [reads] fk_joins; shapes are ")
    assert len(err.splitlines()) == 1


def test_per_index_needs_a_warm_cache(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--per-index", "--cache", "cold", "--out", str(tmp_path)]) == 2
    assert "--per-index measures in a warm cache" in capsys.readouterr().err


def test_the_schedule_balances_who_goes_first_and_who_follows_whom() -> None:
    from collections import Counter

    from bench.runner.per_index.index_states import schedule

    states = ["a", "b", "c"]
    orders = [schedule(states, i) for i in range(2 * len(states))]
    assert orders[0] == ["a", "b", "c"] and orders[1] == ["c", "b", "a"]
    assert Counter(o[0] for o in orders) == {"a": 2, "b": 2, "c": 2}
    follows = Counter((o[k], o[k + 1]) for o in orders for k in range(len(o) - 1))
    assert all(follows[(x, y)] == follows[(y, x)] for x in states for y in states if x != y)
