"""Markdown for a comparison, shaped for a PR comment: the verdict first, the tables folded."""

from __future__ import annotations

from collections.abc import Callable

from bench.ci import mermaid
from bench.ci.compare import Change, Comparison, QueryRow, WriteRow
from bench.ci.signals import Finding
from bench.formatting import factor, ms, pct, us
from bench.report.per_index import saving
from bench.results import advisor

ICON = {"faster": "✅", "slower": "❌", "unchanged": "➖", "missing": "⚠️", "unconfirmed": "❔"}

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


def _effect_words(name: str, c: Change, what: str) -> str:
    if c.change_pct is None:
        return f"`{name}` {c.reason or 'not measured'}"
    ci = f"; 95% CI {pct(c.ci_pct[0])} to {pct(c.ci_pct[1])}" if c.ci_pct else ""
    return (f"`{name}` {what} {pct(c.change_pct)} ({factor(c.base_median)} → "
            f"{factor(c.new_median)}{ci}; p {_p(c.p_value)})")


def headline(cmp: Comparison) -> str:
    counts = {"better": sum(q.effect.verdict == "faster" for q in cmp.queries),
              "unchanged": sum(q.effect.verdict == "unchanged" for q in cmp.queries),
              "worse": sum(q.effect.verdict == "slower" for q in cmp.queries),
              "missing": sum(q.effect.verdict == "missing" for q in cmp.queries)}
    tally = (f"speedup of {cmp.migration_name}: {counts['better']} higher, "
             f"{counts['unchanged']} unchanged, {counts['worse']} lower of {len(cmp.queries)} "
             "query shapes")
    if counts["missing"]:
        tally += f"; {counts['missing']} not measured"
    unconfirmed = sum(q.effect.verdict == "unconfirmed" for q in cmp.queries)
    if unconfirmed:
        tally += f"; {unconfirmed} lower but unconfirmed"
    signals = cmp.signals.gating
    if signals:
        first = "; ".join(f.text for f in signals)
        return f"❌ **Regression: {first}.** {tally}."
    bad = [q for q in cmp.queries if q.effect.verdict == "slower"]
    if bad:
        first = "; ".join(_effect_words(q.name, q.effect, "speedup") for q in bad)
        return f"❌ **Regression: {first}.** {tally}."
    if cmp.unconfirmed():
        names = ", ".join(f"`{n}`" for n in cmp.unconfirmed())
        return (f"❔ **No confirmed regression.** {names} looked slower, but timing gates only "
                f"when confirmed ({cmp.confirmation}). {tally}.")
    return f"✅ **No query regression.** {tally}."


def _finding(f: Finding) -> str:
    icon = "❌" if f.gates else "⚠️" if f.worse or f.signal == "unstable" else "ℹ️"
    suffix = "" if f.gates or not f.worse else " (does not gate)"
    return f"  - {icon} {f.text}{suffix}"


def signals_lines(cmp: Comparison) -> list[str]:
    """The deterministic signals: what changed, exactly, or that nothing did."""
    rep = cmp.signals
    head = ("**Deterministic signals** (plans, indexes used, rows and shared buffers per "
            "shape; WAL records per row and HOT share per write workload: identical run to run "
            "on the same seed, scale and code, so they gate first):")
    if not rep.compared:
        return [f"- {head} not compared: {rep.note or 'no run records them'}."]
    what = (f"{rep.shapes} shape{'s' * (rep.shapes != 1)} and {rep.workloads} write "
            f"workload{'s' * (rep.workloads != 1)}")
    after = [f for f in rep.findings if f.phase == "after"]
    before = [f for f in rep.findings if f.phase == "before"]
    if not after and not before:
        lines = [f"- {head} ✅ identical in {what}."]
    else:
        lines = [f"- {head} compared in {what}; with the indexes, "
                 f"{len(after) or 'no'} change{'s' * (len(after) != 1)}:"]
        lines += [_finding(f) for f in after]
        if before:
            lines.append(f"  - without the indexes, {len(before)} change"
                         f"{'s' * (len(before) != 1)} (do not gate):")
            lines += ["  " + _finding(f) for f in before]
    if rep.note:
        lines.append(f"  - ⚠️ {rep.note}")
    return lines


