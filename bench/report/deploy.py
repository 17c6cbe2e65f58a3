"""deploy.md and its charts, from deploy.json alone (the result model of bench.results.deploy).

`python -m bench report reports/deploy` redraws them from the file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from bench.errors import ResultsError
from bench.formatting import ms
from bench.results.deploy import (
    SLOW_MS,
    DeployResults,
    LatencyStats,
    MigrationUnderLoad,
    StallSweep,
    TableStall,
    Throughput,
)

CHARTS = ("deploy_timeline.png", "deploy_throughput.png", "deploy_growth.png")


def load(path: Path) -> DeployResults:
    """deploy.json (or its folder), validated; one clear line if it is not one."""
    file = path / "deploy.json" if path.is_dir() else path
    try:
        return DeployResults.model_validate_json(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"cannot read {file}: {exc}") from None
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        raise ResultsError(f"{file}: not a deploy.json of pg-index-bench: {where}: "
                           f"{e['msg']}") from None


def write_report(results: DeployResults, out_dir: Path, charts: list[str] | None = None
                 ) -> Path:
    """Draw the charts (unless `charts` names the ones already drawn in `out_dir`) and write
    deploy.md beside them; return deploy.md's path."""
    from bench.report import deploy_charts

    out_dir.mkdir(parents=True, exist_ok=True)
    if charts is None:
        charts = deploy_charts.draw_all(results, out_dir)
    path = out_dir / "deploy.md"
    path.write_text(render(results, charts))
    return path


def redraw(path: Path, out: Path | None = None) -> Path:
    results = load(path)
    folder = out or (path if path.is_dir() else path.parent)
    return write_report(results, folder)


# --- figures ----------------------------------------------------------------------------------


def dur(value_ms: float | None) -> str:
    """A duration: 4.32 s, 43.2 s, 432 s from a second on, else in ms."""
    if value_ms is None:
        return "–"
    seconds = value_ms / 1000
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.2f} s" if seconds >= 1 else ms(value_ms)


def _lat(s: LatencyStats) -> str:
    if not s.n:
        return "–"
    return f"{dur(s.p50_ms)} / {dur(s.p99_ms)} / {dur(s.max_ms)}"


def _scale(results: DeployResults) -> str:
    rows = results.seed.total_rows if results.seed else None
    return f"scale {results.config.scale:g}" + (f" ({rows:,} rows)" if rows else "")


def _worst(m: MigrationUnderLoad) -> TableStall | None:
    stalled = [t for t in m.tables if t.longest_stall_ms is not None]
    return max(stalled, key=lambda t: t.longest_stall_ms or 0.0) if stalled else None


def recommendation(results: DeployResults) -> str:
    """One line: how to deploy, with the figures that say why."""
    a, c = results.as_written, results.concurrently
    if not a:
        return "No recommendation: the migration as written was not measured."
    worst = _worst(a)
    if worst is None or worst.longest_stall_ms is None:
        return "No recommendation: no write ran during the migration as written."
    slow = sum(t.slow_during for t in a.tables)
    where = f"at {_scale(results)}"
    grow = ""
    s = results.sweep
    if s and s.predicted_stall_ms:
        grow = (f"; at scale {s.at_scale:g} ({s.at_rows:,} rows) it would be about "
                f"{dur(s.predicted_stall_ms)}")
    if not c or _worst(c) is None:
        return (f"As written, writes to {worst.table} wait up to {dur(worst.longest_stall_ms)} "
                f"{where}{grow}; the concurrent build was not measured.")
    cw = _worst(c)
    assert cw is not None and cw.longest_stall_ms is not None
    longer = c.seconds / a.seconds if a.seconds else float("nan")
    if worst.longest_stall_ms <= SLOW_MS:
        return (f"Either way at this size: as written, the slowest write took "
                f"{dur(worst.longest_stall_ms)} {where} (none over {SLOW_MS:g} ms){grow}; "
                f"concurrently {dur(cw.longest_stall_ms)}, and the build takes {longer:.1f}x "
                f"as long ({a.seconds:.2f} s -> {c.seconds:.2f} s). Prefer CONCURRENTLY "
                f"({results.revision_file}) before the tables grow.")
    return (f"Deploy with CREATE INDEX CONCURRENTLY ({results.revision_file}): as written, "
            f"writes to {worst.table} wait up to {dur(worst.longest_stall_ms)} {where} ({slow} "
            f"writes over {SLOW_MS:g} ms across the tables){grow}; concurrently, at most "
            f"{dur(cw.longest_stall_ms)}, and the build takes {longer:.1f}x as long "
            f"({a.seconds:.2f} s -> {c.seconds:.2f} s).")


