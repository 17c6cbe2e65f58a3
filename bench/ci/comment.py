"""Markdown for a comparison, shaped for a PR comment: the verdict first, the tables folded."""

from __future__ import annotations

from collections.abc import Callable

from bench.ci.compare import Change, Comparison, QueryRow, WriteRow
from bench.formatting import factor, ms, pct, us

ICON = {"faster": "✅", "slower": "❌", "unchanged": "➖", "missing": "⚠️"}








def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f" ({pct(ci[0])} to {pct(ci[1])})"


def _p(p: float | None) -> str:
    return "–" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def _verdict(c: Change) -> str:
    text = f"{ICON.get(c.verdict, '')} {c.verdict}"
    return f"{text} ({c.reason})" if c.reason else text




def _change_words(name: str, c: Change, fmt: Callable[[float | None], str] = ms) -> str:
    if c.change_pct is None:
        return f"`{name}` {c.reason or 'not measured'}"
    ci = f"; 95% CI {pct(c.ci_pct[0])} to {pct(c.ci_pct[1])}" if c.ci_pct else ""
    return (f"`{name}` {pct(c.change_pct)} ({fmt(c.base_median)} → {fmt(c.new_median)}{ci}; "
            f"p {_p(c.p_value)})")


def headline(cmp: Comparison) -> str:
    counts = {v: sum(q.after.verdict == v for q in cmp.queries) for v in ICON}
    tally = (f"{counts['faster']} faster, {counts['unchanged']} unchanged, "
             f"{counts['slower']} slower of {len(cmp.queries)} query shapes after "
             f"{cmp.migration_name}")
    if counts["missing"]:
        tally += f"; {counts['missing']} not measured"
    bad = [q for q in cmp.queries if q.after.verdict == "slower"]
    if bad:
        first = "; ".join(_change_words(q.name, q.after) for q in bad)
        return f"❌ **Regression: {first}.** {tally}."
    return f"✅ **No query regression.** {tally}."


def _title(name: str) -> str:
    return name[:1].upper() + name[1:]


