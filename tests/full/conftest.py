"""Fixtures: one real embedded PostgreSQL per test session, scratch databases inside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.config import RunConfig
from bench.runner.provision import Target, embedded_server, scratch_database
from bench.runner.seeding import seed_database

SMALL_SCALE = 0.01  # 1,000 leads, about 20,000 rows: seconds, yet every shape has data


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Conninfo of an embedded PostgreSQL started for this test session."""
    with embedded_server() as conninfo:
        yield conninfo


@pytest.fixture
def scratch_db(pg_server: str) -> Iterator[Target]:
    """An empty scratch database, dropped after the test."""
    with scratch_database(pg_server, "embedded") as target:
        yield target


@pytest.fixture(scope="session")
def seeded_db(pg_server: str) -> Iterator[Target]:
    """A database seeded at SMALL_SCALE, shared by tests that only read it."""
    with scratch_database(pg_server, "embedded") as target:
        seed_database(target, RunConfig(scale=SMALL_SCALE, seed=7, progress=False),
                      echo=lambda _line: None)
        yield target


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"
