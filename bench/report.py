"""report.md from results.json alone: claimed next to measured, ready for a PR comment."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench import charts, claims
from bench.formatting import factor, mb, ms, pct

VERDICT_ICON = {"faster": "✅", "slower": "❌", "unchanged": "➖", "error": "⚠️"}






def _timing(phase: dict[str, Any] | None) -> str:
    if not phase or phase.get("median_ms") is None:
        return f"not measured{': ' + phase['error'] if phase and phase.get('error') else ''}"
    text = ms(phase["median_ms"])
    if phase.get("median_ci95_ms"):
        lo, hi = phase["median_ci95_ms"]
        text += f" ({ms(lo)}–{ms(hi)})"
    if phase.get("noisy"):
        text += " ⚠️"
    return text


def _plan(phase: dict[str, Any] | None) -> str:
    if not phase or not phase.get("plan_summary"):
        return "–"
    text = phase["plan_summary"]
    variants = phase.get("plan_variants") or []
    if len(variants) > 1:
        text += f" (+{len(variants) - 1} other plan{'s' if len(variants) > 2 else ''})"
    return text


def _claim(q: dict[str, Any]) -> str:
    c = q.get("claimed")
    if not c:
        return "–"
    return f"{ms(c['before_ms'])} → {ms(c['after_ms'])} ({factor(c['factor'])})"


def _measured_factor(q: dict[str, Any]) -> str:
    if q.get("speedup") is None:
        return "–"
    lo, hi = q["speedup_ci95"]
    return f"**{factor(q['speedup'])}** ({factor(lo)}–{factor(hi)})"


def headline(doc: dict[str, Any]) -> str:
    qs = [q for q in doc["queries"] if q.get("verdict")]
    counts = {k: sum(q["verdict"] == k for q in qs) for k in VERDICT_ICON}
    parts = [f"{counts['faster']} of {len(qs)} query shapes faster"]
    if counts["unchanged"]:
        parts.append(f"{counts['unchanged']} unchanged")
    if counts["slower"]:
        parts.append(f"{counts['slower']} slower")
    if counts["error"]:
        parts.append(f"{counts['error']} not measured")
    meets = sum(
        1 for q in qs
        if q.get("claimed") and q.get("speedup_ci95")
        and q["speedup_ci95"][0] >= q["claimed"]["factor"]
    )
    parts.append(f"{meets} of {len(qs)} reach the report's claimed factor")
    return "; ".join(parts) + "."


def cost_headline(doc: dict[str, Any]) -> list[str]:
    """One line each for the write and disk costs, claimed next to measured."""
    lines = []
    done = [w for w in (doc.get("writes") or {}).get("workloads", [])
            if w.get("overhead_pct") is not None]
    if done:
        over = [w for w in done if write_verdict(w).startswith("❌")]
        parts = []
        for op in ("insert", "copy", "update"):
            vals = [w["overhead_pct"] for w in done if w["operation"] == op]
            if vals:
                parts.append(f"{op.upper()} {pct(min(vals))} to {pct(max(vals))}")
        ranges = ", ".join(parts)
        lines.append(f"**Writes: {len(over)} of {len(done)} workloads cost more than claimed** "
                     f"(per row, server-side: {ranges}; claimed INSERT +3–5%, UPDATE +2–4%)."
                     if over else
                     f"**Writes: all {len(done)} workloads within the claims** ({ranges}).")
    ix = doc.get("indexes")
    if ix and ix.get("growth_pct") is not None:
        claim = ix["claimed_growth_pct"]
        lines.append(f"**Disk: {pct(ix['growth_pct'])}** ({mb(ix['new_index_bytes'])} of new "
                     f"indexes; claimed +{claim[0]:g}–{claim[1]:g}%).")
    return lines


def _setup_line(doc: dict[str, Any]) -> str:
    cfg, seed, server = doc["config"], doc.get("seed", {}), doc.get("server", {})
    settings = server.get("settings", {})
    version = settings.get("server_version", "?")
    rows = f"{seed['total_rows']:,} rows" if seed else "? rows"
    return (
        f"PostgreSQL {version} ({server.get('source', '?')}), scale {cfg['scale']:g} ({rows}), "
        f"seed {cfg['seed']}; {_rounds_text(cfg)} after {cfg['warmup']} warm-up per shape and "
        f"phase, interleaved across shapes; JIT {settings.get('jit', '?')}, parallel workers "
        f"per gather {settings.get('max_parallel_workers_per_gather', '?')}, work_mem "
        f"{settings.get('work_mem', '?')}, shared_buffers {settings.get('shared_buffers', '?')}; "
        f"{_cache_text(doc)}."
    )


def _rounds_text(cfg: dict[str, Any]) -> str:
    if cfg["rounds"] != "adaptive":
        return f"{cfg['rounds']} measured rounds"
    return (f"adaptive rounds (at least {cfg['min_rounds']}, until the median's 95% interval is "
            f"within ±5% or {cfg['max_time_s']:g} s per shape are spent; the after phase repeats "
            "the before phase's rounds)")


def _cache_text(doc: dict[str, Any]) -> str:
    c = doc.get("cache") or {}
    if c.get("mode") == "cold":
        return c.get("note", "cold cache")
    if c.get("pg_prewarm"):
        return f"warm cache (pg_prewarm of {c['relations']} tables and indexes, then warm-up)"
    return "warm cache (warm-up rounds only: " + c.get("reason", "pg_prewarm unavailable") + ")"


def noise_section(doc: dict[str, Any]) -> list[str]:
    qs = [q for q in doc["queries"] if q.get("before") and q["before"].get("rounds")]
    if not qs:
        return []
    drift = (doc.get("drift") or {}).get("shapes", {})
    cvs = [q[p]["cv"] for q in qs for p in ("before", "after") if q.get(p) and q[p].get("rounds")]
    lines = ["## Noise, drift and cross-checks", ""]
    summary = ("Median coefficient of variation over all shapes and phases: "
               f"{pct(_median(cvs) * 100, signed=False)}.")
    if doc.get("drift", {}).get("median_ratio"):
        r = doc["drift"]["median_ratio"]
        summary += (f" Re-running the *before* phase at the end (after the downgrade) took "
                    f"{pct(100 * (r - 1))} against its first run (median over shapes): that is the "
                    "drift of this machine during the run.")
    noisy = [f"`{q['name']}` {p}" for q in qs for p in ("before", "after")
             if q.get(p) and q[p].get("noisy")]
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
        b, a = q["before"], q.get("after") or {}
        d = drift.get(q["name"])
        drift_text = (f"{pct(100 * (d['ratio'] - 1))} ({pct(100 * (d['ci95'][0] - 1))} to "
                      f"{pct(100 * (d['ci95'][1] - 1))})" if d else "–")
        lines.append(
            f"| `{q['name']}` | {b['rounds']} | {pct(b['cv'] * 100, False)} | "
            f"{pct(a['cv'] * 100, False) if a.get('rounds') else '–'} | {ms(b['p95_ms'])} | "
            f"{ms(a.get('p95_ms'))} | {_plain(b)} | {_plain(a)} | {drift_text} |")
    lines.append("")
    return lines


def _plain(phase: dict[str, Any]) -> str:
    c = phase.get("crosscheck")
    if not c:
        return "–"
    return f"{ms(c['plain_client_median_ms'])} / {ms(c['explain_execution_median_ms'])}"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def read_table(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| Shape | Report row | Claimed before → after | Measured before | Measured after "
        "| Measured factor (95% CI) | Plan before → after | Verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for q in doc["queries"]:
        before, after = q.get("before"), q.get("after")
        lines.append(
            f"| `{q['name']}` | {q['report_row']} | {_claim(q)} | {_timing(before)} | "
            f"{_timing(after)} | {_measured_factor(q)} | {_plan(before)} → {_plan(after)} | "
            f"{VERDICT_ICON.get(q.get('verdict', ''), '')} {q.get('verdict_text', '')} |"
        )
    return lines


def migration_section(doc: dict[str, Any]) -> list[str]:
    mig = doc.get("migration")
    if not mig:
        return []
    lines = [
        "## Migration",
        "",
        f"`{doc['config']['migration']}` (revision `{mig['revision']}`) created "
        f"**{mig['index_count']} indexes** in {mig['seconds']:.1f} s "
        f"(the report says {claims.TOTAL_NEW_INDEXES}); all verified in `pg_indexes`."
        + (" The downgrade removed them again (verified)." if doc.get("migration_down") else ""),
        "",
        "| Table | Indexes before | After | New (measured) | New (report's table) |",
        "|---|---|---|---|---|",
    ]
    for table, n_before in mig["index_counts_before"].items():
        n_after = mig["index_counts_after"][table]
        claimed = claims.NEW_INDEXES_PER_TABLE.get(table)
        new = n_after - n_before
        flag = "" if claimed == new else " ⚠️"
        lines.append(f"| `{table}` | {n_before} | {n_after} | +{new} | "
                     f"{'not listed' if claimed is None else f'+{claimed}'}{flag} |")
    lines.append("")
    return lines






def write_verdict(w: dict[str, Any]) -> str:
    if w.get("overhead_ci95") is None:
        return "⚠️ not measured"
    lo, hi = w["overhead_ci95"]
    claim = w.get("claimed_pct")
    if not claim:
        return ""
    if lo > claim[1]:
        return f"❌ exceeds the claimed +{claim[0]:g}–{claim[1]:g}%"
    if hi < claim[0]:
        return f"✅ below the claimed +{claim[0]:g}–{claim[1]:g}%"
    return f"✅ within the claimed +{claim[0]:g}–{claim[1]:g}%"


def writes_section(doc: dict[str, Any]) -> list[str]:
    section = doc.get("writes")
    if not section or not section.get("workloads"):
        return []
    done = [w for w in section["workloads"] if w.get("overhead_pct") is not None]
    exceeded = [w for w in done if write_verdict(w).startswith("❌")]
    lines = [
        "## Write overhead: claimed vs measured",
        "",
        f"**{len(exceeded)} of {len(done)} write workloads cost more than the report claims** "
        "(INSERT +3–5%, UPDATE +2–4%; COPY is held to the INSERT claim)." if exceeded else
        f"All {len(done)} write workloads are within the report's claims.",
        "",
        f"Per row, server-side (`EXPLAIN (ANALYZE, WAL)` execution time, which includes index "
        f"maintenance and foreign-key checks but not the round trip; COPY is timed by the "
        f"client). Single-row statements run {section['rows_per_round']} per round, committed "
        f"every {section['rows_per_transaction']}; {section['rounds']} rounds after "
        f"{section['warmup']} warm-up, the same rows before and after. *Wall* is the client's "
        "view including round trips and commits (fsync), which dilutes the index cost.",
        "",
        "| Workload | Before (µs/row) | After (µs/row) | Overhead (95% CI) | Wall overhead "
        "| WAL bytes/row | WAL records/row | HOT updates | Verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for w in section["workloads"]:
        b, a = w.get("before") or {}, w.get("after") or {}
        ci = w.get("overhead_ci95")
        wall = (100 * (a["wall_us_per_row"] / b["wall_us_per_row"] - 1)
                if a and b else None)
        records = (f"{b['wal_records_per_row']:.1f} → {a['wal_records_per_row']:.1f}"
                   if a and b and b.get("wal_records_per_row") else "–")
        hot = (f"{b['hot_pct']:.0f}% → {a['hot_pct']:.0f}%" if "hot_pct" in b and "hot_pct" in a
               else "–")
        lines.append(
            f"| `{w['name']}` | {b.get('median_us_per_row', 0):.1f} | "
            f"{a.get('median_us_per_row', 0):.1f} | **{pct(w.get('overhead_pct'))}** "
            f"({pct(ci[0]) if ci else '–'} to {pct(ci[1]) if ci else '–'}) | {pct(wall)} | "
            f"{b.get('wal_bytes_per_row', 0):,.0f} → {a.get('wal_bytes_per_row', 0):,.0f} | "
            f"{records} | {hot} | {write_verdict(w)} |"
        )
    if section.get("inserted_leads_kept"):
        lines += ["", "> The role may not skip foreign-key checks (session_replication_role), "
                  "so the leads inserted in the *before* phase were kept for the *after* phase."]
    lines.append("")
    return lines


def disk_section(doc: dict[str, Any]) -> list[str]:
    ix = doc.get("indexes")
    if not ix:
        return []
    claim = ix["claimed_growth_pct"]
    growth = ix["growth_pct"]
    verdict = ("exceeds" if growth > claim[1] else "is below" if growth < claim[0] else "is within")
    lines = [
        "## Disk and build cost",
        "",
        f"The {len(ix['created'])} new indexes take **{mb(ix['new_index_bytes'])}** and were built "
        f"in {ix['build_seconds_total']:.1f} s. The six tables with their indexes grow from "
        f"{mb(ix['total_before_bytes'])} to {mb(ix['total_after_bytes'])}: **{pct(growth)}**, "
        f"which {verdict} the claimed +{claim[0]:g}–{claim[1]:g}%. Index bytes alone grow "
        f"{pct(ix['index_growth_pct'])}.",
        "",
        "| Table | Heap + TOAST | Indexes before | New indexes | Growth (of table + indexes) |",
        "|---|---|---|---|---|",
    ]
    for table, s in ix["tables"].items():
        b = s["before"]
        lines.append(f"| `{table}` | {mb(b['table_bytes'])} | {mb(b['index_bytes'])} | "
                     f"{mb(s['new_index_bytes'])} | {pct(s['growth_pct'])} |")
    lines += ["", "| New index | Table | Size | Build time |", "|---|---|---|---|"]
    for r in ix["created"]:
        build = f"{r['build_seconds'] * 1000:,.0f} ms" if r["build_seconds"] is not None else "–"
        lines.append(f"| `{r['name']}` | `{r['table']}` | {mb(r['size_bytes'])} | {build} |")
    lines.append("")
    return lines


def details(doc: dict[str, Any]) -> list[str]:
    lines = ["<details><summary>Query shapes, parameters and plans</summary>", ""]
    for q in doc["queries"]:
        lines += [f"### `{q['name']}`", "", q.get("description", ""), ""]
        lines += ["```sql", q["sql"], "```", ""]
        for phase in ("before", "after"):
            p = q.get(phase)
            if not p or p.get("median_ms") is None:
                continue
            lines.append(
                f"- **{phase}**: median {ms(p['median_ms'])}, p95 {ms(p['p95_ms'])}, "
                f"min {ms(p['min_ms'])}, CV {p['cv']:.0%}, planning {ms(p['planning_median_ms'])}, "
                f"buffers hit/read {p['shared_hit_median']:,.0f}/{p['shared_read_median']:,.0f}; "
                f"indexes used: {', '.join(p['indexes_used']) or 'none'}"
            )
            for v in p.get("plan_variants", []):
                lines.append(f"  - {v['rounds']} round(s): {v['summary']}")
        if q.get("by_parameter"):
            lines += ["", "| Parameters | Rounds | Before | After | Factor |",
                      "|---|---|---|---|---|"]
            for g in q["by_parameter"]:
                args = ", ".join(f"{k}={v}" for k, v in g["params"].items())
                lines.append(f"| {args} | {g['rounds']} | {ms(g['before_median_ms'])} | "
                             f"{ms(g['after_median_ms'])} | {factor(g['speedup'])} |")
        lines.append("")
    lines += ["</details>", ""]
    return lines


def render(doc: dict[str, Any], chart_names: list[str]) -> str:
    status = "" if doc.get("complete") else (
        "\n> ⚠️ **Incomplete run**: it stopped early; the figures below are what was measured "
        "before it stopped.\n"
    )
    lines = [
        "# Index impact: migration 007, measured",
        status,
        f"**Reads: {headline(doc)}**",
        "",
        *(line + "\n" for line in cost_headline(doc)),
        _setup_line(doc),
        "Times are server-side execution times from `EXPLAIN (ANALYZE, BUFFERS)`: medians with "
        "their 95% interval (order statistics). The factor is median before / median after, "
        "with a 95% paired bootstrap interval (round *i* used the same parameters before and "
        "after). The claimed figures are the report's *expected* ones, measured on an unknown "
        "machine and data size.",
        "",
        "## Read queries: claimed vs measured",
        "",
        *read_table(doc),
        "",
    ]
    lines += [f"![{name}]({name})" for name in chart_names if name.startswith("query")]
    lines.append("")
    lines += writes_section(doc)
    lines += [f"![{name}]({name})" for name in chart_names if name.startswith("write")]
    lines.append("")
    lines += disk_section(doc)
    lines += [f"![{name}]({name})" for name in chart_names if name.startswith("disk")]
    lines.append("")
    lines += noise_section(doc)
    lines += migration_section(doc)
    seed = doc.get("seed")
    if seed:
        rows = ", ".join(f"{t} {n:,}" for t, n in seed["rows"].items())
        lines += ["## Data", "",
                  f"{seed['total_rows']:,} rows ({rows}), seeded in {seed['total_seconds']:.1f} s "
                  f"({seed['rows_per_s']:,.0f} rows/s overall, COPY {seed['copy_rows_per_s']:,.0f} "
                  "rows/s).", ""]
    lines += details(doc)
    env = doc["environment"]
    lines += [
        f"<sub>pg-index-bench {env['harness_version']}, commit "
        f"{(env.get('git_commit') or 'unknown')[:10]}{' (dirty)' if env.get('git_dirty') else ''}, "
        f"{env['cpu_count']} CPU {env['cpu_model']}, Python {env['python']}, "
        f"run {doc['started_at']} in {doc.get('wall_seconds', 0):.0f} s.</sub>",
        "",
    ]
    return "\n".join(lines)


def write(doc: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_names = charts.draw_all(doc, out_dir)
    path = out_dir / "report.md"
    path.write_text(render(doc, chart_names))
    return path
