"""report.md from the result model alone: claimed next to measured, ready for a PR comment.

Only Markdown here; the charts are drawn by bench.report.charts and linked by file name.
"""

from __future__ import annotations

import math
import statistics

from bench.formatting import factor, mb, ms, pct
from bench.report import estimates as estimate_report
from bench.report import per_index
from bench.results.fidelity import headline as fidelity_headline
from bench.results.model import (
    CacheFit,
    ClonePair,
    Interval,
    MigrationRecord,
    QueryPhase,
    QueryResult,
    RunResults,
    WriteWorkload,
)

VERDICT_ICON = {"faster": "✅", "slower": "❌", "unchanged": "➖", "error": "⚠️"}


def _timing(phase: QueryPhase | None) -> str:
    if not phase or phase.median_ms is None:
        return f"not measured{': ' + phase.error if phase and phase.error else ''}"
    text = ms(phase.median_ms)
    if phase.median_ci95_ms:
        lo, hi = phase.median_ci95_ms
        text += f" ({ms(lo)}–{ms(hi)})"
    if phase.noisy:
        text += " ⚠️"
    return text


def _plan(phase: QueryPhase | None) -> str:
    if not phase or not phase.plan_summary:
        return "–"
    text = phase.plan_summary
    variants = phase.plan_variants
    if len(variants) > 1:
        text += f" (+{len(variants) - 1} other plan{'s' if len(variants) > 2 else ''})"
    return text


def _claim(q: QueryResult) -> str:
    c = q.claimed
    if not c:
        return "–"
    return f"{ms(c.before_ms)} → {ms(c.after_ms)} ({factor(c.factor)})"


def _measured_factor(q: QueryResult) -> str:
    if q.speedup is None or q.speedup_ci95 is None:
        return "–"
    lo, hi = q.speedup_ci95
    return f"**{factor(q.speedup)}** ({factor(lo)}–{factor(hi)})"


def _range(claim: Interval) -> str:
    return f"+{claim[0]:g}–{claim[1]:g}%"


def headline(results: RunResults) -> str:
    qs = [q for q in results.queries if q.verdict]
    counts = {k: sum(q.verdict == k for q in qs) for k in VERDICT_ICON}
    parts = [f"{counts['faster']} of {len(qs)} query shapes faster"]
    if counts["unchanged"]:
        parts.append(f"{counts['unchanged']} unchanged")
    if counts["slower"]:
        parts.append(f"{counts['slower']} slower")
    if counts["error"]:
        parts.append(f"{counts['error']} not measured")
    if any(q.claimed for q in qs):
        meets = sum(1 for q in qs if q.meets_claim)
        parts.append(f"{meets} of {len(qs)} reach the report's claimed factor")
    return "; ".join(parts) + "."


def _claims_text(results: RunResults) -> str:
    """'INSERT +3–5%, UPDATE +2–4%': the write claims as the report states them."""
    c = results.claims
    if not c:
        return ""
    parts = [f"{op} {_range(r)}" for op, r in (("INSERT", c.insert_overhead_pct),
                                               ("UPDATE", c.update_overhead_pct)) if r]
    return ", ".join(parts)


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else f"{n:,}"


def _created(mig: MigrationRecord | None) -> list[str]:
    if mig is None:
        return []
    return mig.created if mig.created is not None else mig.indexes


def _dropped(mig: MigrationRecord | None) -> list[str]:
    return (mig.dropped or []) if mig is not None else []


def _indexes(n: int) -> str:
    return f"{n} index{'' if n == 1 else 'es'}"


def _direction(values: list[float]) -> str:
    """What the write overheads say, as they are."""
    if values and max(values) < 0:
        return "cheaper"
    if values and min(values) > 0:
        return "dearer"
    return "cheaper for some workloads, dearer for others"


def cost_headline(results: RunResults) -> list[str]:
    """One line each for the write and disk costs, claimed next to measured."""
    lines = []
    done = results.measured_workloads
    if done:
        over = [w for w in done if w.verdict == "exceeds"]
        parts = []
        for op in ("insert", "copy", "update"):
            vals = [w.overhead_pct for w in done
                    if w.operation == op and w.overhead_pct is not None]
            if vals:
                parts.append(f"{op.upper()} {pct(min(vals))} to {pct(max(vals))}")
        ranges = ", ".join(parts)
        claimed = _claims_text(results)
        if over:
            lines.append(f"**Writes: {len(over)} of {len(done)} workloads cost more than claimed** "
                         f"(per row, server-side: {ranges}; claimed {claimed}).")
        elif any(w.claimed_pct for w in done):
            lines.append(f"**Writes: none of {len(done)} workloads measurably costs more than "
                         f"claimed** ({_verdict_counts(done)}; {ranges}).")
        elif not _dropped(results.migration):
            lines.append(f"**Writes: {ranges}** per row, server-side, with the new indexes.")
        else:
            values = [w.overhead_pct for w in done if w.overhead_pct is not None]
            what = ("without the dropped indexes" if not _created(results.migration)
                    else "with the migration's new indexes and without its dropped ones")
            lines.append(f"**Writes: {ranges}** per row, server-side, {what}: "
                         f"{_direction(values)}.")
    ix = results.disk
    if ix and ix.growth_pct is not None:
        claim = (f"; claimed {_range(ix.claimed_growth_pct)}" if ix.claimed_growth_pct else "")
        if not ix.dropped:
            lines.append(f"**Disk: {pct(ix.growth_pct)}** ({mb(ix.new_index_bytes)} of new "
                         f"indexes{claim}).")
        elif not ix.created:
            lines.append(f"**Disk: {pct(ix.growth_pct)}** ({mb(ix.freed_index_bytes)} freed by "
                         f"the {_indexes(len(ix.dropped))} dropped{claim}).")
        else:
            lines.append(f"**Disk: {pct(ix.growth_pct)}** net ({mb(ix.new_index_bytes)} of new "
                         f"indexes, {mb(ix.freed_index_bytes)} freed by the dropped "
                         f"ones{claim}).")
    return lines


