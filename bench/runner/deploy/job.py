"""The deploy job, top to bottom: provision -> seed (the run's scale and the sweep's, in one
bulk-load window) -> traffic tables -> twin -> the migration as written under load (twin B) ->
throughput without/with the indexes (A vs B) -> the migration with CONCURRENTLY under load
(twin A) -> its known failure (an INVALID index) -> the as-written stall at smaller sizes ->
deploy.json, deploy.md.

pgbench plays the app's traffic (bench.runner.deploy.traffic: the shapes and the write workloads,
weighted by the workload mix) in every phase; after each load the twin's rows are put back as
they were, so both twins hold the same data for the next phase.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.config import RunConfig
from bench.deploy_config import DeployConfig
from bench.results import stalls
from bench.results.deploy import (
    DeployResults,
    DeploySettings,
    InvalidIndexCase,
    LoadScript,
    LoadSpec,
    MigrationUnderLoad,
    StallSweep,
    SweepPoint,
    Throughput,
)
from bench.results.mix import WorkloadMix, load_mix
from bench.results.model import SeedRecord, ServerInfo, migration_name
from bench.runner import cache, catalog, environment, leftovers, migrate, reads
from bench.runner.app_writes import load_app_writes
from bench.runner.bulk_mode import bulk_load_mode, bulk_mode_summary
from bench.runner.deploy import concurrently, pgbench, throughput, traffic
from bench.runner.deploy.under_load import (
    DRAIN_SHARE,
    LoadPlan,
    engine_for,
    migrate_under_load,
)
from bench.runner.prefetch import prefetch
from bench.runner.progress import Echo, on_terminal, stderr_echo, step
from bench.runner.provision import (
    Target,
    provision,
    redact,
    scratch_database,
    settle,
    twin_database,
)
from bench.runner.seeding import seed_database
from bench.runner.shapes import Shape, load_shapes

CALIBRATION_SECONDS = 1
# A sweep point's figures are its migration's length and its longest stall: its load must be
# running when the migration starts, and the writes queued behind the migration's locks must
# have finished when it stops, which under_load.DRAIN_SHARE sees to (at scale 0.3 they had
# within 0.15 s of the commit). So a sixth of --lead before and after, at least 0.5 s.
SWEEP_LEAD_SHARE = 1 / 6
SWEEP_MIN_LEAD_S = 0.5


def run(cfg: DeployConfig, echo: Echo = stderr_echo) -> DeployResults:
    """The deploy job. deploy.json is saved after every phase; deploy.md at the end."""
    shapes = load_shapes(cfg.queries_dir)
    mix = load_mix(cfg.mix)
    traffic.check_mix(mix, shapes)
    creates = concurrently.create_statements(cfg.migration)  # fail now on a migration it
    concurrently.drop_statements(cfg.migration)  # cannot make concurrent
    revision_id = None
    if not concurrently.is_sql(cfg.migration):
        module = migrate.load_migration(cfg.migration)
        revision_id = str(getattr(module, "revision", "")) or None
    results = _new_results(cfg, mix, revision_id)
    wall = time.perf_counter()
    workdir = leftovers.scratch_folder("deploy")  # gone even if the harness is killed
    charts: Future[list[str]] | None = None
    loading = prefetch(("bench.report.deploy_charts",))  # matplotlib, while the server starts
    try:
        echo("provision ...")
        with provision(cfg.dsn, keep=cfg.keep) as target, ExitStack() as sweep_dbs:
            results.server = _server(target)
            echo(f"provision: scratch database {target.dbname} on the {target.source} server")
            with step(echo, "seed"):
                dbs = [(scale, sweep_dbs.enter_context(scratch_database(
                    target.admin_conninfo, target.source))) for scale in cfg.sweep_scales]
                results.seed, sweep_seeds = _seed(cfg, target, dbs, echo)
            exe = pgbench.binary(target.source)
            with step(echo, "traffic: pgbench scripts and their lookup tables"), \
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix="traffic") as pool:
                # The sweep's databases get theirs meanwhile, on the other core: nothing is
                # measured yet.
                sweep_loads = pool.submit(lambda: [_traffic(db, shapes, mix, cfg.seed, cfg)
                                                   for _scale, db in dbs])
                load = _traffic(target, shapes, mix, cfg.seed, cfg)
                sweep_traffic = sweep_loads.result()
            revision = concurrently.write_revision(cfg.migration, cfg.out)
            results.revision_file = revision.name
            echo(f"concurrently: wrote {cfg.out / revision.name}")
            save(results, cfg)
            with twin_database(target) as other:
                _prewarm(target, other)
                plan = _plan(cfg, exe, target, load, workdir, "main")
                results.load = _load_spec(plan, load, exe, mix)
                echo(f"load: {plan.rate:.1f} transactions/s over {plan.clients} connections "
                     f"({load.write_rate:.1f}/s writes, {load.read_rate * plan.read_scale:.1f}/s "
                     f"reads = the mix's {load.read_rate:g}/s x {plan.read_scale:.3g})")
                with step(echo, "as written, under load"):
                    results.as_written = migrate_under_load(
                        plan, other, "as_written", cfg.migration.name,
                        _as_written(cfg),
                        "as-written", on_terminal(cfg.progress))
                _say(echo, results.as_written)
                _restore_both(target, other, load)  # both: the twins keep one history
                _prewarm(target, other)  # the new indexes too
                save(results, cfg)

                with step(echo, "throughput without and with the indexes"):
                    results.throughput = Throughput(
                        seconds_per_run=cfg.throughput_seconds,
                        runs_per_side=cfg.runs_per_side, order=throughput.ORDER)
                    throughput.measure(
                        exe, {"without": target, "with": other},
                        {"read": _weighted(plan, "read"), "write": _weighted(plan, "write")},
                        cfg.clients, cfg.throughput_seconds, cfg.runs_per_side, workdir,
                        cfg.seed, echo, results.throughput,
                        lambda last: (_restore(target, load) if last
                                      else _restore_both(target, other, load)),
                        on_terminal(cfg.progress))
                save(results, cfg)

                # The failure case's build waits out its lock_timeout on the as-written twin,
                # idle by now, while the concurrent build's load starts on the other: two
                # databases, so neither waits for the other, and the waiting takes no CPU.
                # The remedy, a build, runs after the concurrent build.
                index = _smallest(creates, results.seed.rows if results.seed else {})
                with ThreadPoolExecutor(max_workers=1,
                                        thread_name_prefix="invalid-index") as pool:
                    failing = pool.submit(concurrently.fail_build, other, *index,
                                          cfg.lock_timeout_ms)
                    with step(echo, "concurrently, under load"):
                        results.concurrently = migrate_under_load(
                            plan, target, "concurrently", revision.name,
                            lambda e: concurrently.run_revision(e, revision, "upgrade"),
                            "concurrently", on_terminal(cfg.progress))
                    _say(echo, results.concurrently)
                    save(results, cfg)
                    with step(echo, "concurrently: the INVALID index case"):
                        results.invalid_index = _invalid_index(other, revision,
                                                               failing.result())
                save(results, cfg)
            if dbs:
                results.sweep = _sweep(cfg, dbs, sweep_seeds, sweep_traffic, exe, workdir,
                                       results, plan, load, echo)
                save(results, cfg)
            charts = _charts_meanwhile(results, cfg.out)  # while the server goes
        results.complete = True
    finally:
        results.wall_seconds = round(time.perf_counter() - wall, 2)
        save(results, cfg)
        leftovers.remove_scratch_folder(workdir)
        loading.join()
        if results.as_written or results.throughput:
            from bench.report.deploy import write_report

            write_report(results, cfg.out, _drawn(charts))
    return results


def _charts_meanwhile(results: DeployResults, out: Path) -> Future[list[str]]:
    """The charts, drawn on a thread while the databases are dropped and the server stopped
    (a second or so at scale 1, with nothing left to measure). They show the measured figures
    only; deploy.md, which gives the run's time, is written after. matplotlib is imported on
    the thread too, where a Ctrl-C cannot cut its import short."""
    out.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deploy-charts")
    try:
        return pool.submit(_draw_charts, results, out)
    finally:
        pool.shutdown(wait=False)


def _draw_charts(results: DeployResults, out: Path) -> list[str]:
    from bench.report import deploy_charts

    return deploy_charts.draw_all(results, out)


def _drawn(charts: Future[list[str]] | None) -> list[str] | None:
    """The charts the thread drew; None (draw them now) if it did not get to or failed."""
    if charts is None:
        return None
    try:
        return charts.result()
    except Exception:  # drawn again in the foreground, where an error is reported
        return None


def _as_written(cfg: DeployConfig) -> Callable[[sa.Engine], object]:
    """The migration as the main run applies it, on a connection of the engine given."""
    if concurrently.is_sql(cfg.migration):
        return lambda e: migrate.run_sql_engine(e, cfg.migration, "upgrade")
    return lambda e: migrate.run_migration(e, cfg.migration, "upgrade")


def save(results: DeployResults, cfg: DeployConfig) -> None:
    from bench.results.store import save as save_model

    save_model(results, cfg.out / "deploy.json")


def _new_results(cfg: DeployConfig, mix: WorkloadMix, revision: str | None) -> DeployResults:
    return DeployResults(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=environment.collect(cfg.app.root),
        migration_name=migration_name(cfg.migration.name, revision),
        config=DeploySettings(
            scale=cfg.scale, seed=cfg.seed, clients=list(cfg.clients),
            load_clients=cfg.load_connections, lead_seconds=cfg.lead_s,
            throughput_seconds=cfg.throughput_seconds, sweep_scales=list(cfg.sweep_scales),
            at_scale=cfg.at_scale, lock_timeout_ms=cfg.lock_timeout_ms,
            migration=cfg.migration.name, mix=mix.source,
            command_line=" ".join(cfg.argv), dsn=redact(cfg.dsn) if cfg.dsn else None),
    )


def _server(target: Target) -> ServerInfo:
    info = ServerInfo(source="dsn" if target.source == "dsn" else "embedded",
                      database=target.dbname)
    with target.connect() as conn:
        info.settings = reads.read_settings(conn)
        row = conn.execute("SELECT version()").fetchone()
        info.version = str(row[0]) if row else None
    return info


def _seed_cfg(cfg: DeployConfig, scale: float) -> RunConfig:
    return RunConfig(scale=scale, seed=cfg.seed, progress=cfg.progress,
                     app=cfg.app)


def _seed(cfg: DeployConfig, target: Target, sweep: list[tuple[float, Target]], echo: Echo
          ) -> tuple[SeedRecord, list[SeedRecord]]:
    """The run's database and the sweep's, seeded in one bulk-load window of the embedded
    server (its two restarts once, not once per database); the sweep's are measured last."""
    bulk: AbstractContextManager[dict[str, object]] = (
        bulk_load_mode(target.conninfo) if target.source == "embedded" else nullcontext({}))
    with bulk as server_settings:
        main = seed_database(target, _seed_cfg(cfg, cfg.scale), echo, bulk_mode=False)
        start = time.perf_counter()
        points = [seed_database(db, _seed_cfg(cfg, scale), lambda _line: None,
                                bulk_mode=False) for scale, db in sweep]
        if points:
            echo(f"seed: the sweep's scales {', '.join(f'{s:g}' for s, _db in sweep)}: "
                 f"{sum(p.total_rows for p in points):,} rows in "
                 f"{time.perf_counter() - start:.1f} s")
    if server_settings:
        main.server_settings = dict(server_settings)
        echo(f"seed: {bulk_mode_summary(server_settings)}")
    return main, points


