"""pytest-benchmark suite fixtures: one seeded scratch database per session, migrated once.

Run with `make bench-pytest` (or `pytest benchmarks`); `make test` does not collect this folder.
Every "before" benchmark runs first, then migration 007 is applied once, then every "after" one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.config import RunConfig, dsn_from_env
from bench.runner import reads as measure
from bench.runner.params import parameter_sets
from bench.runner.provision import provision
from bench.runner.seeding import seed_database
from bench.runner.shapes import load_shapes
from benchmarks.database import PHASES, BenchDatabase
from tests.sales_agent import QUERIES_DIR


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pg-index-bench")
    group.addoption("--bench-scale", type=float, default=0.05,
                    help="data size of the seeded database (default 0.05 = 5,000 leads)")
    group.addoption("--bench-rounds", type=int, default=20,
                    help="measured rounds per shape and phase, one parameter set each "
                         "(default 20)")
    group.addoption("--bench-warmup", type=int, default=2, help="warm-up rounds (default 2)")
    group.addoption("--bench-seed", type=int, default=42, help="data and parameter seed")
    group.addoption("--bench-seed-scale", type=float, default=1.0,
                    help="data size of the seeding benchmarks, each round a fresh database "
                         "(default 1.0 = 2,000,000 rows; pgbench -i gets -s 20 per 1.0)")
    group.addoption("--bench-seed-rounds", type=int, default=3,
                    help="rounds of the seeding benchmarks (default 3)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """All "before" benchmarks first, so the migration runs once, between the two phases."""
    def phase(item: pytest.Item) -> int:
        spec = getattr(item, "callspec", None)
        return PHASES.index(spec.params["phase"]) if spec and "phase" in spec.params else 0

    items.sort(key=phase)  # stable: keeps the shape order within a phase


@pytest.fixture(scope="session")
def bench_db(pytestconfig: pytest.Config) -> Iterator[BenchDatabase]:
    cfg = RunConfig(scale=pytestconfig.getoption("--bench-scale"),
                    seed=pytestconfig.getoption("--bench-seed"),
                    rounds=pytestconfig.getoption("--bench-rounds"),
                    warmup=pytestconfig.getoption("--bench-warmup"),
                    dsn=dsn_from_env(None), progress=False)
    shapes = {s.name: s for s in load_shapes(QUERIES_DIR)}
    with provision(cfg.dsn) as target:
        seed_database(target, cfg, echo=lambda _line: None)
        with measure.open_session(target.conninfo, measure.SessionSettings()) as conn:
            params = {name: parameter_sets(conn, s, cfg.seed, cfg.rounds)
                      for name, s in shapes.items()}
            yield BenchDatabase(target, conn, shapes, params, cfg)