def timing_lines(cmp: Comparison) -> list[str]:
    """What the timing gate decided, and what it held back and why."""
    if cmp.confirmed:
        how = "confirmed: base and new interleaved, at least two runs each"
    else:
        how = f"not confirmed ({cmp.confirmation}): reported, not gated"
    lines = [f"- **Timing** (gates only beyond each run's A/A noise floor, with base and new "
             f"interleaved): {how}."]
    rows: list[tuple[str, Change, str]] = [(q.name, q.effect, "speedup") for q in cmp.queries]
    if cmp.gate.fail_on_writes:  # otherwise the write cost line reports them
        rows += [(w.name, w.effect, "cost ratio") for w in cmp.writes]
    for name, c, what in rows:
        if c.verdict == "unconfirmed":
            lines.append(f"  - ❔ {_effect_words(name, c, what)}: looks worse; not confirmed "
                         f"({c.reason})")
        elif c.reason.startswith("within the A/A noise floor"):
            lines.append(f"  - ℹ️ {_effect_words(name, c, what)} is {c.reason}: noise, not "
                         "gated")
    return lines


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
    slower = [w for w in cmp.writes if w.effect.verdict in ("slower", "unconfirmed")]
    gate = "" if cmp.gate.fail_on_writes else " (not gating)"
    if slower:
        versus = (f"{len(slower)} of {len(cmp.writes)} workloads cost more relative to no "
                  f"indexes than on base{gate}: " +
                  ", ".join(_effect_words(w.name, w.effect, "cost ratio")
                            + (" (unconfirmed)" if w.effect.verdict == "unconfirmed" else "")
                            for w in slower))
    else:
        versus = (f"cost ratio vs base: no significant increase in {len(cmp.writes)} "
                  "workloads")
    costs = _overheads(cmp.writes)
    return (f"**Write cost of the indexes on {cmp.new_label}:** "
            f"{costs + ' per row; ' if costs else ''}{versus}.")


def gate_note(cmp: Comparison) -> str:
    g = cmp.gate
    return (
        f"<sub>First the deterministic signals gate: an index no longer used (that new still "
        f"has), shared buffers up by more than {g.threshold_pct:g}%, or different rows from "
        f"an unchanged query, with the indexes"
        f"{'; WAL records per row up or HOT share down' if g.fail_on_writes else ''}. Then "
        f"timing: what each run measured side by side, which the machine's drift "
        f"between runs does not move: the speedup of {cmp.migration_name} per shape"
        f"{' and the cost ratio per write workload' if g.fail_on_writes else ''}. A change "
        f"counts only when it is significant (Yuen's test on trimmed means of the per-round "
        f"ratios, p < {g.alpha:g}, 95% interval excluding no change), large (≥ "
        f"{g.threshold_pct:g}% for speedups, with the latency with the indexes moved by ≥ "
        f"{g.min_ms:g} ms; ≥ {g.write_threshold_pct:g}% for write costs), beyond the runs' "
        f"A/A noise floor, holds in every run, and gates only with base and new interleaved "
        f"(two or more runs each). Absolute latencies are shown but do not gate: between runs "
        f"they move with the machine.</sub>"
    )


def _query_table(rows: list[QueryRow], phase: str) -> list[str]:
    lines = ["| Shape | Base | New | Change (95% CI) | p | Verdict |", "|---|---|---|---|---|---|"]
    for q in rows:
        c: Change = getattr(q, phase)
        lines.append(f"| `{q.name}` | {ms(c.base_median)} | {ms(c.new_median)} | "
                     f"{pct(c.change_pct)}{_ci(c.ci_pct)} | {_p(c.p_value)} | {_verdict(c)} |")
    return lines


def _speedup_table(rows: list[QueryRow]) -> list[str]:
    lines = ["| Shape | Speedup base | Speedup new | Change (95% CI) | p | Verdict "
             "| Expected index | Indexes used after (new) |", "|---|---|---|---|---|---|---|---|"]
    for q in rows:
        c = q.effect
        used = ", ".join(q.new_indexes) or "none"
        flag = " ⚠️ lost" if q.lost_index else ""
        lines.append(f"| `{q.name}` | {factor(c.base_median)} | {factor(c.new_median)} | "
                     f"{pct(c.change_pct)}{_ci(c.ci_pct)} | {_p(c.p_value)} | {_verdict(c)} | "
                     f"{q.expects_index or '–'}{flag} | {used} |")
    return lines


def _write_table(rows: list[WriteRow]) -> list[str]:
    lines = ["| Workload | Cost ratio base | Cost ratio new | Change (95% CI) | p | Verdict "
             "| Per row with the indexes, base → new |", "|---|---|---|---|---|---|---|"]
    for w in rows:
        c, a = w.effect, w.after
        lines.append(f"| `{w.name}` | {factor(c.base_median)} | {factor(c.new_median)} | "
                     f"{pct(c.change_pct)}{_ci(c.ci_pct)} | {_p(c.p_value)} | {_verdict(c)} | "
                     f"{us(a.base_median)} → {us(a.new_median)} ({pct(a.change_pct)}) |")
    return lines


