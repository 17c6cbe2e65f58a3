"""The per-index part of report.md (run --per-index), from the result model alone: the summary
at the top, the per-index table with verdicts, reads and writes per index, relations, and the
recommended set beside the whole migration."""

from __future__ import annotations

from bench.formatting import factor, mb, ms, ms_per_s, pct
from bench.results import advisor
from bench.results.model import Interval, QueryResult, RunResults, WriteWorkload
from bench.results.per_index import (
    EstimatedEffect,
    IndexAttribution,
    PerIndexSection,
    ReadEffect,
    RecommendedSet,
)

VERDICT_ICON = {"keep": "✅ keep", "drop": "❌ drop", "inconclusive": "➖ inconclusive",
                "unused": "⚪ unused"}
CHART = "per_index.png"
HINT_SECONDS = 120  # what --per-index adds at scale 1 on the reference machine (README)


def hint(results: RunResults) -> list[str]:
    """For a run without --per-index: how to get the per-index verdicts."""
    if results.per_index is not None or results.method is None or not results.migration:
        return []
    mig = results.migration
    if mig.dropped and not mig.created:
        return []  # per index weighs the indexes a migration creates; this one creates none
    n = len(mig.created) if mig.dropped and mig.created else mig.index_count
    which = "new indexes" if mig.dropped else "indexes"
    return [f"*Per index* (which of the {n} {which} pay for themselves, and a smaller set, "
            f"measured): run with `--per-index` (adds about {HINT_SECONDS // 60} minutes at "
            "scale 1; the nightly job runs it).", ""]


def _counts(section: PerIndexSection) -> str:
    order = ("keep", "drop", "inconclusive", "unused")
    counts = {k: sum(i.verdict == k for i in section.indexes) for k in order}
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n)


def _range(values: list[float]) -> str:
    return f"{pct(min(values))} to {pct(max(values))}" if values else "–"


def _overheads(workloads: list[WriteWorkload], op: str) -> list[float]:
    return [w.overhead_pct for w in workloads if w.operation == op and w.overhead_pct is not None]


def summary(results: RunResults) -> list[str]:
    """The lines at the top of the report: verdict counts and the set beside the migration."""
    section = results.per_index
    if section is None:
        return []
    name = results.migration_name
    lines = [f"**Per index: {_counts(section)}** (of the {len(section.indexes)} indexes of "
             f"{name}, under the workload mix `{section.mix.source}`)."]
    rec = section.recommended
    if rec is None:
        return [*lines, ""]
    text = (f"**Recommended set: {len(rec.indexes)} of the {len(section.indexes)} indexes**"
            + (f", dropping {len(rec.drop_existing)} existing" if rec.drop_existing else "")
            + f": every shape keeps >= {rec.keep_pct:.0f}% of its read benefit")
    figures = _set_queries(results, rec)
    measured = [q for q, same in figures if not same]
    slower = [q.name for q, _same in figures if q.verdict != "faster"]
    if figures and not measured:
        text += (f", and end to end every shape runs the plans it runs with {name}, so its "
                 f"read figures are {name}'s"
                 + (f" (not faster with either: {', '.join(slower)})" if slower else ""))
    elif measured:
        same = len(figures) - len(measured)
        text += (", and measured end to end " + (
            "every shape is faster" if not slower else
            f"these are not faster: {', '.join(slower)}")
            + (f" ({same} of the {len(figures)} with the plans they run with {name}, so "
               "its figures)" if same else ""))
    main = results.writes.workloads if results.writes else []
    costs = [f"{op.upper()} {_range(_overheads(rec.writes, op))} "
             f"({name}: {_range(_overheads(main, op))})"
             for op in ("insert", "copy", "update") if _overheads(rec.writes, op)]
    if costs:
        text += "; write cost per row " + ", ".join(costs)
    if rec.disk and rec.disk.growth_pct is not None and results.disk:
        text += (f"; disk {pct(rec.disk.growth_pct)} ({name}: {pct(results.disk.growth_pct)})"
                 f", build {rec.disk.build_seconds_total:.1f} s "
                 f"({name}: {results.disk.build_seconds_total:.1f} s)")
    files = f" (`{rec.revision_file}`, `{rec.sql_file}`)" if rec.revision_file else (
        f" (`{rec.sql_file}`)" if rec.sql_file else "")
    return [*lines, "", f"{text}{files}.", ""]