# --- sections ---------------------------------------------------------------------------------


def _load_section(results: DeployResults) -> list[str]:
    load = results.load
    if not load:
        return []
    lines = [
        "## The load",
        "",
        f"pgbench ({load.pgbench.removeprefix('pgbench ')}, `--protocol {load.protocol}`) "
        "plays the app's traffic from "
        f"`{load.mix_source}`: every query shape and write workload as a script of its own, "
        f"picked at random by its weight (calls or statements per second), at "
        f"**{load.rate_per_s:.1f} transactions/s** in all over **{load.clients} connections** "
        f"(`--rate`, like an app with a pool of {load.clients}): writes at the mix's "
        f"{load.write_rate_per_s:.1f}/s, reads at {load.read_rate_per_s:.1f}/s.",
    ]
    if load.read_scale < 1 and load.read_cost_ms:
        lines.append(
            f"The mix's reads are scaled by {load.read_scale:.3g}: on the unmigrated database "
            f"a read takes {dur(load.read_cost_ms)} on average (one client, measured), and at "
            "the mix's full rate the reads alone would saturate this machine, so that every "
            "figure below would be CPU starvation rather than the migration. At the scaled "
            "rate they take half a core.")
    lines += [
        f"Each migration runs after {load.lead_seconds:g} s of load, which goes on for "
        f"{load.lead_seconds:g} s after it ends"
        + (f", and at least {load.drain_share:g}x the migration's length (so that the writes "
           "queued behind its locks have finished)" if load.drain_share else "")
        + ". Every script is one statement in its own transaction; its parameters come from "
        "lookup tables picked by pgbench's `random()` (see the scripts below).",
        "",
        "| Script | Kind | Rate (mix) | Weight |",
        "|---|---|---|---|",
    ]
    for s in load.scripts:
        lines.append(f"| `{s.name}` | {s.kind} | {s.rate_per_s:g}/s | {s.weight} |")
    lines.append("")
    return lines


