"""A data spec ([data.spec]) checked when it is loaded: each contradiction one line naming the
file and the key (ConfigError, exit 2 on the command line); and what it compiles into, on
in-memory tables (no PostgreSQL)."""

from __future__ import annotations

import collections
import tomllib
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from bench.data.fanout import top_share
from bench.data.generic import GenericGenerator
from bench.data.spec_check import DataSpec
from bench.data.strings import Text, materialize
from bench.errors import ConfigError
from bench.project import file as project_file
from bench.project.file import DataSection


def _tables() -> list[sa.Table]:
    md = sa.MetaData()
    leads = sa.Table(
        "leads", md, sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("stage", sa.Text), sa.CheckConstraint("stage IN ('a', 'b')"),
        sa.Column("score", sa.Numeric(5, 2)), sa.CheckConstraint("score >= 0"),
        sa.Column("created_at", pg.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("seen_at", pg.TIMESTAMP(timezone=True)),
        sa.Column("tier", sa.Text), sa.Column("visits", sa.Integer),
        sa.Column("email", sa.Text, unique=True))
    sa.Table("acts", md, sa.Column("id", sa.BigInteger, primary_key=True),
             sa.Column("lead_id", sa.BigInteger, sa.ForeignKey("leads.id"), nullable=False),
             sa.Column("kind", sa.Text, nullable=False))
    return [leads, md.tables["acts"]]


def _generator(toml: str) -> GenericGenerator:
    section = DataSection.model_validate(tomllib.loads(toml))
    return GenericGenerator(_tables(), table_rows={"leads": 1000, "acts": 5000},
                            total_rows=None, spec=DataSpec(section.spec, "app.toml"))


def _error(toml: str) -> str:
    with pytest.raises(ConfigError) as err:
        _generator(toml)
    return str(err.value)


@pytest.mark.parametrize(("toml", "message"), [
    ('[spec.lead]\nrows = 5', "data.spec.lead: unknown table (the schema has acts, leads)"),
    ('[spec.leads.columns.colour]\nnull_frac = 0.1', "data.spec.leads.columns.colour: "
                                                     "unknown column"),
    ('[spec.leads.columns.stage]\nvalues = {a = 0.5, c = 0.5}',
     "value 'c' is not one the schema allows (a, b)"),
    ('[spec.leads.columns.status]\nnull_frac = 0.1', "null_frac > 0 on a NOT NULL column"),
    ('[spec.leads.columns.score]\ndistribution = "normal"\nmean = 50\nsd = 10',
     "normal: -inf..inf is outside the column's CHECK bounds and numeric(5,2) [0, 999.99]: "
     "give min/max inside"),
    ('[spec.leads.columns.score]\ndistribution = "uniform"\nmin = 0\nmax = 5000',
     "0..5000 is outside the column's CHECK bounds and numeric(5,2) [0, 999.99]"),
    ('[spec.leads.columns.visits]\ndistribution = "lognormal"\nmedian = 5\nsigma = 1\n'
     'min = -3', "lognormal takes no negative values: min -3.0 < 0"),
    ('[spec.leads.columns.visits]\ndistribution = "uniform"\nmin = 1\nmax = 50\n'
     'distinct = 5000', "distinct 5000 is above the table's 1,000 rows"),
    ('[spec.leads.columns.seen_at]\nafter = {column = "made_at", lag = {distribution = '
     '"exponential", mean = "1d"}}', "after: unknown column 'made_at'"),
    ('[spec.leads.columns.seen_at]\nafter = {column = "tier", lag = {distribution = '
     '"exponential", mean = "1d"}}', "after: tier is text, seen_at is timestamptz: both "
                                     "numbers or both times"),
    ('[spec.leads.columns.seen_at]\nafter = {column = "created_at", lag = {distribution = '
     '"normal", mean = "1d", sd = "1h"}}', "after: the lag can be below 0"),
    ('[spec.leads.columns.tier]\nnull_unless = {column = "stage", values = ["a"]}\n'
     '[spec.leads.columns.stage]\nmapped_from = {column = "tier", map = {x = "a"}}',
     "data.spec.leads: columns made from each other: stage -> tier -> stage"),
    ('[spec.leads.columns.email]\nnull_frac = 0.5', "a key or unique column"),
    ('[spec.acts.columns.kind]\nfanout = {distribution = "pareto", alpha = 1.2}',
     "fanout on a column that is no foreign key"),
    ('[spec.acts.columns.lead_id]\nvalues = {1 = 1.0}', "a foreign key takes fanout and "
                                                        "null_frac, not values"),
    ('[spec.acts]\nrows_per_parent = {parent = "acts", mean = 2}',
     "rows_per_parent: acts is not a parent of acts"),
    ('[spec.leads]\norder = "seen_at"', "order: seen_at gets no values or distribution"),
    ('[spec.leads.columns.created_at]\ndistribution = "lognormal"\nmedian = "1d"\n'
     'sigma = 1', "lognormal over a time column: it takes uniform, beta, normal"),
    ('[spec.leads.columns.tier]\ndistribution = "normal"\nmean = 1\nsd = 1',
     "a text column's distribution is over its `distinct` values"),
    ('[spec.leads.columns.tier]\nmapped_from = {column = "visits", map = [[0, 10, "low"]]}\n'
     '[spec.leads.columns.visits]\ndistribution = "uniform"\nmin = 0\nmax = 20\n'
     '[spec.leads.columns.stage]\nmapped_from = {column = "visits", map = [[0, 10, "z"]]}',
     "mapped_from: value 'z' is not one the schema allows"),
])
def test_a_spec_the_schema_contradicts_is_one_line(toml: str, message: str) -> None:
    got = _error(toml)
    assert got.startswith("app.toml: data.spec.")
    assert message in got and "\n" not in got


@pytest.mark.parametrize(("toml", "message"), [
    ('[data.spec.t.columns.c]\nvalues = {a = 0.5, b = 0.4}',
     'data.spec.t.columns.c: weights sum to 0.9, not 1 (or give one value "rest")'),
    ('[data.spec.t.columns.c]\nvalues = {a = 0.5, b = "rest", c = "rest"}',
     "more than one value takes the rest"),
    ('[data.spec.t.columns.c]\ndistribution = "gamma"', "unknown distribution 'gamma'"),
    ('[data.spec.t.columns.c]\ndistribution = "normal"\nmean = 1\nsd = 1\nalpha = 2',
     "normal has no parameter 'alpha'"),
    ('[data.spec.t.columns.c]\ndistribution = "beta"\na = 2', "beta needs b"),
    ('[data.spec.t.columns.c]\nvalues = {a = 1.0}\ndistribution = "uniform"\nmin = 0\n'
     'max = 1', "values and distribution: give one way to make the column"),
    ('[data.spec.t.columns.c]\nnull_frac = 1.5', "data.spec.t.columns.c.null_frac"),
    ('[data.spec.t.columns.c]\nhue = 1', "data.spec.t.columns.c.hue: unknown key"),
    ('[data.spec.t]\nrows = 5\nrows_per_parent = {parent = "p", mean = 2}',
     "rows and rows_per_parent: give one"),
])
def test_a_malformed_spec_is_one_line_when_the_file_is_read(tmp_path: Path, toml: str,
                                                            message: str) -> None:
    path = tmp_path / "pg-index-bench.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        project_file.read(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "Value error" not in str(err.value) and "\n" not in str(err.value)


SPEC = """
[spec.leads]
order = "created_at"
[spec.leads.columns.status]
values = {new = 0.6, won = 0.3, lost = "rest"}
[spec.leads.columns.created_at]
distribution = "uniform"
min = 2025-01-01T00:00:00Z
max = 2025-02-01T00:00:00Z
[spec.leads.columns.seen_at]
after = {column = "created_at", lag = {distribution = "lognormal", median = "2h", sigma = 0.5}}
null_unless = {column = "status", values = ["won", "lost"]}
[spec.leads.columns.visits]
distribution = "zipf"
s = 1.5
min = 1
max = 500
null_frac = 0.2
[spec.leads.columns.tier]
mapped_from = {column = "visits", map = [[1, 2, "one"], [2, 10, "few"]], else = "many"}
[spec.acts]
rows_per_parent = {parent = "leads", mean = 8}
[spec.acts.columns.lead_id]
fanout = {distribution = "pareto", alpha = 1.16}
[spec.acts.columns.kind]
distribution = "zipf"
s = 1.0
distinct = 40
"""


def _column(gen: GenericGenerator, table: str, column: str, seed: int = 3) -> np.ndarray:
    ctx = gen.make_context(seed, 1.0)
    parts = [b[column] for b in gen.blocks(ctx, table)]
    return np.concatenate([materialize(p) if isinstance(p, Text) else np.asarray(p)
                           for p in parts])


def test_a_spec_compiles_into_the_columns_it_says() -> None:
    gen = _generator(SPEC)
    assert gen.row_counts(1.0) == {"leads": 1000, "acts": 8000}  # rows_per_parent over tables
    status = collections.Counter(_column(gen, "leads", "status").tolist())
    assert set(status) == {"new", "won", "lost"}
    assert abs(status["new"] - 600) < 45 and abs(status["lost"] - 100) < 30
    created = _column(gen, "leads", "created_at")
    assert (np.diff(created.astype(np.int64)) >= 0).all()  # order = "created_at"
    assert created.min() >= np.datetime64("2025-01-01") > np.datetime64("2024-12-31")
    assert created.max() <= np.datetime64("2025-02-01")
    seen = _column(gen, "leads", "seen_at")
    statuses = _column(gen, "leads", "status")
    assert np.isnat(seen[statuses == "new"]).all() and not np.isnat(seen[statuses != "new"]).any()
    lag_h = (seen - created)[statuses != "new"].astype("timedelta64[s]").astype(float) / 3600
    assert lag_h.min() > 0 and 1.7 < np.median(lag_h) < 2.3
    visits = _column(gen, "leads", "visits")
    assert 0.15 < np.isnan(visits).mean() < 0.25
    shown = visits[~np.isnan(visits)]
    assert shown.min() >= 1 and shown.max() <= 500 and 0.35 < (shown == 1).mean() < 0.45
    tier = _column(gen, "leads", "tier")  # from visits before its NULLs: never NULL
    assert set(tier.tolist()) == {"one", "few", "many"}
    per_lead = np.bincount(_column(gen, "acts", "lead_id").astype(np.int64), minlength=1001)
    assert top_share(per_lead[1:]) > 0.5  # Pareto(1.16): the top 10% hold most
    kinds = collections.Counter(_column(gen, "acts", "kind").tolist())
    assert len(kinds) == 40 and kinds.most_common(1)[0][1] > 5 * min(kinds.values())


def test_a_spec_is_deterministic_per_seed() -> None:
    gen = _generator(SPEC)
    a, b = _column(gen, "leads", "seen_at", 5), _column(gen, "leads", "seen_at", 5)
    assert np.array_equal(a, b, equal_nan=True)
    assert not np.array_equal(a, _column(gen, "leads", "seen_at", 6), equal_nan=True)
