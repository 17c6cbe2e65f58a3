"""Fixtures: one real embedded PostgreSQL per test session, scratch databases inside it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.config import RunConfig
from bench.runner.provision import Target, embedded_server, scratch_database
from bench.runner.seeding import seed_database

SMALL_SCALE = 0.01  # 1,000 leads, about 20,000 rows: seconds, yet every shape has data


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_reaches_child_runs() -> Iterator[None]:
    """Tests send Ctrl-C to the runs they start. A shell that starts the suite in the
    background (`make test &`, `nohup`) sets SIGINT to ignored, an ignored signal stays ignored
    in every child, and the CLI rightly leaves it so: five Ctrl-C tests then saw runs finish
    with exit 0. A handled signal is reset to the default in a child, so handle it here."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


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