def _traffic(target: Target, shapes: list[Shape], mix: WorkloadMix, seed: int,
             cfg: DeployConfig) -> traffic.Traffic:
    with target.connect(autocommit=True) as conn:
        return traffic.prepare(conn, shapes, mix, seed, load_app_writes(cfg.app.writes),
                               cfg.app.copy_tables)


def _restore(target: Target, load: traffic.Traffic) -> None:
    with target.connect(autocommit=True) as conn:
        traffic.restore(conn, load)


def _prewarm(*twins: Target) -> None:
    """Every table and index of both twins in shared buffers (pg_prewarm, where the role may),
    so that neither side starts a phase with a cold cache."""
    for twin in twins:
        with twin.connect() as conn:
            tables = catalog.app_tables(conn)
        cache.prewarm(twin.conninfo, tables)


def _restore_both(a: Target, b: Target, load: traffic.Traffic) -> None:
    """Both twins' rows back, the two at once (one connection each, nothing is measured
    meanwhile), then a quiet disk (the restore's writeback would otherwise slow the commits of
    the next write-mix runs). Both are waited for, also on an error or Ctrl-C."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="restore") as pool:
        done = [pool.submit(_restore, twin, load) for twin in (a, b)]
        for future in done:
            future.result()
    settle(a)


def _plan(cfg: DeployConfig, exe: Path, target: Target, load: traffic.Traffic, workdir: Path,
          tag: str) -> LoadPlan:
    """The load: writes at the mix's rates; reads at the mix's rates too, unless that would
    take more than cfg.read_budget cores on the unmigrated database (measured: one client
    running the read mix for a second), then scaled down to fit."""
    scripts = load.writes + load.reads
    files = traffic.write_files(scripts, workdir / f"scripts-{tag}")
    plan = LoadPlan(exe, scripts, files, cfg.load_connections, 1.0, cfg.lead_s, cfg.seed,
                    workdir)
    if not load.reads:
        return plan
    txns = pgbench.run(exe, target.conninfo, _weighted(plan, "read"), 1, CALIBRATION_SECONDS,
                       workdir, cfg.seed, f"calibrate-{tag}")
    times = [t.exec_ms for t in txns if t.exec_ms is not None]
    mean_ms = sum(times) / len(times) if times else None
    scale = 1.0
    if mean_ms:
        scale = min(1.0, cfg.read_budget * 1000 / mean_ms / load.read_rate)
    return replace(plan, read_scale=scale, read_cost_ms=mean_ms, read_samples=len(times))


def _weighted(plan: LoadPlan, kind: str) -> list[tuple[Path, int]]:
    return [(f, s.weight()) for f, s in zip(plan.files, plan.scripts, strict=True)
            if s.kind == kind]


def _load_spec(plan: LoadPlan, load: traffic.Traffic, exe: Path, mix: WorkloadMix) -> LoadSpec:
    return LoadSpec(
        pgbench=pgbench.version(exe), protocol=pgbench.PROTOCOL, clients=plan.clients,
        rate_per_s=round(plan.rate, 3), read_rate_per_s=round(load.read_rate * plan.read_scale, 3),
        write_rate_per_s=round(load.write_rate, 3), read_scale=round(plan.read_scale, 4),
        read_cost_ms=round(plan.read_cost_ms, 3) if plan.read_cost_ms else None,
        read_cost_reads=plan.read_samples,
        lead_seconds=plan.lead_s, drain_share=DRAIN_SHARE, mix_source=mix.source,
        scripts=[LoadScript(name=s.name, kind=s.kind, table=s.table,
                            weight=s.weight(plan.scale(s)), rate_per_s=round(s.rate_per_s, 3),
                            sql=s.text) for s in plan.scripts],
    )


def _say(echo: Echo, m: MigrationUnderLoad | None) -> None:
    if m is None:
        return
    worst = max(m.tables, key=lambda t: t.longest_stall_ms or 0, default=None)
    if worst and worst.longest_stall_ms is not None:
        echo(f"{m.method.replace('_', ' ')}: {m.seconds:.2f} s; longest write stall "
             f"{worst.longest_stall_ms / 1000:.2f} s ({worst.table}), "
             f"{sum(t.slow_during for t in m.tables)} writes over 100 ms")


def _invalid_index(target: Target, revision: Path, failure: concurrently.Failure
                   ) -> InvalidIndexCase:
    engine = engine_for(target)
    try:
        return concurrently.remedy(target, engine, revision, failure)
    finally:
        engine.dispose()


def _smallest(creates: list[tuple[str, str, str]], rows: dict[str, int]) -> tuple[str, str, str]:
    """The first index on the smallest table: the quickest to build, for the failure case."""
    return min(creates, key=lambda c: rows.get(c[1], 0))


def _sweep(cfg: DeployConfig, dbs: list[tuple[float, Target]], seeds: list[SeedRecord],
           loads: list[traffic.Traffic], exe: Path, workdir: Path, results: DeployResults,
           main: LoadPlan, main_load: traffic.Traffic, echo: Echo) -> StallSweep:
    """The migration as written under the same load at smaller sizes, each in a scratch
    database of its own on the same server (seeded with the run's, its lookup tables made
    with the run's); stall against rows, fitted and extrapolated.

    Each database is prewarmed first, as the run's own is before its calibration and its
    migration: the sweep's databases were seeded long before, and their pages are not in
    shared buffers. Each scale's read cost is measured for a second, as the run's own is."""
    points = []
    lead_s = max(SWEEP_MIN_LEAD_S, cfg.lead_s * SWEEP_LEAD_SHARE)
    for (scale, db), seed, load in zip(dbs, seeds, loads, strict=True):
        with step(echo, f"sweep: as written at scale {scale:g}"):
            _prewarm(db)  # as the run's own scale is: every point of the fit starts warm
            plan = replace(_plan(cfg, exe, db, load, workdir, f"sweep-{scale:g}"),
                           lead_s=lead_s)
            m = migrate_under_load(plan, db, "as_written", cfg.migration.name,
                                   _as_written(cfg),
                                   f"sweep-{scale:g}", on_terminal(cfg.progress))
            points.append(_point(scale, seed.rows, m, plan, load))
    if results.as_written and results.seed:
        points.append(_point(cfg.scale, results.seed.rows, results.as_written, main,
                             main_load))
    sweep = fit_sweep(sorted(points, key=lambda p: p.scale), cfg.at_scale)
    sweep.lead_seconds, sweep.prewarmed = lead_s, True
    return sweep


def _point(scale: float, rows: dict[str, int], m: MigrationUnderLoad, plan: LoadPlan,
           load: traffic.Traffic) -> SweepPoint:
    return SweepPoint(scale=scale, rows=sum(rows.values()), table_rows=rows,
                      migration_seconds=m.seconds, longest_stall_ms=m.longest_stall_ms,
                      stall_ms={t.table: t.longest_stall_ms for t in m.tables
                                if t.longest_stall_ms is not None},
                      read_rate_per_s=round(load.read_rate * plan.read_scale, 3),
                      read_cost_ms=round(plan.read_cost_ms, 3) if plan.read_cost_ms else None)


def fit_sweep(points: list[SweepPoint], at_scale: float) -> StallSweep:
    # Rows grow in proportion to the scale: from the largest point measured.
    largest = max(points, key=lambda p: p.scale)
    at_rows = round(largest.rows / largest.scale * at_scale)
    sweep = StallSweep(points=points, at_scale=at_scale, at_rows=at_rows)
    xs = [float(p.rows) for p in points]
    sweep.migration_fit = stalls.fit_power(xs, [p.migration_seconds for p in points])
    if sweep.migration_fit:
        a, b = sweep.migration_fit
        sweep.predicted_migration_s = round(a * at_rows ** b, 2)
    with_stall = [p for p in points if p.longest_stall_ms]
    sweep.stall_fit = stalls.fit_power([float(p.rows) for p in with_stall],
                                       [p.longest_stall_ms or 0.0 for p in with_stall])
    if sweep.stall_fit:
        a, b = sweep.stall_fit
        sweep.predicted_stall_ms = round(a * at_rows ** b, 1)
    return sweep
