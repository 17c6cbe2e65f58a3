"""Values drawn from one column of stats.json reproduce its null fraction, most common values'
frequencies and histogram quantiles."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from bench.data.from_stats import draw
from bench.results.table_stats import ColumnStats

N = 100_000


def _column(**kw: object) -> ColumnStats:
    base: dict[str, object] = {"name": "c", "kind": "number", "values": "kept", "null_frac": 0.0,
                               "avg_width": 8, "n_distinct": -1}
    return ColumnStats.model_validate(base | kw)


def test_nulls_and_most_common_values_are_exact_to_a_row() -> None:
    column = _column(kind="text", null_frac=0.3, most_common_vals=["done", "pending", "failed"],
                     most_common_freqs=[0.6, 0.0996, 0.0004])
    got = draw(column, np.random.default_rng(1), N)
    assert got.nulls.sum() == 30_000
    values = list(got.values[~got.nulls])
    assert [values.count(v) for v in ("done", "pending", "failed")] == [60_000, 9_960, 40]


def test_histogram_quantiles_are_reproduced() -> None:
    bounds = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]
    column = _column(null_frac=0.1, most_common_vals=["0"], most_common_freqs=[0.2],
                     histogram_bounds=[str(b) for b in bounds])
    got = draw(column, np.random.default_rng(2), N)
    rest = np.array([v for v in got.values[~got.nulls] if v != 0.0], dtype=float)
    assert rest.size == pytest.approx(0.7 * N, abs=1)
    quantiles = np.quantile(rest, np.linspace(0, 1, len(bounds)))
    assert quantiles == pytest.approx(bounds, rel=0.02, abs=0.05)


def test_times_and_text_fall_in_their_buckets() -> None:
    times = ["2024-03-01 00:00:00+00", "2024-03-02 00:00:00+00", "2024-03-10 00:00:00+00"]
    got = draw(_column(kind="time", histogram_bounds=times), np.random.default_rng(3), 1_000)
    first = datetime.fromisoformat(times[1])
    assert sum(v < first for v in got.values) == 500 and not got.nulls.any()
    text = draw(_column(kind="text", histogram_bounds=["aa", "bb", "cc"]),
                np.random.default_rng(3), 10)
    assert sorted(text.values) == ["aa"] * 5 + ["bb"] * 5


def test_the_same_seed_draws_the_same_values() -> None:
    column = _column(histogram_bounds=["0", "10", "100"], null_frac=0.5)
    a = draw(column, np.random.default_rng(9), 1_000)
    b = draw(column, np.random.default_rng(9), 1_000)
    assert list(a.values) == list(b.values) and list(a.nulls) == list(b.nulls)