def _table_rows(m: MigrationUnderLoad) -> list[str]:
    lines = [
        "| Table | Rows | Writes during | Latency during: p50 / p99 / max | Outside: p50 / p99 "
        f"/ max | Longest stall | Longest lock wait | Writes > {SLOW_MS:g} ms (during / "
        "outside) | Connection-s held up | Lock waits sampled |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in m.tables:
        rows = f"{t.rows:,}" if t.rows is not None else "–"
        sampled = (f"{t.lock_wait_client_s:.2f} s, up to {t.max_waiting} at once"
                   if t.max_waiting else "none")
        lines.append(
            f"| `{t.table}` | {rows} | {t.during.n} | {_lat(t.during)} | {_lat(t.outside)} | "
            f"**{dur(t.longest_stall_ms)}** | {dur(t.longest_lock_wait_ms)} | {t.slow_during} / "
            f"{t.slow_outside} | {t.blocked_client_s:.2f} | {sampled} |")
    return lines


def _reads_rows(m: MigrationUnderLoad) -> list[str]:
    lines = [
        "| Shape | Reads during | Latency during: p50 / p99 / max | Own time during: p50 / p99 "
        "/ max | Outside: p50 / p99 / max |",
        "|---|---|---|---|---|",
    ]
    for r in m.reads:
        lines.append(f"| `{r.shape}` | {r.during.n} | {_lat(r.during)} | "
                     f"{_lat(r.during_exec)} | {_lat(r.outside)} |")
    lines.append(f"| all reads | {m.reads_during.n} | {_lat(m.reads_during)} | "
                 f"{_lat(m.reads_exec_during)} | {_lat(m.reads_outside)} |")
    return lines


def _waits_rows(m: MigrationUnderLoad) -> list[str]:
    if not m.lock_waits:
        return [f"The sampler (every {m.sample_interval_ms:.0f} ms, `pg_locks` joined with "
                "`pg_stat_activity`) saw no backend waiting for a lock.", ""]
    lines = [f"Lock waits sampled every {m.sample_interval_ms:.0f} ms (`pg_locks` with "
             "`pg_stat_activity`, not granted):", "",
             "| Who waited | On | Lock | Samples | Connection-s |", "|---|---|---|---|---|"]
    for w in m.lock_waits:
        on = f"`{w.table}`" if w.table else f"a transaction ({w.locktype})"
        lines.append(f"| {w.who} | {on} | {w.mode} | {w.samples} | {w.client_s:.2f} |")
    return [*lines, ""]


def _as_written_section(results: DeployResults) -> list[str]:
    m = results.as_written
    if not m:
        return []
    first = min(m.builds, key=lambda b: b.start_s) if m.builds else None
    lines = [
        "## As written: one transaction",
        "",
        f"`{m.revision_file}` runs exactly as the main run applies it ("
        + ("its statements in one transaction" if m.revision_file.endswith(".sql")
           else "Alembic's operations API, one transaction")
        + f") on twin `{m.database}` while the load runs there: "
        f"**{m.seconds:.2f} s** from its first `CREATE INDEX` to its commit. Each plain "
        "`CREATE INDEX` takes a SHARE lock on its table: reads go on, but INSERT, UPDATE and "
        "DELETE wait, and in one transaction every lock is held until the last index is built "
        "and the transaction commits.",
    ]
    if first:
        lines.append(
            f"The first lock went to `{first.table}` ({first.name}), held for "
            f"{m.end_s - first.start_s:.2f} s. Once every connection of the pool is stuck "
            "behind it, writes to the other tables and the reads wait for a connection too: "
            "their latency (from when each was due) grows while their own time stays short.")
    lines += ["", *_table_rows(m), "",
              f"All writes: {_lat(m.writes_during)} during (p50 / p99 / max), "
              f"{_lat(m.writes_outside)} outside.", "",
              "Reads during the migration against outside it:", "", *_reads_rows(m), "",
              *_waits_rows(m)]
    return lines


def _concurrently_section(results: DeployResults) -> list[str]:
    m, a = results.concurrently, results.as_written
    if not m:
        return []
    lines = [
        "## Concurrently: one index per transaction",
        "",
        (f"`{m.revision_file}` (in this folder: a ready .sql file, the migration's `CREATE "
         "INDEX` statements rewritten) builds every index with `CREATE INDEX CONCURRENTLY`, "
         "each statement on its own outside a transaction block, one per "
         if m.revision_file.endswith(".sql") else
         f"`{m.revision_file}` (in this folder: a ready Alembic revision, derived from the "
         "migration by rendering its operations with Alembic's offline mode) builds every "
         "index with `CREATE INDEX CONCURRENTLY` inside `op.get_context().autocommit_block()`, "
         "one per ")
        + f"transaction, on twin `{m.database}` under the same load: **{m.seconds:.2f} s**"
        + (f" ({m.seconds / a.seconds:.1f}x the {a.seconds:.2f} s as written)." if a and
           a.seconds else "."),
        "",
        *_table_rows(m), "",
        f"All writes: {_lat(m.writes_during)} during (p50 / p99 / max), "
        f"{_lat(m.writes_outside)} outside.", "",
        "Reads during the migration against outside it:", "", *_reads_rows(m), "",
        *_waits_rows(m),
    ]
    if a and a.builds and m.builds:
        plain = {b.name: b for b in a.builds}
        lines += ["| Index | Table | Build as written | Build concurrently |",
                  "|---|---|---|---|"]
        for b in m.builds:
            p = plain.get(b.name)
            lines.append(f"| `{b.name}` | `{b.table}` | "
                         f"{dur(p.seconds * 1000) if p else '–'} | {dur(b.seconds * 1000)} |")
        lines.append("")
    return lines


def _img(name: str, charts: list[str] | tuple[str, ...]) -> list[str]:
    return [f"![{name}]({name})", ""] if name in charts else []


def _versus_section(results: DeployResults, charts: list[str] | tuple[str, ...]) -> list[str]:
    a, c = results.as_written, results.concurrently
    if not a or not c:
        return []
    lines = [
        "## Stall per table: as written against concurrently",
        "",
        "| Table | Longest write stall as written | Concurrently | Writes > "
        f"{SLOW_MS:g} ms as written | Concurrently | p99 during as written | Concurrently |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in a.tables:
        u = c.table(t.table)
        lines.append(
            f"| `{t.table}` | **{dur(t.longest_stall_ms)}** | "
            f"**{dur(u.longest_stall_ms) if u else '–'}** | {t.slow_during} | "
            f"{u.slow_during if u else '–'} | {dur(t.during.p99_ms)} | "
            f"{dur(u.during.p99_ms) if u else '–'} |")
    lines += ["", f"Migration: {a.seconds:.2f} s as written, {c.seconds:.2f} s concurrently.",
              "", *_img("deploy_timeline.png", charts)]
    return lines


def _invalid_section(results: DeployResults) -> list[str]:
    case = results.invalid_index
    if not case:
        return []
    lines = [
        "## When a concurrent build fails: the INVALID index",
        "",
        f"A concurrent build waits for every transaction older than itself. Reproduced on "
        f"`{case.index}` (`{case.table}`, the smallest table)"
        + (f" on twin `{case.database}`" if case.database else "") + ": another session ran "
        f"`{case.holder_sql}` and left its transaction open; the build ran with "
        f"`lock_timeout = {case.lock_timeout_ms:g}ms`.",
        "",
    ]
    if case.error:
        lines.append(f"- It failed after {case.failed_after_s:.2f} s: `ERROR: {case.error}`.")
    else:
        lines.append("- It did not fail (the build finished before the timeout).")
    lines.append(f"- Detected: `pg_index.indisvalid` is "
                 f"{'false' if case.invalid_detected else 'true'} for `{case.index}` "
                 f"({'an INVALID index was left behind' if case.invalid_detected else 'valid'}"
                 f"). To list every invalid index: `{case.detect_sql}`.")
    if case.rerun_skipped:
        lines.append("- Running `CREATE INDEX CONCURRENTLY IF NOT EXISTS` again does nothing "
                     "(a NOTICE, \"already exists, skipping\"): the index stays INVALID, unused "
                     "by every query and still updated by every write.")
    if case.invalid_detected:
        done = ("valid" if case.valid_after_remedy else "still INVALID")
        lines.append("- Remedy: end the long transaction, then " + "; ".join(
            f"`{s}`" for s in case.remedy_sql) + f". The generated revision does this itself: "
            f"its `upgrade()` drops an INVALID leftover before building; run again, it took "
            f"{case.remedy_seconds or 0:.2f} s and the index is {done}.")
    lines += ["- Do not give a concurrent build a `lock_timeout`: its waiting blocks no write. "
              "If a deploy tool sets one, drop the invalid index and retry.", ""]
    return lines


def _pct_change(without: float | None, with_: float | None) -> str:
    if not without or with_ is None:
        return "–"
    change = 100 * (with_ / without - 1)
    if with_ / without >= 10:
        return f"**{with_ / without:.0f}x**"
    return f"**{change:+.0f}%**"


def throughput_rows(t: Throughput) -> list[str]:
    lines = ["| Mix | Clients | tps without | tps with | Change | p50 without → with | "
             "p99 without → with |", "|---|---|---|---|---|---|---|"]
    for mix in ("write", "read"):
        for clients in sorted({c.clients for c in t.cells if c.mix == mix}):
            w, m = t.cell(mix, clients, "without"), t.cell(mix, clients, "with")
            if not w or not m:
                continue
            lines.append(
                f"| {mix} | {clients} | {_tps(w.tps)} | {_tps(m.tps)} | "
                f"{_pct_change(w.tps, m.tps)} | {dur(w.p50_ms)} → {dur(m.p50_ms)} | "
                f"{dur(w.p99_ms)} → {dur(m.p99_ms)} |")
    return lines


def _tps(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _throughput_section(results: DeployResults,
                        charts: list[str] | tuple[str, ...]) -> list[str]:
    t = results.throughput
    if not t:
        return []
    return [
        "## Throughput without and with the indexes",
        "",
        "The write mix (every write workload, weighted by the mix) and the read mix (every "
        "shape, weighted) at full speed, pgbench without `--rate`, on the two twins: one "
        f"unmigrated, one migrated, the same rows. In order: {t.order} "
        f"({t.runs_per_side} runs of {t.seconds_per_run} s per twin), so drift of the machine "
        "lands on both; after the write mix both twins get their rows back and a VACUUM. tps "
        "is the mean over the runs; latency is each transaction's own time, p50 and p99 over "
        "all runs.",
        "",
        *throughput_rows(t),
        "",
        *_img("deploy_throughput.png", charts),
    ]


def _sweep_section(results: DeployResults, charts: list[str] | tuple[str, ...]) -> list[str]:
    s: StallSweep | None = results.sweep
    if not s or not s.points:
        return []
    lines = [
        "## How the stall grows with the data",
        "",
        "The migration as written under the same load at smaller sizes (each in a scratch "
        "database of its own" + (", prewarmed as the run's own" if s.prewarmed else "")
        + "; the reads scaled to the same budget"
        + (f"; {s.lead_seconds:g} s of load before each migration and as long after it, at "
           "least a quarter of the migration's length" if s.lead_seconds else "") + "):",
        "",
    ]
    rates = any(p.read_rate_per_s is not None for p in s.points)
    head = " Reads/s of the load (a read's time) |" if rates else ""
    lines += [f"| Scale | Rows |{head} Migration as written | Longest write stall |",
              "|---|---|" + ("---|" if rates else "") + "---|---|"]
    for p in s.points:
        load = ((f" {p.read_rate_per_s:.1f} ({dur(p.read_cost_ms)}) |"
                 if p.read_rate_per_s is not None else " – |") if rates else "")
        lines.append(f"| {p.scale:g} | {p.rows:,} |{load} {p.migration_seconds:.2f} s | "
                     f"{dur(p.longest_stall_ms)} |")
    lines.append("")
    if s.migration_fit and s.stall_fit and s.predicted_stall_ms is not None:
        lines.append(
            f"Fitted over the scales (least squares on logarithms): the migration's duration "
            f"grows as rows^{s.migration_fit[1]:.2f}, the longest stall as "
            f"rows^{s.stall_fit[1]:.2f}. At scale {s.at_scale:g} ({s.at_rows:,} rows, "
            f"`--at-scale`), as written, the migration would take about "
            f"**{s.predicted_migration_s or 0:.0f} s** and writes would stall for about "
            f"**{dur(s.predicted_stall_ms)}**: an extrapolation, on this machine, under this "
            "load.")
        lines += ["", *_img("deploy_growth.png", charts)]
    return lines


def _how_section(results: DeployResults) -> list[str]:
    case, c = results.invalid_index, results.concurrently
    failing = (" (the failing build on the as-written twin, idle by then, while that load "
               "starts: it waits for a lock, in another database)"
               if case and c and case.database and case.database != c.database else "")
    return [
        "## How this was measured",
        "",
        "- The seeded database is copied into twins (`CREATE DATABASE ... TEMPLATE`). The "
        "migration as written runs on one twin under load; the throughput table compares the "
        "unmigrated and the migrated twin; the concurrent build then runs on the other twin "
        f"under the same load{failing}. After every load each twin gets its rows back "
        "(inserted rows deleted, updated rows restored, VACUUM) before it is measured again.",
        "- Latency counts from when a transaction was due under pgbench's `--rate` (pgbench's "
        "per-transaction log, `-l`, minus nothing): it includes the wait for a free connection, "
        "as an app's request waits for its pool. *Own time* is from when it started (the "
        "latency minus pgbench's schedule lag): for a write held up by a lock, the lock wait. "
        "A transaction is *during* the migration if it was due before the migration's commit "
        "and finished after its first `CREATE INDEX` began.",
        f"- *Connection-s held up*: the sum, over the writes during the migration, of their own "
        f"time beyond the table's usual (its median outside). *Writes > {SLOW_MS:g} ms*: "
        "latency over it.",
        "- pgbench gives each connection its own schedule, so a blocked connection's later "
        "transactions queue behind it rather than move to a free one.",
        "- The throughput runs are short; their tps moves with the machine's speed by tens of "
        "percent between runs: read large factors (the read mix) as such, small changes of the "
        "write mix as indicative.",
        "",
    ]


def render(results: DeployResults, chart_names: list[str] | tuple[str, ...] = CHARTS) -> str:
    status = "" if results.complete else (
        "\n> ⚠️ **Incomplete run**: it stopped early; the figures below are what was measured "
        "before it stopped.\n")
    server = results.server
    version = ""
    if server and server.version:
        version = " ".join(server.version.split()[:2]) + f" ({server.source}), "
    lines = [
        f"# Deploying {results.migration_name} under live traffic",
        status,
        f"**{recommendation(results)}**",
        "",
        f"{version}{_scale(results)}, seed {results.config.seed}, {results.config.load_clients} "
        f"connections of load; `{results.config.command_line or 'python -m bench deploy'}`.",
        "",
    ]
    lines += _versus_section(results, chart_names)
    lines += _throughput_section(results, chart_names)
    lines += _as_written_section(results)
    lines += _concurrently_section(results)
    lines += _invalid_section(results)
    lines += _sweep_section(results, chart_names)
    lines += _load_section(results)
    lines += _how_section(results)
    if results.load:
        lines += ["<details><summary>The pgbench scripts</summary>", ""]
        for s in results.load.scripts:
            lines += [f"`{s.name}` (weight {s.weight}):", "", "```", s.sql.rstrip(), "```", ""]
        lines += ["</details>", ""]
    env = results.environment
    lines += [
        f"<sub>pg-index-bench {env.harness_version}, commit "
        f"{(env.git_commit or 'unknown')[:10]}{' (dirty)' if env.git_dirty else ''}, "
        f"{env.cpu_count} CPU {env.cpu_model}, Python {env.python}, "
        f"run {results.started_at} in {results.wall_seconds or 0:.0f} s.</sub>",
        "",
    ]
    return "\n".join(lines)