def advisor_lines(cmp: Comparison) -> list[str]:
    """The new run's per-index estimate table, compact: how often Dexter's 50% rule agrees
    with the measured verdicts, and the indexes on which it does not."""
    s = cmp.per_index
    calls = [r for r in s.indexes if r.advisor is not None] if s else []
    if not calls:
        return []
    split = [r for r in calls if r.advisor and r.advisor.disagreement]
    lines = [f"**Per index, the planner against the measurement (new run)**: Dexter's 50% rule "
             f"({advisor.RULE}) agrees with the measured verdict on {len(calls) - len(split)} "
             f"of the {len(calls)} indexes.", ""]
    if not split:
        return lines
    lines += ["| Index | Dexter's rule | Estimated alone | Measured alone | Verdict |",
              "|---|---|---|---|---|"]
    for r in split:
        a = r.advisor
        assert a is not None
        where = f" (`{a.shape}`)" if a.shape else ""
        lines.append(f"| `{r.name}` | {a.decision} | {saving(a.estimated_ratio)}{where} | "
                     f"{saving(a.measured_factor)} | {r.verdict} |")
    return [*lines, ""]


def estimate_lines(cmp: Comparison) -> list[str]:
    """The compact estimated-vs-measured chart of the new run, with its caption and figures."""
    chart = mermaid.estimate_chart(cmp)
    if chart is None:
        return []
    shapes = [q for q in cmp.queries if q.new_estimated_speedup and q.new_speedup]
    figures = ", ".join(f"`{q.name}` {factor(q.new_estimated_speedup)} → "
                        f"{factor(q.new_speedup)}" for q in shapes)
    ixs = mermaid.estimate_points(cmp)[len(shapes):]
    lines = [f"**The planner's estimate against the measurement (new run)**: estimated speedup "
             f"(the planner's total cost before / after) against measured, both axes log and "
             f"on the same range, so the diagonal where they are equal runs from the "
             f"bottom-left corner to the top-right one; above it, the indexes paid more than "
             f"the planner expected. Per shape, estimated → measured: {figures}."]
    if ixs:
        lines[0] += (f" Also {len(ixs)} indexes of --per-index, each added alone on the "
                     "shape that decides Dexter's rule for it: named \"(alone)\" where the "
                     "rule and the measurement disagree, unnamed where they agree.")
    return [*lines, "", chart, ""]


def render(cmp: Comparison, links: list[str] | None = None) -> str:
    """The whole comparison. Summary lines first; every table inside one <details> block."""
    lines = [f"### pg-index-bench: {cmp.new_label} vs {cmp.base_label}", "", headline(cmp), "",
             *signals_lines(cmp), *timing_lines(cmp),
             f"- {migration_line(cmp)}", f"- {writes_line(cmp)}"]
    lines += [f"- ⚠️ {w}" for w in cmp.warnings]
    if cmp.only_base:
        lines.append(f"- ⚠️ only in base (not compared): {', '.join(cmp.only_base)}")
    if cmp.only_new:
        lines.append(f"- only in new (not compared): {', '.join(cmp.only_new)}")
    lines += [f"- {link}" for link in links or []]
    for chart in mermaid.charts(cmp):
        lines += ["", chart]
    lines += ["", gate_note(cmp), "", "<details><summary>Per-shape details</summary>", "",
              f"**Speedup of {cmp.migration_name}, base vs new** (typical per-round ratio "
              "before / after in each run; gates)", "",
              *_speedup_table(cmp.queries), "",
              f"**Query latency after {cmp.migration_name}** (median execution time; does not "
              "gate: absolute times drift between runs)", "",
              *_query_table(cmp.queries, "after"), "",
              f"**Query latency before {cmp.migration_name}** (without the new indexes; does "
              "not gate)", "",
              *_query_table(cmp.queries, "before"), ""]
    if cmp.writes:
        lines += ["**Write cost of the indexes, base vs new** (cost per row with / without "
                  "them, per round; gates with --fail-on-write-regression)", "",
                  *_write_table(cmp.writes), ""]
    lines += estimate_lines(cmp)
    lines += advisor_lines(cmp)
    lines += ["</details>", ""]
    return "\n".join(lines)