def _span(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return factor(lo) if lo == hi else f"{factor(lo)}–{factor(hi)}"


def migration_line(cmp: Comparison) -> str:
    new = [q.new_speedup for q in cmp.queries if q.new_speedup]
    base = [q.base_speedup for q in cmp.queries if q.base_speedup]
    if not new:
        return f"**{_title(cmp.migration_name)}:** no speedup measured."
    faster = sum(q.new_verdict == "faster" for q in cmp.queries)
    return (f"**{_title(cmp.migration_name)} on {cmp.new_label}:** {faster} of "
            f"{len(cmp.queries)} shapes faster with the indexes, {_span(new)}"
            + (f" (base: {_span(base)})." if base else "."))


def _overheads(rows: list[WriteRow]) -> str:
    """Index overhead per row in the new run, one range per operation (insert, update, ...)."""
    ops: dict[str, list[float]] = {}
    for w in rows:
        if w.new_overhead_pct is not None:
            ops.setdefault(w.name.split(":")[0], []).append(w.new_overhead_pct)
    return ", ".join(
        f"{op} {pct(v[0])}" if len(v) == 1 else f"{op} {pct(min(v))} to {pct(max(v))}"
        for op, v in ops.items()
    )


def writes_line(cmp: Comparison) -> str:
    if not cmp.writes_compared:
        return "**Write cost:** not compared (a run has no `writes` section)."
    if not cmp.writes:
        return "**Write cost:** no write workload in both runs."
    slower = [w for w in cmp.writes if w.after.verdict == "slower"]
    gate = "" if cmp.gate.fail_on_writes else " (not gating)"
    if slower:
        versus = (f"{len(slower)} of {len(cmp.writes)} workloads slower per row than base"
                  f"{gate}: " + ", ".join(_change_words(w.name, w.after, us) for w in slower))
    else:
        versus = f"per-row cost vs base: no significant increase in {len(cmp.writes)} workloads"
    costs = _overheads(cmp.writes)
    return (f"**Write cost of the indexes on {cmp.new_label}:** "
            f"{costs + ' per row; ' if costs else ''}{versus}.")


def gate_note(cmp: Comparison) -> str:
    g = cmp.gate
    return (
        f"<sub>A change counts only when it is significant (Mann-Whitney U p < {g.alpha:g} and "
        f"the 95% bootstrap interval of the ratio of medians excludes no change) and large "
        f"(median moved ≥ {g.threshold_pct:g}% and ≥ {g.min_ms:g} ms for queries, "
        f"≥ {g.write_threshold_pct:g}% for writes), and, with repeated runs, holds in every run. "
        f"Within-run rounds understate run-to-run drift, hence the thresholds. Only query "
        f"latency after {cmp.migration_name} gates"
        f"{' (and write cost per row)' if g.fail_on_writes else ''}.</sub>"
    )


def _query_table(rows: list[QueryRow], phase: str) -> list[str]:
    lines = ["| Shape | Base | New | Change (95% CI) | p | Verdict |", "|---|---|---|---|---|---|"]
    for q in rows:
        c: Change = getattr(q, phase)
        lines.append(f"| `{q.name}` | {ms(c.base_median)} | {ms(c.new_median)} | "
                     f"{pct(c.change_pct)}{_ci(c.ci_pct)} | {_p(c.p_value)} | {_verdict(c)} |")
    return lines


def _speedup_table(rows: list[QueryRow]) -> list[str]:
    lines = ["| Shape | Speedup base | Speedup new | Expected index | Indexes used after (new) |",
             "|---|---|---|---|---|"]
    for q in rows:
        used = ", ".join(q.new_indexes) or "none"
        flag = " ⚠️ lost" if q.lost_index else ""
        lines.append(f"| `{q.name}` | {factor(q.base_speedup)} | {factor(q.new_speedup)} | "
                     f"{q.expects_index or '–'}{flag} | {used} |")
    return lines


def _write_table(rows: list[WriteRow]) -> list[str]:
    lines = ["| Workload | Base per row | New per row | Change (95% CI) | p | Verdict "
             "| Index overhead base → new |", "|---|---|---|---|---|---|---|"]
    for w in rows:
        c = w.after
        lines.append(f"| `{w.name}` | {us(c.base_median)} | {us(c.new_median)} | "
                     f"{pct(c.change_pct)}{_ci(c.ci_pct)} | {_p(c.p_value)} | {_verdict(c)} | "
                     f"{pct(w.base_overhead_pct)} → {pct(w.new_overhead_pct)}"
                     f"{_ci(w.new_overhead_ci)} |")
    return lines


def render(cmp: Comparison, links: list[str] | None = None) -> str:
    """The whole comparison. Summary lines first; every table inside one <details> block."""
    lines = [f"### pg-index-bench: {cmp.new_label} vs {cmp.base_label}", "", headline(cmp), "",
             f"- {migration_line(cmp)}", f"- {writes_line(cmp)}"]
    lines += [f"- ⚠️ {w}" for w in cmp.warnings]
    if cmp.only_base:
        lines.append(f"- ⚠️ only in base (not compared): {', '.join(cmp.only_base)}")
    if cmp.only_new:
        lines.append(f"- only in new (not compared): {', '.join(cmp.only_new)}")
    lines += [f"- {link}" for link in links or []]
    lines += ["", gate_note(cmp), "", "<details><summary>Per-shape details</summary>", "",
              f"**Query latency after {cmp.migration_name}** (median execution time; gates)", "",
              *_query_table(cmp.queries, "after"), "",
              f"**Query latency before {cmp.migration_name}** (without the new indexes; not "
              "gating)", "",
              *_query_table(cmp.queries, "before"), "",
              f"**Speedup of {cmp.migration_name} in each run** (median before / median after)",
              "",
              *_speedup_table(cmp.queries), ""]
    if cmp.writes:
        lines += ["**Write cost per row with the indexes**", "", *_write_table(cmp.writes), ""]
    lines += ["</details>", ""]
    return "\n".join(lines)