def _setup_line(results: RunResults) -> str:
    cfg, seed, server = results.config, results.seed, results.server
    settings = server.settings if server else {}
    version = settings.get("server_version", "?")
    rows = f"{seed.total_rows:,} rows" if seed else "? rows"
    data = f"scale {cfg.scale:g} ({rows}), seed {cfg.seed}"
    if results.clones:  # --twins: the data is the clones' own
        data = (f"two clones you gave ({sum(results.clones.a.rows.values()):,} rows), "
                f"parameter seed {cfg.seed}")
    return (
        f"PostgreSQL {version} ({server.source if server else '?'}), "
        f"{data}; {_rounds_text(results)}; JIT {settings.get('jit', '?')}, "
        f"parallel workers "
        f"per gather {settings.get('max_parallel_workers_per_gather', '?')}, work_mem "
        f"{settings.get('work_mem', '?')}, shared_buffers {settings.get('shared_buffers', '?')}; "
        f"{_cache_text(results)}.{_load_text(results)}{_stopping_text(results)}"
    )


def _stopping_text(results: RunResults) -> str:
    """Sequential stopping: per figure, how many rounds it got and why they ended."""
    figures = [(q.name, q.stopped) for q in results.queries if q.stopped]
    figures += [(w.name, w.stopped) for w in (results.writes.workloads if results.writes else [])
                if w.stopped]
    if not any(r.reason == "decisive" for _n, r in figures):
        return ""
    early = [f"`{n}` {r.rounds}" for n, r in figures if r.reason == "decisive"]
    return (" Rounds end early where the verdict is settled (looks at rounds 8 and 16: an "
            "interval at 99.5% that holds no threshold of the verdict and is narrow enough; at "
            "the round cap the interval is at the level the looks leave, 96% for reads): "
            f"decisive early: {', '.join(early)}; the others ran to their round or time cap "
            "(`stopped` in results.json).")


def _rounds_text(results: RunResults) -> str:
    cfg, method = results.config, results.method
    if method is not None:
        aa = (f"; the A/A control: {method.aa_read_rounds} paired rounds"
              if method.aa_read_rounds else "; no A/A control")
        return (f"{cfg.rounds} paired rounds per shape (each runs the query on both twins, ABBA) "
                f"after {cfg.warmup} warm-up, interleaved across shapes{aa}")
    if cfg.rounds != "adaptive":
        text = f"{cfg.rounds} measured rounds"
    else:
        text = (f"adaptive rounds (at least {cfg.min_rounds}, until the median's 95% interval is "
                f"within ±5% or {cfg.max_time_s:g} s per shape are spent; the after phase repeats "
                "the before phase's rounds)")
    return f"{text} after {cfg.warmup} warm-up per shape and phase, interleaved across shapes"


def _cache_text(results: RunResults) -> str:
    c = results.cache
    if c and c.mode == "cold":
        return c.note or "cold cache"
    if c and c.pg_prewarm:
        both = "both twins' " if results.method is not None else ""
        fit = results.cache_fit
        unfit = ("; they do not all fit in shared_buffers" + (
            ", so they were measured in blocks of rounds per twin, each prewarmed again at its "
            "switch" if fit.order == "blocked" else "") if fit and not fit.fits else "")
        return (f"warm cache (pg_prewarm of {both}{c.relations} tables and indexes{unfit}, "
                "then warm-up)")
    reason = (c.reason if c else None) or "pg_prewarm unavailable"
    return "warm cache (warm-up rounds only: " + reason + ")"


def busy_machine_warning(results: RunResults) -> str:
    """A warning when other processes used the CPU while the run measured (empty if not)."""
    load = results.machine_load
    busy = load.busy_phase() if load else None
    if load is None or busy is None:
        return ""
    phase, cores = busy
    return (f"\n> ⚠️ **A busy machine**: other processes used {cores:.2f} of its "
            f"{load.cores or '?'} cores on average while it measured ({phase}). Contention "
            "stretches long operations more than short ones (on the reference 2-core machine a "
            "busy loop on the other core doubled seq-scan times and left index lookups as they "
            "were), so the speedups of plans that scan come out larger than on a quiet machine; "
            "the twins and the A/A control cannot cancel that. Rerun on a quiet machine.\n")