def _set_queries(results: RunResults, rec: RecommendedSet) -> list[tuple[QueryResult, bool]]:
    """The set's figure per shape, in the run's order, and whether it is the migration's (the
    same plans on the third twin)."""
    out = []
    for q in results.queries:
        mine = rec.query(q.name, results.queries)
        if mine is not None:
            out.append((mine, q.name in rec.shapes_as_migration))
    return out


def _set_files(rec: RecommendedSet) -> str:
    return (f"`{rec.revision_file}` (Alembic) and `{rec.sql_file}`" if rec.revision_file
            else f"`{rec.sql_file}`")


def _ci(value: float, ci: Interval) -> str:
    return (f"{ms_per_s(value)} ({ms_per_s(ci[0], signed=True)} to "
            f"{ms_per_s(ci[1], signed=True)})")


def _size(rec: IndexAttribution) -> str:
    return mb(rec.size_bytes) if rec.size_bytes is not None else "–"


def _build(rec: IndexAttribution) -> str:
    return f"{rec.build_seconds * 1000:,.0f} ms" if rec.build_seconds is not None else "–"


def section(results: RunResults) -> list[str]:
    s = results.per_index
    if s is None:
        return []
    mix = s.mix
    reads = ", ".join(f"`{k}` {v:g}" for k, v in mix.reads.items())
    writes = ", ".join(f"`{k}` {v:g}" for k, v in mix.writes.items() if v)
    relations: dict[str, list[str]] = {}
    for r in s.relations:
        relations.setdefault(r.index, []).append(r.kind.replace("_", " ") + (
            f" ({r.other})" if r.other else ""))
    lines = [
        "## Per index: which indexes pay for themselves",
        "",
        f"Each index of {results.migration_name}, measured on its own ({s.seconds:.0f} s). "
        "*Read saved*: the server time per second the index saves the shapes under the workload "
        "mix, **alone** (added to the database as it was before the migration: add-one) and "
        f"**within** {results.migration_name} (what the migrated database loses without it: "
        "leave-one-out). *Write added*: the server time per second it adds to the write "
        "workloads of its table, alone. *Net* = read saved - write added. Verdict: **keep** "
        "when a net's whole 95% interval is above zero (alone or within), **drop** when both are "
        "below, **inconclusive** otherwise; **unused** when no plan of any shape uses it, in any "
        "state measured.",
        "",
        f"Workload mix `{mix.source}`: calls per second {reads}; rows per second {writes}.",
        "",
        "| Index | Verdict | Read saved alone (95% CI) | Read saved within | Write added (95% CI) "
        "| Net alone | Size | Build | Relations | In the set |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rec in sorted(s.indexes, key=lambda r: (-r.net_ms_per_s, r.name)):
        rel = "; ".join(relations.get(rec.name, [])) or "–"
        unused = rec.verdict == "unused"
        alone = ("0 (no plan uses it)" if unused
                 else _ci(rec.read_saved_ms_per_s, rec.read_saved_ci95))
        lines.append(
            f"| `{rec.name}` | {VERDICT_ICON[rec.verdict]} | {alone} | "
            f"{'0' if unused else ms_per_s(rec.loo_read_saved_ms_per_s)} | "
            f"{_ci(rec.write_added_ms_per_s, rec.write_added_ci95)} | "
            f"{ms_per_s(rec.net_ms_per_s, signed=True)} | {_size(rec)} | {_build(rec)} | {rel} | "
            f"{'yes' if rec.in_recommended_set else ''} |")
    lines += ["", f"![{CHART}]({CHART})", "",
              "<details><summary>The verdicts in words</summary>", "",
              *(f"- `{rec.name}`: **{rec.verdict}**: {rec.verdict_text}." for rec in s.indexes),
              "", "</details>", ""]
    lines += advisor_section(s)
    lines += _set_section(results, s.recommended)
    lines += _relations(s)
    lines += _reads_detail(s)
    lines += _writes_detail(s)
    return lines


def _set_section(results: RunResults, rec: RecommendedSet | None) -> list[str]:
    if rec is None:
        return []
    name = results.migration_name
    drops = (f" It drops the existing {', '.join(f'`{d}`' for d in rec.drop_existing)}, which "
             "an index of the set covers." if rec.drop_existing else "")
    lines = [
        f"### The recommended set, beside {name}",
        "",
        f"The smallest subset of {name} that keeps at least {rec.keep_pct:.0f}% of every "
        "shape's read benefit under the mix (backward elimination from the indexes the plans "
        "use, least valuable first; an index that pays for itself stays): "
        f"{', '.join(f'`{i}`' for i in rec.indexes)}.{drops} Benefit kept (per-index block): "
        + ", ".join(f"`{k}` {v:.0f}%" for k, v in rec.kept_pct.items()) + ". Ready to apply "
        f"instead of {name}: {_set_files(rec)}, in this folder. Then it was applied to a "
        "third twin (a copy of the unmigrated one) and measured against the unmigrated twin "
        "exactly as the migration was; a shape whose plan there is the migrated twin's for "
        "every parameter set of its rounds runs as it ran with "
        f"{name}, and keeps {name}'s figures (*the same plans*, not timed again):",
        "",
    ]
    queries = _set_queries(results, rec)
    if queries:
        main = {q.name: q for q in results.queries}
        lines += [f"| Shape | {name}: factor (95% CI) | The set: factor (95% CI) "
                  "| The set uses | Expected index |", "|---|---|---|---|---|"]
        for q, same in queries:
            full = main.get(q.name)
            uses = ", ".join(q.after.indexes_used) if q.after else "–"
            expected = ("–" if not q.expects_index else
                        f"{'✅' if q.after and q.expects_index in q.after.indexes_used else '❌'}"
                        f" `{q.expects_index}`")
            mine = "the same plans" if same else _factor(q)
            lines.append(f"| `{q.name}` | {_factor(full)} | {mine} | {uses} | {expected} |")
        lines.append("")
    if rec.writes:
        main_w = {w.name: w for w in (results.writes.workloads if results.writes else [])}
        lines += [f"| Workload | {name}: overhead per row (95% CI) | The set (95% CI) "
                  f"| HOT updates: {name} / the set |", "|---|---|---|---|"]
        for w in rec.writes:
            whole = main_w.get(w.name)
            hot = (f"{whole.after.hot_pct:.0f}% / {w.after.hot_pct:.0f}%"
                   if whole and whole.after and w.after and whole.after.hot_pct is not None
                   and w.after.hot_pct is not None else "–")
            lines.append(f"| `{w.name}` | {_overhead(whole)} | {_overhead(w)} | {hot} |")
        lines.append("")
    d, full_d = rec.disk, results.disk
    if d and full_d:
        freed = f" (and frees {mb(rec.dropped_bytes)})" if rec.dropped_bytes else ""
        lines += [f"Disk: {name} adds {mb(full_d.new_index_bytes)} ({pct(full_d.growth_pct)}), "
                  f"built in {full_d.build_seconds_total:.1f} s; the set adds "
                  f"{mb(d.new_index_bytes)} ({pct(d.growth_pct)}){freed}, built in "
                  f"{d.build_seconds_total:.1f} s.", ""]
    if rec.notes:
        lines += ["<details><summary>How the set was chosen</summary>", "",
                  *(f"- {n}" for n in rec.notes), "", "</details>", ""]
    return lines


def _factor(q: QueryResult | None) -> str:
    if q is None or q.speedup is None or q.speedup_ci95 is None:
        return "–"
    return f"{factor(q.speedup)} ({factor(q.speedup_ci95[0])}–{factor(q.speedup_ci95[1])})"


def _overhead(w: WriteWorkload | None) -> str:
    if w is None or w.overhead_pct is None or w.overhead_ci95 is None:
        return "–"
    return f"{pct(w.overhead_pct)} ({pct(w.overhead_ci95[0])} to {pct(w.overhead_ci95[1])})"


def _relations(s: PerIndexSection) -> list[str]:
    if not s.relations:
        return []
    return ["### Relations between indexes, measured", "",
            *(f"- **{r.kind.replace('_', ' ')}**: {r.text}" for r in s.relations), ""]


def _ms(value: float) -> str:
    """ms() for a difference, which may be negative."""
    return f"-{ms(-value)}" if value < 0 else ms(value)


def _effect(saved: float, ci: Interval | None) -> str:
    if ci is None:
        return "0 (no plan changes)"
    return f"{_ms(saved)} ({_ms(ci[0])} to {_ms(ci[1])})"


def _reads_detail(s: PerIndexSection) -> list[str]:
    lines = ["<details><summary>Reads per index and shape</summary>", "",
             f"Mean time per call saved; {s.read_rounds} paired rounds at most per shape (a slow "
             "shape stops early); a state whose plans equal another's is not timed. Plans "
             "changed: distinct parameter sets whose plan changes when the index is removed "
             "from the migration (within) / added alone.", "",
             "| Index | Shape | Plans changed (within / alone) | Saved per call within "
             "(95% CI) | Saved per call alone (95% CI) | Factor alone |",
             "|---|---|---|---|---|---|"]
    for rec in s.indexes:
        for loo, ao in zip(rec.leave_one_out, rec.add_one, strict=True):
            if not loo.plans_changed and not ao.plans_changed:
                continue
            lines.append(
                f"| `{rec.name}` | `{ao.shape}` | {loo.plans_changed} / {ao.plans_changed} of "
                f"{ao.param_sets} | {_effect(loo.saved_ms, loo.saved_ci95)} | "
                f"{_effect(ao.saved_ms, ao.saved_ci95)} | {factor(ao.factor)} |")
    quiet = [r.name for r in s.indexes if not any(
        e.plans_changed for e in (*r.leave_one_out, *r.add_one))]
    if quiet:
        lines += ["", "No plan of any shape changes when one of these is removed from the "
                  "migration or added alone: " + ", ".join(f"`{q}`" for q in quiet) + "."]
    lines += ["", "| Shape | Calls/s | Without the migration | With it | Saved per call "
              "(95% CI) | A/A (all twice, 95% CI) |", "|---|---|---|---|---|---|"]
    for b in s.shapes:
        aa = (f"{_ms(b.aa_ms)} ({_ms(b.aa_ci95[0])} to {_ms(b.aa_ci95[1])})"
              if b.aa_ms is not None and b.aa_ci95 else "–")
        lines.append(f"| `{b.shape}` | {b.calls_per_s:g} | {ms(b.none_ms)} | {ms(b.all_ms)} | "
                     f"{_ms(b.saved_ms)} ({_ms(b.saved_ci95[0])} to {_ms(b.saved_ci95[1])}) | "
                     f"{aa} |")
    lines += ["", "</details>", ""]
    return lines


def _us(value: float, ci: Interval) -> str:
    return f"{value:+.1f} ({ci[0]:+.1f} to {ci[1]:+.1f})"


def _hot(before: float | None, after: float | None) -> str:
    return f"{before:.0f}% → {after:.0f}%" if before is not None and after is not None else "–"


def _records(value: float | None) -> str:
    return f"{value:+.2f}" if value is not None else "–"


def _writes_detail(s: PerIndexSection) -> list[str]:
    lines = ["<details><summary>Writes per index and workload</summary>", "",
             f"Per row, {s.write_rounds} rounds; each unit of statements ran in every state of "
             "its table's indexes, one right after the other, in rolled-back transactions. "
             "*None → none* is the same state twice (the A/A control), *all* all of the "
             "migration's indexes on the table.", "",
             "| Index | Workload | Without (µs/row) | Added (µs/row, 95% CI) | WAL bytes/row "
             "| WAL records/row | HOT updates |", "|---|---|---|---|---|---|---|"]
    rows = [(rec.name, w) for rec in s.indexes for w in rec.writes]
    rows += [("none → none (A/A)", w) for w in s.write_aa]
    rows += [("all", w) for w in s.write_all]
    for label, w in rows:
        name = label if label.startswith(("none", "all")) else f"`{label}`"
        lines.append(f"| {name} | `{w.workload}` | {w.without_us_per_row:.1f} | "
                     f"{_us(w.added_us_per_row, w.added_ci95)} | "
                     f"{w.added_wal_bytes_per_row:+,.0f} | "
                     f"{_records(w.added_wal_records_per_row)} | "
                     f"{_hot(w.hot_pct_without, w.hot_pct_with)} |")
    lines += ["", "</details>", ""]
    return lines


DISAGREEMENT = {"adds_unused": "⚠️ adds it, no plan uses it",
                "adds_harmful": "⚠️ adds it, it costs more than it saves",
                "rejects_paying": "⚠️ rejects it, it pays", "": "agree"}


def saving(ratio: float | None) -> str:
    """'22x, saves 95%' / '0.80x, 25% more' / '1.00x' for a ratio without / with."""
    share = advisor.saved_pct(ratio)
    if ratio is None or share is None:
        return "–"
    if abs(share) < 0.5:
        return factor(ratio)
    if share > 0:
        return f"{factor(ratio)}, saves {share:.1f}%" if share >= 99.5 else \
            f"{factor(ratio)}, saves {share:.0f}%"
    return f"{factor(ratio)}, {-share:.0f}% more"


def _estimated(est: EstimatedEffect | None) -> str:
    if est is None:
        return "–"
    return f"{_cost(est.cost_without)} → {_cost(est.cost_with)} ({saving(est.ratio)})"


def _measured(e: ReadEffect | None) -> str:
    if e is None:
        return "–"
    if not e.plans_changed:
        return "no plan changes"
    return saving(e.factor)


def _cost(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def _call(rec: IndexAttribution) -> str:
    a = rec.advisor
    if a is None:
        return "–"
    return "**add**" if a.decision == "add" else "reject"


def _names(s: PerIndexSection, names: list[str]) -> str:
    out = []
    for n in names:
        rec = s.index(n)
        a = rec.advisor if rec else None
        if rec is None or a is None:
            continue
        where = f" on `{a.shape}`" if a.shape else ""
        est = f"estimated {saving(a.estimated_ratio)}{where}"
        measured = "" if a.measured_factor is None else f", measured {saving(a.measured_factor)}"
        loo = next((e for e in rec.leave_one_out if e.shape == a.shape), None)
        within = (f", within the migration {saving(loo.factor)}" if a.decision == "reject"
                  and loo is not None and loo.plans_changed and loo.factor else "")
        out.append(f"`{n}` ({est}{measured}{within}; verdict {rec.verdict})")
    return "; ".join(out) if out else "none"


def advisor_section(s: PerIndexSection) -> list[str]:
    """The planner's estimated saving per index beside the measured one, and what Dexter's 50%
    rule would have decided against the measured verdict."""
    calls = [r for r in s.indexes if r.advisor is not None]
    if not calls:
        return []
    split = advisor.disagreements(s.indexes)
    adds = split.get("adds_unused", []) + split.get("adds_harmful", [])
    lines = [
        "### What a cost-based advisor would have decided",
        "",
        "The planner's estimated saving of each index, from plain `EXPLAIN` of the rounds' "
        "parameter sets in the same index states that were timed, with the real index built (no "
        "size guess): the median per-round ratio of total cost without / with it, and the share "
        "of the cost it saves, beside the measured ratio of time. An advisor that decides from "
        f"these estimates, with Dexter's rule ({advisor.RULE}, and the plan must use it), "
        "against the measured verdict:",
        "",
        f"- **It would add, although they measure unused or harmful:** {_names(s, adds)}.",
        "- **It would reject, although they pay for themselves:** "
        f"{_names(s, split.get('rejects_paying', []))}.",
        "",
        "An advisor weighs one index at a time: an index that pays only together with others "
        "(its saving *within* the migration far above its saving alone) is rejected even when "
        "the estimate of its saving alone is right.",
        "",
        "| Index | Dexter's rule | Deciding shape | Estimated alone: cost without → with "
        "| Measured alone | Verdict | Rule vs measurement |",
        "|---|---|---|---|---|---|---|",
    ]
    order = sorted(calls, key=lambda r: (r.advisor.disagreement == "" if r.advisor else True))
    for rec in order:
        a = rec.advisor
        assert a is not None
        effect = next((e for e in rec.add_one if e.shape == a.shape), None)
        lines.append(
            f"| `{rec.name}` | {_call(rec)} | {f'`{a.shape}`' if a.shape else '–'} | "
            f"{_estimated(effect.estimate if effect else None)} | {_measured(effect)} | "
            f"{VERDICT_ICON[rec.verdict]} | {DISAGREEMENT[a.disagreement]} |")
    lines += ["", *_estimates_detail(s), *_hypopg(s)]
    return lines


def _estimates_detail(s: PerIndexSection) -> list[str]:
    hypo = any(e.estimate and e.estimate.hypo_ratio for r in s.indexes for e in r.add_one)
    head = ("| Index | Shape | Alone: estimated (cost without → with) | Alone: measured "
            "| Within: estimated | Within: measured |" + (" HypoPG alone: cost with |"
                                                         if hypo else ""))
    lines = ["<details><summary>Estimated against measured saving, per index and shape"
             "</summary>", "",
             "*Alone*: added to the database as it was before the migration (add-one); *within*: "
             "left out of the migration (leave-one-out). A shape whose plans change in neither "
             "comparison is left out.", "", head,
             "|---|---|---|---|---|---|" + ("---|" if hypo else "")]
    for rec in s.indexes:
        for loo, ao in zip(rec.leave_one_out, rec.add_one, strict=True):
            if not loo.plans_changed and not ao.plans_changed:
                continue
            row = (f"| `{rec.name}` | `{ao.shape}` | {_estimated(ao.estimate)} | {_measured(ao)} "
                   f"| {saving(loo.estimate.ratio) if loo.estimate else '–'} | {_measured(loo)} |")
            if hypo:
                est = ao.estimate
                row += (f" {_cost(est.hypo_cost_with)} ({saving(est.hypo_ratio)}) |"
                        if est and est.hypo_cost_with is not None else " – |")
            lines.append(row)
    return [*lines, "", "</details>", ""]


def _hypopg(s: PerIndexSection) -> list[str]:
    if not s.hypopg_version:
        return [f"HypoPG: {s.hypopg_note}.", ""] if s.hypopg_note else []
    sized = [r for r in s.indexes if r.hypo_size_bytes is not None and r.size_bytes]
    lines = [f"HypoPG {s.hypopg_version}: each index made hypothetical from its definition in "
             "the state without the migration's indexes, beside the real one"
             + (f" ({s.hypopg_note})" if s.hypopg_note else "") + ".", ""]
    if sized:
        lines += ["| Index | Real size | HypoPG's size | HypoPG ÷ real |", "|---|---|---|---|"]
        for r in sized:
            assert r.hypo_size_bytes is not None and r.size_bytes
            lines.append(f"| `{r.name}` | {_bytes(r.size_bytes)} | {_bytes(r.hypo_size_bytes)} | "
                         f"{factor(r.hypo_size_bytes / r.size_bytes)} |")
        lines.append("")
    return lines


def _bytes(n: int) -> str:
    return mb(n) if n >= 10**6 else f"{n / 1000:,.0f} kB"