def cache_fit_warning(results: RunResults) -> str:
    """A warning when both twins did not fit in the server's shared_buffers (empty if they did,
    or were not checked), with what that cost as measured and what to do about it."""
    fit = results.cache_fit
    if fit is None or fit.fits:
        return ""
    added = results.disk.new_index_bytes if results.disk else 0
    with_indexes = (f", {_mib(fit.twins_bytes + added)} with the migration's indexes"
                    if added else "")
    text = (f"\n> ⚠️ **The twins do not fit in shared_buffers**: the two twin databases hold "
            f"{_mib(fit.twins_bytes)} of tables and indexes{with_indexes}, the server's "
            f"shared_buffers is {_mib(fit.shared_buffers_bytes)}, so ")
    if fit.order == "blocked":
        text += ("the run did not alternate them round by round (each round would read pages the "
                 "other twin has just pushed out) but measured them in blocks of rounds per twin, "
                 f"in ABBA order over {fit.order_cycles} cycles per phase, each twin prewarmed "
                 "(untimed) at its switch: the blocks' order still cancels a drift, and the A/A "
                 "control, measured in the same order, shows whether it did.")
    else:
        text += ("each round that alternates them (A B B A) reads pages the other twin has just "
                 "pushed out.")
    moved = fit.speedup_ratio
    if moved:
        what = "that" if fit.order != "blocked" else "measuring both in one phase still"
        text += (f" What {what} cost, measured after the read phase by running each twin alone "
                 f"on the parameters of its first {fit.rounds} rounds: the before-times were "
                 f"{_spread(fit.before_ratio)} and the after-times {_spread(fit.after_ratio)} "
                 f"those of each twin alone, so the speedups below are {_spread(moved)} of "
                 "what each twin alone gives (medians over shapes, then the range).")
        text += (f" Blocks read from outside shared_buffers per round, summed over the shapes "
                 f"and both twins: {sum(fit.alone_read_blocks.values()):,.0f} alone, "
                 f"{sum(fit.alternating_read_blocks.values()):,.0f} "
                 f"{'in blocks' if fit.order == 'blocked' else 'alternating'}.")
    else:
        text += " Its cost was not measured; the times below carry those cache misses."
    text += (f" To measure without them: a smaller scale (--scale {_fitting_scale(fit, results)} "
             f"or less fits, by size) or a larger shared_buffers (at least "
             f"{_mib(_enough_buffers(fit))}: ALTER SYSTEM SET shared_buffers, then restart the "
             "server).\n")
    return text


def _spread(ratios: dict[str, float]) -> str:
    """1.45x (1.02x for `a` to 2.31x for `b`): the median over shapes, then the extremes."""
    low = min(ratios, key=lambda name: ratios[name])
    high = max(ratios, key=lambda name: ratios[name])
    return (f"{factor(statistics.median(ratios.values()))} ({factor(ratios[low])} for `{low}` "
            f"to {factor(ratios[high])} for `{high}`)")


def _mib(n: int) -> str:
    """Bytes in the unit PostgreSQL's settings use (1 MB = 1024 kB)."""
    return f"{n / 2**20:,.0f} MB"


def _fitting_scale(fit: CacheFit, results: RunResults) -> str:
    """The scale whose twins take 80% of shared_buffers (room for the migration's indexes),
    rounded down to one significant digit."""
    scale = results.config.scale * 0.8 * fit.shared_buffers_bytes / max(fit.twins_bytes, 1)
    if scale <= 0:
        return "?"
    step = 10 ** math.floor(math.log10(scale))
    return f"{math.floor(scale / step) * step:.{max(0, -math.floor(math.log10(step)))}f}"


def _enough_buffers(fit: CacheFit) -> int:
    """Both twins and a quarter more (the migration's indexes), in whole 128 MB."""
    unit = 128 * 2**20
    return math.ceil(1.25 * fit.twins_bytes / unit) * unit


def _load_text(results: RunResults) -> str:
    load = results.machine_load
    if not load or not load.other_cores:
        return ""
    phases = ", ".join(f"{p} {c:.2f}" for p, c in load.other_cores.items())
    stolen = ", ".join(f"{p} {c:.2f}" for p, c in load.steal_cores.items() if c >= 0.005)
    return f" Other processes' CPU while measuring, in cores: {phases}." + (
        f" Hypervisor steal time (another guest's), in cores: {stolen}." if stolen else "")


def noise_floor_section(results: RunResults) -> list[str]:
    """The A/A control next to the real effect, per shape and per write workload."""
    qs = [q for q in results.queries if q.aa]
    ws = [w for w in results.measured_workloads if w.aa]
    if not qs and not ws:
        return []
    lines = [
        "## Noise floor: the A/A control",
        "",
        f"Before migrating, the two {'clones you gave' if results.clones else 'twins'} (both "
        "still unmigrated) were measured against each "
        "other exactly as before and after are measured: same rounds, same order, same "
        "statistics. The true ratio there is 1, so its interval shows how far noise alone "
        "moves each figure in this run. An effect whose interval reaches into that band "
        "(widened to at least ±10% for queries) is not called a change.",
        "",
        *([clones_aa_line(results.clones), ""] if results.clones else []),
    ]
    if qs:
        lines += ["| Shape | A/A ratio (95% CI) | Measured factor (95% CI) "
                  "| Beyond the noise floor |", "|---|---|---|---|"]
        for q in qs:
            assert q.aa is not None
            beyond = "yes" if q.verdict in ("faster", "slower") else "no"
            lines.append(f"| `{q.name}` | {_ratio(q.aa.ratio, q.aa.ci95)} | "
                         f"{_measured_factor(q)} | {beyond} |")
        lines.append("")
    if ws:
        lines += ["| Workload | A/A difference (95% CI) | Measured overhead (95% CI) "
                  "| Beyond the noise floor |", "|---|---|---|---|"]
        for w in ws:
            noise, ci = w.noise_pct, w.overhead_ci95
            assert w.aa is not None and noise is not None and ci is not None
            # The band is the A/A interval widened to hold 0, as for reads (verdict.py): an
            # A/A control that itself came out off zero does not make a null overhead a change.
            band = (min(noise[0], 0.0), max(noise[1], 0.0))
            beyond = "yes" if ci[0] > band[1] or ci[1] < band[0] else "no"
            lines.append(f"| `{w.name}` | {pct(100 * (w.aa.ratio - 1))} ({pct(noise[0])} to "
                         f"{pct(noise[1])}) | {pct(w.overhead_pct)} ({pct(ci[0])} to "
                         f"{pct(ci[1])}) | {beyond} |")
        lines.append("")
    return lines


def _ratio(value: float, ci: Interval) -> str:
    return f"{factor(value)} ({factor(ci[0])}–{factor(ci[1])})"


def noise_section(results: RunResults) -> list[str]:
    qs = [q for q in results.queries if q.before and q.before.rounds]
    if not qs:
        return []
    if results.method is not None:
        return _spread_section(results, qs)
    drift = results.drift.shapes if results.drift else {}
    cvs = [p.cv for q in qs for p in (q.before, q.after)
           if p and p.rounds and p.cv is not None]
    lines = ["## Noise, drift and cross-checks", ""]
    summary = ("Median coefficient of variation over all shapes and phases: "
               f"{pct(_median(cvs) * 100, signed=False)}.")
    if results.drift and results.drift.median_ratio:
        r = results.drift.median_ratio
        summary += (f" Re-running the *before* phase at the end (after the downgrade) took "
                    f"{pct(100 * (r - 1))} against its first run (median over shapes): that is the "
                    "drift of this machine during the run.")
    noisy = [f"`{q.name}` {name}" for q in qs for name in ("before", "after")
             if (p := q.phase(name)) and p.noisy]
    if noisy:
        summary += (" ⚠️ marks a median whose 95% interval is wider than ±10%: " +
                    ", ".join(noisy) + ". Most of that spread is the parameters (see the "
                    "per-parameter tables below), not the machine.")
    lines += [summary, "",
              "The speedups use the server's `EXPLAIN ANALYZE` execution time. The *plain* column "
              "is the same query without EXPLAIN, timed by the client (round trip and row "
              "transfer included), on the same parameters.", "",
              "| Shape | Rounds | CV before | CV after | p95 before | p95 after | Plain / EXPLAIN "
              "before | Plain / EXPLAIN after | Drift (95% CI) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for q in qs:
        b, a = q.before, q.after
        assert b is not None and b.cv is not None
        d = drift.get(q.name)
        drift_text = (f"{pct(100 * (d.ratio - 1))} ({pct(100 * (d.ci95[0] - 1))} to "
                      f"{pct(100 * (d.ci95[1] - 1))})" if d else "–")
        cv_after = pct(a.cv * 100, False) if a and a.rounds and a.cv is not None else "–"
        lines.append(
            f"| `{q.name}` | {b.rounds} | {pct(b.cv * 100, False)} | {cv_after} | "
            f"{ms(b.p95_ms)} | {ms(a.p95_ms if a else None)} | {_plain(b)} | {_plain(a)} | "
            f"{drift_text} |")
    lines.append("")
    return lines


def _spread_section(results: RunResults, qs: list[QueryResult]) -> list[str]:
    cvs = [p.cv for q in qs for p in (q.before, q.after)
           if p and p.rounds and p.cv is not None]
    lines = ["## Spread and cross-checks", "",
             "Median coefficient of variation over all shapes and sides: "
             f"{pct(_median(cvs) * 100, signed=False)}; most of it is the parameters (see the "
             "per-parameter tables below), which each round shares between the two sides.", "",
             "The speedups use the server's `EXPLAIN ANALYZE` execution time. The *plain* column "
             "is the same query without EXPLAIN, timed by the client (round trip and row "
             "transfer included), on the same parameters.", "",
             "| Shape | Rounds | CV before | CV after | p95 before | p95 after | Plain / EXPLAIN "
             "before | Plain / EXPLAIN after |", "|---|---|---|---|---|---|---|---|"]
    for q in qs:
        b, a = q.before, q.after
        assert b is not None and b.cv is not None
        cv_after = pct(a.cv * 100, False) if a and a.rounds and a.cv is not None else "–"
        lines.append(
            f"| `{q.name}` | {b.rounds} | {pct(b.cv * 100, False)} | {cv_after} | "
            f"{ms(b.p95_ms)} | {ms(a.p95_ms if a else None)} | {_plain(b)} | {_plain(a)} |")
    lines.append("")
    return lines


def _plain(phase: QueryPhase | None) -> str:
    c = phase.crosscheck if phase else None
    if not c:
        return "–"
    return f"{ms(c.plain_client_median_ms)} / {ms(c.explain_execution_median_ms)}"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def read_table(results: RunResults) -> list[str]:
    claims = any(q.claimed for q in results.queries)
    claimed_head = " Claimed before → after |" if claims else ""
    lines = [
        f"| Shape | Report row |{claimed_head} Measured before | Measured after "
        "| Measured factor (95% CI) | Planner's estimated factor (measured ÷ estimated) "
        "| Plan before → after | Verdict |",
        "|---|---|---|---|---|---|---|---|---|" if claims else "|---|---|---|---|---|---|---|---|",
    ]
    for q in results.queries:
        claimed = f" {_claim(q)} |" if claims else ""
        lines.append(
            f"| `{q.name}` | {q.report_row} |{claimed} {_timing(q.before)} | "
            f"{_timing(q.after)} | {_measured_factor(q)} | {estimate_report.estimate_cell(q)} | "
            f"{_plan(q.before)} → {_plan(q.after)} | "
            f"{VERDICT_ICON.get(q.verdict or '', '')} {q.verdict_text} |"
        )
    return lines


def migration_section(results: RunResults) -> list[str]:
    mig = results.migration
    if not mig:
        return []
    claims = results.claims
    said = (f" (the report says {claims.new_indexes})"
            if claims and claims.new_indexes is not None else "")
    created, dropped = _created(mig), _dropped(mig)
    down = results.migration_down
    if down is not None and down.skipped:
        after = f" No downgrade ran ({down.skipped}); the migrated twin was dropped."
    elif down is not None and (created or dropped) and not (down.created or down.dropped
                                                            or down.indexes):
        after = " The downgrade changed no index; the migrated twin was dropped."
    elif down is not None:
        after = (" The downgrade removed them again (verified)." if not dropped
                 else " The downgrade reverted it (verified).")
    else:
        after = ""
    if not dropped:
        did = f"created **{mig.index_count} indexes**"
    elif not created:
        did = f"dropped **{_indexes(len(dropped))}** ({', '.join(f'`{n}`' for n in dropped)})"
    else:
        did = (f"created **{_indexes(len(created))}** and dropped **{_indexes(len(dropped))}** "
               f"({', '.join(f'`{n}`' for n in dropped)})")
    lines = [
        "## Migration",
        "",
        f"`{results.config.migration}` (revision `{mig.revision}`) {did} in "
        f"{mig.seconds:.1f} s{said}; all verified in `pg_indexes`." + after,
        "",
    ]
    if mig.transactional is False:
        lines += ["Statements that cannot run inside a transaction block (`CONCURRENTLY`, "
                  "`VACUUM`, ...) ran in autocommit, each on its own, as in production; the "
                  "others in the migration's transaction.", ""]
    if mig.invalid_indexes:
        lines += [f"⚠️ **INVALID after the migration**: "
                  f"{', '.join(f'`{n}`' for n in mig.invalid_indexes)} (no query uses an "
                  "invalid index; every write still updates it).", ""]
    change = "New" if not dropped else "Change"
    if claims:
        lines += [f"| Table | Indexes before | After | {change} (measured) "
                  "| New (report's table) |", "|---|---|---|---|---|"]
    else:
        lines += [f"| Table | Indexes before | After | {change} (measured) |",
                  "|---|---|---|---|"]
    for table, n_before in mig.index_counts_before.items():
        n_after = mig.index_counts_after.get(table, 0)
        new = n_after - n_before
        row = f"| `{table}` | {n_before} | {n_after} | {new:+d} |"
        if claims:
            claimed = claims.new_indexes_per_table.get(table)
            flag = "" if claimed == new else " ⚠️"
            row += f" {'not listed' if claimed is None else f'+{claimed}'}{flag} |"
        lines.append(row)
    lines.append("")
    return lines


def _verdict_counts(done: list[WriteWorkload]) -> str:
    """How many workloads got each verdict short of 'exceeds', e.g. '2 within the claims, 3
    consistent with them'."""
    words = {"within": "within the claims", "consistent": "consistent with them",
             "within noise": "above them, but within this run's noise floor",
             "below": "below them", "no claim": "without a claim"}
    counts = {v: sum(w.verdict == v for w in done) for v in words}
    return ", ".join(f"{n} {words[v]}" for v, n in counts.items() if n)


def write_verdict(w: WriteWorkload) -> str:
    verdict = w.verdict
    if verdict == "not measured":
        return "⚠️ not measured"
    if verdict == "no claim" or w.claimed_pct is None:
        return ""
    claimed = f"the claimed {_range(w.claimed_pct)}"
    noise = w.noise_pct
    return {"exceeds": f"❌ exceeds {claimed}", "below": f"✅ below {claimed}",
            "within": f"✅ within {claimed}",
            "consistent": f"➖ consistent with {claimed}, too wide to confirm it",
            "within noise": f"⚠️ above {claimed}, but within this run's noise floor (A/A up "
                            f"to {pct(noise[1] if noise else None)})"}[verdict]


def writes_section(results: RunResults) -> list[str]:
    section = results.writes
    if not section or not section.workloads:
        return []
    done = results.measured_workloads
    exceeded = [w for w in done if w.verdict == "exceeds"]
    claims = results.claims
    if exceeded:
        copy_note = ("; COPY is held to the INSERT claim"
                     if claims and claims.copy_overhead_pct == claims.insert_overhead_pct
                     else "")
        verdict = (f"**{len(exceeded)} of {len(done)} write workloads cost more than the report "
                   f"claims** ({_claims_text(results)}{copy_note}).")
    elif any(w.claimed_pct for w in done):
        verdict = (f"None of {len(done)} write workloads measurably costs more than the report "
                   f"claims: {_verdict_counts(done)}.")
    else:
        verdict = f"{len(done)} write workloads, each measured before and after the migration."
    lines = [
        "## Write overhead: claimed vs measured" if claims else "## Write overhead",
        "",
        verdict,
        "",
        _writes_method(results) if results.method is not None else
        f"Per row, server-side (`EXPLAIN (ANALYZE, WAL)` execution time, which includes index "
        f"maintenance and foreign-key checks but not the round trip; COPY is timed by the "
        f"client). Single-row statements run {section.rows_per_round} per round, committed "
        f"every {section.rows_per_transaction}; {section.rounds} rounds after "
        f"{section.warmup} warm-up, the same rows before and after. *Wall* is the client's "
        "view including round trips and commits (fsync), which dilutes the index cost.",
        "",
        "| Workload | Before (µs/row) | After (µs/row) | Overhead (95% CI) | Wall overhead "
        "| WAL bytes/row | WAL records/row | HOT updates | Verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for w in section.workloads:
        b, a = w.before, w.after
        ci = w.overhead_ci95
        records = (f"{b.wal_records_per_row:.1f} → {a.wal_records_per_row:.1f}"
                   if a and b and b.wal_records_per_row and a.wal_records_per_row is not None
                   else "–")
        hot = (f"{b.hot_pct:.0f}% → {a.hot_pct:.0f}%"
               if b and a and b.hot_pct is not None and a.hot_pct is not None else "–")
        lines.append(
            f"| `{w.name}` | {b.median_us_per_row if b else 0:.1f} | "
            f"{a.median_us_per_row if a else 0:.1f} | **{pct(w.overhead_pct)}** "
            f"({pct(ci[0]) if ci else '–'} to {pct(ci[1]) if ci else '–'}) | "
            f"{pct(w.wall_overhead_pct)} | "
            f"{b.wal_bytes_per_row if b else 0:,.0f} → {a.wal_bytes_per_row if a else 0:,.0f} | "
            f"{records} | {hot} | {write_verdict(w)} |"
        )
    if section.inserted_leads_kept:
        lines += ["", "> The role may not skip foreign-key checks (session_replication_role), "
                  "so the parent rows inserted in the *before* phase were kept for the *after* "
                  "phase."]
    lines.append("")
    return lines


def _writes_method(results: RunResults) -> str:
    section = results.writes
    assert section is not None
    return (f"Per row, server-side (`EXPLAIN (ANALYZE, TIMING OFF, WAL)` execution time, which "
            f"includes index maintenance and foreign-key checks but not the round trip; COPY is "
            f"timed by the client until the server completes it, without the commit). "
            f"Single-row statements run {section.rows_per_round} per round, committed every "
            f"{section.rows_per_transaction}, each on one twin and right after on the other; "
            f"COPY ({section.copy_rows_per_round:,} rows) on both twins in turn; "
            f"{section.rounds} paired rounds after {section.warmup} warm-up, the same rows on "
            f"both twins. *Wall* is the client's view including round trips and commits "
            f"(fsync), which dilutes the index cost.")


def disk_section(results: RunResults) -> list[str]:
    ix = results.disk
    if not ix:
        return []
    growth = ix.growth_pct
    claim = ix.claimed_growth_pct
    against = ""
    if claim and growth is not None:
        verdict = ("exceeds" if growth > claim[1] else "is below" if growth < claim[0]
                   else "is within")
        against = f", which {verdict} the claimed {_range(claim)}"
    tables = f"The {_count(len(ix.tables))} tables with their indexes"
    if not ix.dropped:
        text = (f"The {len(ix.created)} new indexes take **{mb(ix.new_index_bytes)}** and were "
                f"built in {ix.build_seconds_total:.1f} s. {tables} grow from "
                f"{mb(ix.total_before_bytes)} to {mb(ix.total_after_bytes)}: **{pct(growth)}**"
                f"{against}. Index bytes alone grow {pct(ix.index_growth_pct)}.")
    else:
        drop_s = sum(d.drop_seconds or 0 for d in ix.dropped)
        freed = (f"the {_indexes(len(ix.dropped))} dropped took **{mb(ix.freed_index_bytes)}**, "
                 f"freed on disk (dropping took {drop_s * 1000:,.0f} ms)")
        n_new = len(ix.created)
        new = (f"The {n_new} new {'index takes' if n_new == 1 else 'indexes take'} "
               f"**{mb(ix.new_index_bytes)}**, built in {ix.build_seconds_total:.1f} s; "
               if ix.created else "")
        move = "shrink" if ix.total_after_bytes < ix.total_before_bytes else "go"
        text = (f"{new}{freed[0].upper() + freed[1:] if not new else freed}. {tables} "
                f"{move} from {mb(ix.total_before_bytes)} to {mb(ix.total_after_bytes)}: "
                f"**{pct(growth)}**{against}. Index bytes alone change "
                f"{pct(ix.index_growth_pct)}.")
    dropped_col = " Dropped indexes |" if ix.dropped else ""
    lines = [
        "## Disk and build cost",
        "",
        text,
        "",
        f"| Table | Heap + TOAST | Indexes before | New indexes |{dropped_col} "
        f"{'Growth' if not ix.dropped else 'Change'} (of table + indexes) |",
        "|---|---|---|---|---|" + ("---|" if ix.dropped else ""),
    ]
    for table, s in ix.tables.items():
        b = s.before
        freed_t = f" {mb(s.dropped_index_bytes)} |" if ix.dropped else ""
        lines.append(f"| `{table}` | {mb(b.table_bytes)} | {mb(b.index_bytes)} | "
                     f"{mb(s.new_index_bytes)} |{freed_t} {pct(s.growth_pct)} |")
    if ix.created or not ix.dropped:
        lines += ["", "| New index | Table | Size | Build time |", "|---|---|---|---|"]
        for r in ix.created:
            build = f"{r.build_seconds * 1000:,.0f} ms" if r.build_seconds is not None else "–"
            lines.append(f"| `{r.name}` | `{r.table}` | {mb(r.size_bytes)} | {build} |")
    if ix.dropped:
        lines += ["", "| Dropped index | Table | Size freed | Drop time |", "|---|---|---|---|"]
        for d in ix.dropped:
            took = f"{d.drop_seconds * 1000:,.0f} ms" if d.drop_seconds is not None else "–"
            lines.append(f"| `{d.name}` | `{d.table}` | {mb(d.size_bytes)} | {took} |")
    lines.append("")
    return lines


def details(results: RunResults) -> list[str]:
    lines = ["<details><summary>Query shapes, parameters and plans</summary>", ""]
    for q in results.queries:
        lines += [f"### `{q.name}`", "", q.description, ""]
        lines += ["```sql", q.sql, "```", ""]
        for name in ("before", "after"):
            p = q.phase(name)
            if not p or p.median_ms is None:
                continue
            lines.append(
                f"- **{name}**: median {ms(p.median_ms)}, p95 {ms(p.p95_ms)}, "
                f"min {ms(p.min_ms)}, CV {p.cv:.0%}, planning {ms(p.planning_median_ms)}, "
                f"buffers hit/read {p.shared_hit_median:,.0f}/{p.shared_read_median:,.0f}; "
                f"indexes used: {', '.join(p.indexes_used) or 'none'}"
            )
            for v in p.plan_variants:
                lines.append(f"  - {v.rounds} round(s): {v.summary}")
            lines += estimate_report.flagged_nodes(q, name)
        if q.by_parameter:
            lines += ["", "| Parameters | Rounds | Before | After | Factor |",
                      "|---|---|---|---|---|"]
            for g in q.by_parameter:
                args = ", ".join(f"{k}={v}" for k, v in g.params.items())
                lines.append(f"| {args} | {g.rounds} | {ms(g.before_median_ms)} | "
                             f"{ms(g.after_median_ms)} | {factor(g.speedup)} |")
        lines.append("")
    lines += ["</details>", ""]
    return lines


def _method(results: RunResults) -> str:
    if results.method is not None:
        return _twin_method(results)
    text = ("Times are server-side execution times from `EXPLAIN (ANALYZE, BUFFERS)`: medians "
            "with their 95% interval (order statistics). The factor is median before / median "
            "after, with a 95% paired bootstrap interval (round *i* used the same parameters "
            "before and after).")
    if results.claims:
        text += (" The claimed figures are the report's *expected* ones, measured on an unknown "
                 "machine and data size.")
    return text


def _twin_method(results: RunResults) -> str:
    twins = ("the two clones you gave (--twins) were the twins, measured as they are; the "
             "migration went to B and was undone at the end" if results.clones else
             "the seeded database was copied into two twins; the migration went to one of them")
    text = (f"How it was measured: {twins}, and every round ran on both, one right after the "
            "other, the "
            "first side alternating (ABBA), so drift of the machine lands on both and cancels. "
            "Query times are server-side execution times from `EXPLAIN (ANALYZE, TIMING OFF, "
            "BUFFERS)`: medians with their 95% interval (order statistics). A factor or an "
            "overhead is the typical per-round ratio (round *i* used the same parameters or "
            "rows on both sides): the geometric mean of the per-round ratios without the 20% "
            "most extreme at each end, with its 95% interval (Yuen's, for a trimmed mean), "
            "which holds the run-to-run variation of the estimate as well.")
    if results.claims:
        text += (" The claimed figures are the report's *expected* ones, measured on an unknown "
                 "machine and data size.")
    return text


def _share(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def fidelity_section(results: RunResults) -> list[str]:
    """Data made from a stats file: per column how close its statistics came."""
    f = results.seed.fidelity if results.seed else None
    if f is None:
        return []
    lines = ["## Data from statistics", "",
             f"Generated from {f.stats_file or 'a stats file'}; the seeded tables' own pg_stats "
             "(after ANALYZE) against the file's. Null fraction and correlation: synthetic minus "
             "source; distinct: the synthetic count over the source's, scaled to this size; "
             "MCV: total variation over the two lists (a foreign key's by rank); histogram: "
             "the largest error of the source's quantiles, as a share of the rows.", "",
             "| column | null frac | distinct | MCV | histogram | correlation | distance |",
             "|---|---|---|---|---|---|---|"]
    for c in f.columns:
        note = {"key": " (a key: the generator's own)", "foreign key": " (fan-out)"}.get(
            c.made_as, "")
        ratio = f"x{c.distinct_ratio:.2f}" if c.distinct_ratio is not None else "–"
        lines.append(f"| {c.table}.{c.column}{note} | {_share(c.null_frac_diff, True)} | {ratio} "
                     f"| {_share(c.mcv_distance)} | {_share(c.histogram_error)} | "
                     f"{'–' if c.correlation_error is None else f'{c.correlation_error:+.2f}'} "
                     f"| {_share(c.distance)} ({c.furthest}) |")
    if f.shapes:
        scale = results.seed.scale if results.seed else 1.0
        size = "" if scale == 1 else (
            f" At --scale {scale:g} the tables are {scale:g} times the source's, so the row "
            "estimates differ by up to that factor too: --scale 1 compares like with like.")
        lines += ["", "Per query shape, plain `EXPLAIN` with the run's first parameters on the "
                  "source (--stats-dsn, read-only) and here: the largest q-error of the "
                  "base-table scans' estimated rows, max(a/b, b/a), the plan node furthest off "
                  "(source rows / rows here; every node where the plans are the same), and "
                  f"the two plans.{size} Median base-table q-error "
                  f"{f.median_q_error or 1.0:.2f}.", "",
                  "| query shape | same plan | base-table q-error | furthest node | "
                  "source plan | here |", "|---|---|---|---|---|---|"]
        for s in f.shapes:
            q = f"{s.max_q_error:.2f}" if s.max_q_error is not None else "–"
            far = max(s.nodes, key=lambda n: n.q_error, default=None)
            node = "–" if far is None else (f"{far.node}: {far.source_rows:,.0f} / "
                                            f"{far.synthetic_rows:,.0f} (q {far.q_error:.2f})")
            lines.append(f"| {s.shape} | {'yes' if s.same_plan else '**no**'} | {q} | {node} | "
                         f"{s.source_plan} | {s.synthetic_plan} |")
    return [*lines, ""]


def clones_aa_line(c: ClonePair) -> str:
    """Whether the two clones given with --twins measured alike in the A/A control."""
    if c.measured_alike is None:
        return "There was no A/A control, so whether the two clones measure alike is unknown."
    if c.measured_alike:
        return ("The twins here are two clones you gave, and they measured alike: every A/A "
                "interval holds 1.")
    return ("The twins here are two clones you gave, and they did not measure alike: the A/A "
            f"interval of {', '.join(c.differing)} does not hold 1, so for those a difference "
            "between the clones themselves is in the before/after figures too.")


def clones_headline(c: ClonePair) -> str:
    rows = sum(c.a.rows.values())
    alike = {None: "no A/A control", True: "they measured alike in the A/A control",
             False: "they did **not** measure alike in the A/A control"}[c.measured_alike]
    left = (f"; ⚠️ B is not as the run found it: {'; '.join(c.left_behind)}"
            if c.left_behind else "")
    return (f"data: two clones you gave, `{c.a.database}` (A) and `{c.b.database}` (B), "
            f"{rows:,} rows; {alike}{left}")


def clones_section(results: RunResults) -> list[str]:
    """--twins: where the data came from, instead of how it was seeded."""
    c = results.clones
    if c is None:
        return []
    restored = ("B's indexes and both clones' rows (above their integer keys) were checked "
                "afterwards and are as the run found them"
                if c.restored else "B was not checked afterwards (the run stopped before)"
                if c.restored is None else "**B is not as the run found it**: "
                + "; ".join(c.left_behind))
    extra = f" ({'; '.join(c.undone)}: the downgrade had left it)" if c.undone else ""
    lines = ["## Data: two clones you gave", "",
             "The twins were two clones you gave (`--twins`), measured as they are: nothing "
             f"was seeded or copied{'' if c.same_server else ', and they are on two servers'}. "
             f"The migration ran on B and was undone at the end; {restored}{extra}.", "",
             "| | database | rows | tables and indexes | database |", "|---|---|---|---|---|"]
    for side, d in (("A", c.a), ("B", c.b)):
        size = mb(d.database_bytes) if d.database_bytes is not None else "–"
        lines.append(f"| {side} | `{d.database}` ({d.dsn}) | {sum(d.rows.values()):,} | "
                     f"{mb(d.bytes)} | {size} |")
    lines += ["", "Rows per table (pg_class.reltuples): "
              + ", ".join(f"{t} {n:,}" for t, n in c.a.rows.items()) + ".", ""]
    return lines


def render(results: RunResults, chart_names: list[str]) -> str:
    status = "" if results.complete else (
        "\n> ⚠️ **Incomplete run**: it stopped early; the figures below are what was measured "
        "before it stopped.\n"
    )
    claims = results.claims
    fidelity = results.seed.fidelity if results.seed else None
    lines = [
        f"# Index impact: {results.migration_name}, measured",
        *([f"*{fidelity_headline(fidelity)}*", ""] if fidelity else []),
        *([f"*{clones_headline(results.clones)}*", ""] if results.clones else []),
        status + busy_machine_warning(results) + cache_fit_warning(results),
        f"**Reads: {headline(results)}**",
        "",
        *(line + "\n" for line in cost_headline(results)),
        *per_index.summary(results),
        *per_index.hint(results),
        _setup_line(results),
        _method(results),
        "",
        "## Read queries: claimed vs measured" if claims else "## Read queries",
        "",
        *read_table(results),
        "",
    ]
    lines += [f"![{name}]({name})" for name in chart_names if name.startswith("query")]
    lines.append("")
    lines += writes_section(results)
    lines += [f"![{name}]({name})" for name in chart_names if name.startswith("write")]
    lines.append("")
    lines += disk_section(results)
    lines += [f"![{name}]({name})" for name in chart_names if name.startswith("disk")]
    lines.append("")
    lines += per_index.section(results)
    lines += estimate_report.section(results, chart_names)
    lines += noise_floor_section(results)
    lines += noise_section(results)
    lines += migration_section(results)
    seed = results.seed
    if seed:
        rows = ", ".join(f"{t} {n:,}" for t, n in seed.rows.items())
        lines += ["## Data", "",
                  f"{seed.total_rows:,} rows ({rows}), seeded in {seed.total_seconds:.1f} s "
                  f"({seed.rows_per_s:,.0f} rows/s overall, COPY {seed.copy_rows_per_s:,.0f} "
                  "rows/s).", ""]
    lines += clones_section(results)
    lines += fidelity_section(results)
    lines += details(results)
    env = results.environment
    lines += [
        f"<sub>pg-index-bench {env.harness_version}, commit "
        f"{(env.git_commit or 'unknown')[:10]}{' (dirty)' if env.git_dirty else ''}, "
        f"{env.cpu_count} CPU {env.cpu_model}, Python {env.python}, "
        f"run {results.started_at} in {results.wall_seconds or 0:.0f} s.</sub>",
        "",
    ]
    return "\n".join(lines)
