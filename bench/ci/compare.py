"""Compare two runs (results.json): per shape and write workload, what changed and is it real.

The gate (see DESIGN.md, "Gating CI on performance"). Two runs, even of the same code, are made
minutes or days apart, and on this kind of machine the absolute timings of two such runs differ
by up to 20-30% (the CPU's speed alone swings 2x over seconds). What does not drift is what each
run measured side by side: the migration's speedup per shape (before and after, round by round
on twin databases) and the indexes' cost ratio per write workload. So the gate compares those
paired effects, not absolute latencies:

- a shape regresses when its speedup fell; a write workload (with --fail-on-write-regression)
  when its cost ratio rose;
- and only when the change is significant (Yuen's test on the 20% trimmed means of the runs'
  per-round log ratios, p < alpha, and its 95% interval excludes no change), large (beyond
  --threshold, default 10%, for speedups; --write-threshold, default 25%, for write costs),
  holds between every base run and every new run, and, for a shape, also moved the median
  latency with the indexes by at least --min-ms (default 0.1 ms): a 0.03 ms lookup that became
  0.05 ms halves a speedup but costs nobody anything.

Before any timing, the deterministic signals gate (bench/ci/signals.py): plans, indexes used,
rows returned and shared buffers touched per shape, WAL records per row and the HOT share per
write workload. They are identical run to run on the same seed, scale, data and code, so a
change in them is real, and the comment says exactly what changed.

A timing change (a speedup or a write cost ratio) gates only when it is confirmed: beyond the
runs' own A/A noise floor (the widest A/A control interval of that shape or workload in any of
the runs: a change whose interval reaches into it is not called one) and measured with base and
head interleaved, at least two runs per side whose start times alternate (A B B A in one CI
job). A change that passes the statistics with one run per side, or with runs made apart, is
"unconfirmed": reported, not gated; the PR workflow then measures once more in the reverse
order (bench compare --status says so).

The absolute latencies and costs per row are compared too and shown next to it (Mann-Whitney U
and a bootstrap interval of the ratio of medians), but they do not gate: between runs they move
with the machine. Several runs per side (folders of runs) pool their rounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
from scipy import stats as sps

from bench.ci.signals import SignalReport, compare_signals
from bench.errors import ConfigError, ResultsError
from bench.results import estimates, store
from bench.results.model import QueryPhase, QueryResult, RunResults
from bench.results.per_index import PerIndexSection
from bench.results.stats import (
    RUN_TO_RUN_SD,
    FloatArray,
    paired_log_ratios,
    ratio_of_medians_ci,
    trimmed_mean,
    yuen_difference,
)

VERDICTS = ("faster", "slower", "unchanged", "unconfirmed")


@dataclass(frozen=True)
class Gate:
    """What counts as a change: significance level plus magnitude thresholds."""

    threshold_pct: float = 10.0  # queries: relative change of the median
    min_ms: float = 0.1  # queries: absolute change of the median
    write_threshold_pct: float = 25.0  # writes: relative change of the median cost per row
    alpha: float = 0.05
    fail_on_writes: bool = False  # a write regression fails the gate too

    def __post_init__(self) -> None:
        if not self.threshold_pct > 0 or not self.write_threshold_pct > 0:
            raise ConfigError("--threshold and --write-threshold must be greater than 0 (percent)")
        if self.min_ms < 0:
            raise ConfigError(f"--min-ms must be 0 or more (got {self.min_ms})")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"--alpha must be between 0 and 1 (got {self.alpha})")


@dataclass(frozen=True)
class Change:
    """One metric in two runs: medians, change in %, its 95% interval, test, verdict."""

    base_median: float | None
    new_median: float | None
    change_pct: float | None = None
    ci_pct: tuple[float, float] | None = None
    p_value: float | None = None
    verdict: str = "unchanged"  # faster | slower | unchanged | unconfirmed | missing
    reason: str = ""  # why it is not faster/slower, or what is missing
    noise_pct: float | None = None  # the A/A noise floor it was held against (±%)


@dataclass(frozen=True)
class QueryRow:
    name: str
    effect: Change  # the migration's speedup, base vs new: gates
    after: Change  # latency with the indexes: reported only (runs drift apart)
    before: Change  # reported only
    base_speedup: float | None = None
    new_speedup: float | None = None
    expects_index: str | None = None
    new_verdict: str | None = None  # the new run's own before/after verdict
    base_indexes: tuple[str, ...] = ()
    new_indexes: tuple[str, ...] = ()
    new_estimated_speedup: float | None = None  # the planner's cost ratio in new (not compared)

    @property
    def lost_index(self) -> bool:
        """The expected index was used in base and is no longer used in new."""
        ix = self.expects_index
        return bool(ix) and ix in self.base_indexes and ix not in self.new_indexes


@dataclass(frozen=True)
class WriteRow:
    name: str
    effect: Change  # the indexes' cost ratio per row (1 + overhead), base vs new: gates
    after: Change  # cost per row with the indexes: reported only
    base_overhead_pct: float | None = None
    new_overhead_pct: float | None = None
    new_overhead_ci: tuple[float, float] | None = None


@dataclass
class Comparison:
    base_label: str
    new_label: str
    gate: Gate
    queries: list[QueryRow] = field(default_factory=list)
    writes: list[WriteRow] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)  # shapes/workloads missing from new
    only_new: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    migration_name: str = "the migration"
    writes_compared: bool = False
    signals: SignalReport = field(default_factory=SignalReport)
    confirmed: bool = False  # timing: >= 2 runs per side, interleaved in time
    confirmation: str = ""  # why timing is not confirmed
    per_index: PerIndexSection | None = None  # the new run's, with --per-index (not compared)

    def regressions(self) -> list[str]:
        """Names whose worse signal or confirmed worse effect fails the gate."""
        bad = list(dict.fromkeys(f.name for f in self.signals.gating))
        bad += [q.name for q in self.queries if q.effect.verdict == "slower"
                and q.name not in bad]
        if self.gate.fail_on_writes:
            bad += [w.name for w in self.writes if w.effect.verdict == "slower"
                    and w.name not in bad]
        return bad

    def unconfirmed(self) -> list[str]:
        """Timing regressions that need interleaved runs to gate (or to go away)."""
        out = [q.name for q in self.queries if q.effect.verdict == "unconfirmed"]
        if self.gate.fail_on_writes:
            out += [w.name for w in self.writes if w.effect.verdict == "unconfirmed"]
        return out

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions() else 0


def _median(xs: Sequence[float]) -> float:
    return float(np.median(np.asarray(xs, float)))


def mann_whitney_p(base: Sequence[float], new: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value; 1.0 when the samples cannot be told apart at all."""
    b, n = np.asarray(base, float), np.asarray(new, float)
    if len(b) < 2 or len(n) < 2 or np.array_equal(np.sort(b), np.sort(n)):
        return 1.0
    if np.all(b == b[0]) and np.all(n == n[0]):  # two constants: no spread to test against
        return 1.0
    p = float(sps.mannwhitneyu(n, b, alternative="two-sided").pvalue)
    return 1.0 if math.isnan(p) else p


def judge(base_runs: Sequence[Sequence[float]], new_runs: Sequence[Sequence[float]], *,
          threshold_pct: float, min_abs: float = 0.0, alpha: float = 0.05) -> Change:
    """Compare one metric (lower is better) between base and new, each one or more runs.

    Rounds are pooled over a side's runs for the medians, the interval and the test; with
    several runs per side the direction must also hold between every base run and every new
    run (each new run's median beyond each base run's), so one unlucky run cannot decide.
    """
    base = [float(t) for run in base_runs for t in run]
    new = [float(t) for run in new_runs for t in run]
    if not base or not new:
        return Change(_median(base) if base else None, _median(new) if new else None,
                      verdict="missing", reason="no rounds")
    mb, mn = _median(base), _median(new)
    if mb <= 0 or mn <= 0:
        return Change(mb, mn, verdict="unchanged", reason="median is zero")
    ratio = mn / mb
    lo, hi = ratio_of_medians_ci(new, base, paired=False)
    p = mann_whitney_p(base, new)
    ci = ((lo - 1) * 100, (hi - 1) * 100)
    factor = 1 + threshold_pct / 100
    b_meds = [_median(r) for r in base_runs if len(r)]
    n_meds = [_median(r) for r in new_runs if len(r)]
    consistent = (min(n_meds) > max(b_meds)) if ratio > 1 else (max(n_meds) < min(b_meds))
    if len(base) < 2 or len(new) < 2:
        reason = "too few rounds to test"
    elif p >= alpha or lo <= 1 <= hi:
        reason = "not significant"
    elif 1 / factor < ratio < factor:
        reason = f"within ±{threshold_pct:g}%"
    elif abs(mn - mb) < min_abs:
        reason = f"below {min_abs:g} ms"
    elif not consistent:
        reason = "not in every run"
    else:
        return Change(mb, mn, (ratio - 1) * 100, ci, p, "slower" if ratio > 1 else "faster")
    return Change(mb, mn, (ratio - 1) * 100, ci, p, "unchanged", reason)


def judge_effect(base_runs: Sequence[FloatArray], new_runs: Sequence[FloatArray], *,
                 threshold_pct: float, alpha: float = 0.05, worse: str = "lower",
                 run_sd: float = 0.0, min_abs_ok: bool = True) -> Change:
    """Compare a paired effect between base and new: each run gives its per-round log ratios
    (before/after for a speedup, after/before for a write cost), measured side by side within
    that run, so the machine's drift between the runs is not in them.

    The effect of a side is the 20% trimmed mean of its runs' pooled log ratios (the estimate
    every report shows); base and new are compared with Yuen's two-sample test, which gives the
    p-value and the interval of the difference, with the between-run variance `run_sd`^2 of
    each side's estimate (divided by its number of runs) added: two runs of one commit differ
    by that much, whatever their rounds say.
    "slower" means worse (`worse`: a lower speedup, or a higher cost), and is called only when
    the change is significant, beyond the threshold, holds between every base and every new run,
    and (`min_abs_ok`) is large in absolute terms too.
    """
    base = np.concatenate([np.asarray(r, float) for r in base_runs]) if base_runs else np.empty(0)
    new = np.concatenate([np.asarray(r, float) for r in new_runs]) if new_runs else np.empty(0)
    if len(base) < 2 or len(new) < 2:
        return Change(None, None, verdict="missing", reason="no paired rounds")
    eb, en = trimmed_mean(base).mean, trimmed_mean(new).mean
    extra = run_sd ** 2 * (1 / len(base_runs) + 1 / len(new_runs))
    diff, (lo, hi), p = yuen_difference(base, new, extra_var=extra, confidence=1 - alpha)
    change = 100 * (math.exp(diff) - 1)
    ci_pct = (100 * (math.exp(lo) - 1), 100 * (math.exp(hi) - 1))
    got_worse = diff < 0 if worse == "lower" else diff > 0
    per_base = [trimmed_mean(r).mean for r in base_runs if len(r) >= 2]
    per_new = [trimmed_mean(r).mean for r in new_runs if len(r) >= 2]
    consistent = (max(per_new) < min(per_base)) if diff < 0 else (min(per_new) > max(per_base))
    bound = math.log(1 + threshold_pct / 100)
    base_value, new_value = math.exp(eb), math.exp(en)
    if p >= alpha or lo <= 0 <= hi:
        reason = "not significant"
    elif abs(diff) < bound:
        reason = f"within ±{threshold_pct:g}%"
    elif not consistent:
        reason = "not in every run"
    elif got_worse and not min_abs_ok:
        reason = "small in absolute terms"
    else:
        verdict = "slower" if got_worse else "faster"
        return Change(base_value, new_value, change, ci_pct, p, verdict)
    return Change(base_value, new_value, change, ci_pct, p, "unchanged", reason)


def noise_floor(bounds: Sequence[tuple[float, float] | None]) -> float | None:
    """The A/A noise floor over runs, as a log ratio: the farthest any run's A/A interval
    reaches from 1 (None when no run has an A/A control)."""
    logs = [max(abs(math.log(lo)), abs(math.log(hi))) for b in bounds if b
            for lo, hi in [b] if lo > 0 and hi > 0]
    return max(logs) if logs else None


def interleaved(base: Sequence[RunResults], new: Sequence[RunResults]) -> str:
    """'' when timing is confirmed: at least two runs per side, and neither side's runs all
    started before the other's (A B B A or A B A B); else why not."""
    if len(base) < 2 or len(new) < 2:
        return "one run per side"
    tb = [r.started for r in base]
    tn = [r.started for r in new]
    if any(t is None for t in [*tb, *tn]):
        return "a run has no start time"
    b_times = [t for t in tb if t is not None]
    n_times = [t for t in tn if t is not None]
    if max(b_times) <= min(n_times) or max(n_times) <= min(b_times):
        return "base and new were not interleaved"
    return ""


def hold_to_floor(c: Change, floor: float | None, worse: str, confirmation: str) -> Change:
    """A timing change against the noise floor (a log ratio) and the confirmation: a change
    whose interval reaches into the floor is unchanged; a worse one that is not confirmed is
    'unconfirmed' (reported, not gated)."""
    if c.verdict not in ("slower", "faster") or c.ci_pct is None:
        return c
    noise = None if floor is None else 100 * (math.exp(floor) - 1)
    if floor is not None:
        lo, hi = (math.log1p(x / 100) for x in c.ci_pct)
        beyond = hi < -floor if c.change_pct is not None and c.change_pct < 0 else lo > floor
        if not beyond:
            return replace(c, verdict="unchanged", noise_pct=noise,
                           reason=f"within the A/A noise floor (±{noise:.0f}%)")
    if c.verdict == "slower" and confirmation:
        return replace(c, verdict="unconfirmed", noise_pct=noise, reason=confirmation)
    return replace(c, noise_pct=noise)


def _logs(numer: Sequence[float], denom: Sequence[float]) -> FloatArray:
    return paired_log_ratios(numer, denom)


def _speedup_change(base: list[QueryResult], new: list[QueryResult], gate: Gate,
                    after: Change, confirmation: str = "") -> Change:
    change = _raw_speedup_change(base, new, gate, after)
    floor = noise_floor([q.aa.ci95 if q.aa else None for q in [*base, *new]])
    return hold_to_floor(change, floor, "lower", confirmation)


def _raw_speedup_change(base: list[QueryResult], new: list[QueryResult], gate: Gate,
                        after: Change) -> Change:
    """The speedup of one shape, base vs new (gates)."""
    errors = [q.after.error for q in new if q.after and q.after.error]
    if errors and all(q.after and q.after.times_ms for q in base):
        return Change(None, None, verdict="slower", reason=f"new: {errors[0]}")
    b = [_logs(q.before.times_ms, q.after.times_ms) for q in base if q.before and q.after]
    n = [_logs(q.before.times_ms, q.after.times_ms) for q in new if q.before and q.after]
    if not all(len(x) >= 2 for x in [*b, *n]) or not b or not n:
        return Change(None, None, verdict="missing", reason="not measured on both sides")
    big = after.base_median is None or after.new_median is None or (
        after.new_median - after.base_median >= gate.min_ms)
    return judge_effect(b, n, threshold_pct=gate.threshold_pct, alpha=gate.alpha, worse="lower",
                        run_sd=RUN_TO_RUN_SD["reads"], min_abs_ok=big)


def _phase_change(base: list[QueryPhase | None], new: list[QueryPhase | None],
                  gate: Gate) -> Change:
    """One phase ("before"/"after" record) of one shape, over each side's runs."""
    b = [p.times_ms for p in base if p and p.times_ms]
    n = [p.times_ms for p in new if p and p.times_ms]
    errors = [p.error for p in new if p and p.error]
    if b and errors:
        # A timeout where base finished is a slowdown beyond any threshold.
        return Change(_median([x for r in b for x in r]), None, verdict="slower",
                      reason=f"new: {errors[0]}")
    if not b or not n:
        err = next((p.error for p in [*new, *base] if p and p.error), "not measured")
        return Change(None, None, verdict="missing", reason=err)
    return judge(b, n, threshold_pct=gate.threshold_pct, min_abs=gate.min_ms, alpha=gate.alpha)


def _middle(values: Sequence[float | None]) -> float | None:
    """Median of the numbers among values (one per run); None if there are none."""
    nums = [float(v) for v in values if v is not None]
    return _median(nums) if nums else None


T = TypeVar("T")


def _matched(base: list[dict[str, T]], new: list[dict[str, T]],
             ) -> tuple[list[tuple[str, list[T], list[T]]], list[str], list[str]]:
    """Items (shapes or workloads) by name: those in every run of both sides, with their records
    per run; and the names found only in base or only in new."""
    b_names = [n for n in base[0] if all(n in m for m in base)]
    n_names = [n for n in new[0] if all(n in m for m in new)]
    both = [(n, [m[n] for m in base], [m[n] for m in new]) for n in n_names if n in b_names]
    return both, [n for n in b_names if n not in n_names], [n for n in n_names if n not in b_names]


def compare_queries(base: list[RunResults], new: list[RunResults], gate: Gate,
                    confirmation: str = "") -> tuple[list[QueryRow], list[str], list[str]]:
    both, only_base, only_new = _matched([{q.name: q for q in d.queries} for d in base],
                                         [{q.name: q for q in d.queries} for d in new])
    rows = []
    for name, bq, nq in both:  # in new's order: the shapes as the change under test lists them
        after = _phase_change([q.after for q in bq], [q.after for q in nq], gate)
        rows.append(QueryRow(
            name=name, effect=_speedup_change(bq, nq, gate, after, confirmation), after=after,
            before=_phase_change([q.before for q in bq], [q.before for q in nq], gate),
            base_speedup=_middle([q.speedup for q in bq]),
            new_speedup=_middle([q.speedup for q in nq]),
            expects_index=nq[0].expects_index, new_verdict=nq[0].verdict,
            base_indexes=tuple(bq[0].after.indexes_used if bq[0].after else ()),
            new_indexes=tuple(nq[0].after.indexes_used if nq[0].after else ()),
            new_estimated_speedup=_middle([e.estimated_speedup if e else None
                                           for e in map(estimates.for_query, nq)]),
        ))
    return rows, only_base, only_new


def compare_writes(base: list[RunResults], new: list[RunResults], gate: Gate,
                   confirmation: str = "") -> tuple[list[WriteRow], list[str], list[str]] | None:
    """Per write workload: the cost per row with the indexes; None unless every run has it."""
    if any(d.writes is None for d in [*base, *new]):
        return None
    both, only_base, only_new = _matched(
        [{w.name: w for w in d.writes.workloads} for d in base if d.writes],
        [{w.name: w for w in d.writes.workloads} for d in new if d.writes])
    rows = []
    for name, bw, nw in both:
        change = judge([w.after.times_us_per_row if w.after else [] for w in bw],
                       [w.after.times_us_per_row if w.after else [] for w in nw],
                       threshold_pct=gate.write_threshold_pct, alpha=gate.alpha)
        b = [_logs(w.after.times_us_per_row, w.before.times_us_per_row)
             for w in bw if w.after and w.before]
        n = [_logs(w.after.times_us_per_row, w.before.times_us_per_row)
             for w in nw if w.after and w.before]
        effect = (judge_effect(b, n, threshold_pct=gate.write_threshold_pct, alpha=gate.alpha,
                               worse="higher", run_sd=RUN_TO_RUN_SD["writes"])
                  if b and n and all(len(x) >= 2 for x in [*b, *n])
                  else Change(None, None, verdict="missing", reason="not measured on both sides"))
        effect = hold_to_floor(effect, noise_floor([w.aa.ci95 if w.aa else None
                                                    for w in [*bw, *nw]]),
                               "higher", confirmation)
        rows.append(WriteRow(
            name, effect, change, _middle([w.overhead_pct for w in bw]),
            _middle([w.overhead_pct for w in nw]),
            nw[0].overhead_ci95 if len(nw) == 1 else None))
    return rows, only_base, only_new


def _config_warnings(base: RunResults, new: RunResults) -> list[str]:
    out = []
    for key in ("scale", "seed", "rounds", "warmup", "parallel_workers"):
        b, n = getattr(base.config, key), getattr(new.config, key)
        if b != n:
            out.append(f"runs differ in {key}: {b} vs {n}")
    bv = base.server.settings.get("server_version") if base.server else None
    nv = new.server.settings.get("server_version") if new.server else None
    if bv != nv:
        out.append(f"runs differ in PostgreSQL version: {bv} vs {nv}")
    bm, nm = base.environment.cpu_model, new.environment.cpu_model
    if bm != nm:
        out.append(f"runs ran on different CPUs ({bm} vs {nm}): changes include the machine")
    return out


def _busy(results: RunResults) -> str:
    """Why a run's speedups may read high: other processes used the CPU while it measured."""
    busy = results.machine_load.busy_phase() if results.machine_load else None
    if busy is None:
        return ""
    phase, cores = busy
    return (f"measured on a busy machine (other processes used {cores:.2f} cores during "
            f"{phase}): contention stretches seq scans more than index lookups, so its "
            "speedups read high")


def label(results: RunResults, side: str, runs: int = 1) -> str:
    commit = results.environment.git_commit
    text = f"{side} {commit[:7]}" if commit else side
    return f"{text} ({runs} runs)" if runs > 1 else text


def _as_runs(docs: RunResults | list[RunResults]) -> list[RunResults]:
    runs = [docs] if isinstance(docs, RunResults) else list(docs)
    if not runs:
        raise ResultsError("no runs to compare")
    return runs


def compare(base: RunResults | list[RunResults], new: RunResults | list[RunResults],
            gate: Gate | None = None) -> Comparison:
    """Compare new against base; each side is one results dict or a list (repeated runs)."""
    gate = gate or Gate()
    base_runs, new_runs = _as_runs(base), _as_runs(new)
    confirmation = interleaved(base_runs, new_runs)
    queries, only_base, only_new = compare_queries(base_runs, new_runs, gate, confirmation)
    writes = compare_writes(base_runs, new_runs, gate, confirmation)
    cmp = Comparison(label(base_runs[0], "base", len(base_runs)),
                     label(new_runs[0], "new", len(new_runs)), gate,
                     queries, writes[0] if writes else [], only_base, only_new,
                     _config_warnings(base_runs[0], new_runs[0]),
                     migration_name=new_runs[0].migration_name,
                     writes_compared=writes is not None,
                     signals=compare_signals(base_runs, new_runs,
                                             threshold_pct=gate.threshold_pct,
                                             gate_writes=gate.fail_on_writes),
                     confirmed=not confirmation, confirmation=confirmation,
                     per_index=new_runs[0].per_index)
    if writes:
        cmp.only_base += writes[1]
        cmp.only_new += writes[2]
    for side, docs in (("base", base_runs), ("new", new_runs)):
        if not all(d.complete for d in docs):
            cmp.warnings.append(f"a {side} run is incomplete (it stopped early)")
        cmp.warnings += [f"a {side} run {text}" for text in map(_busy, docs) if text]
    signalled = {f.index for f in cmp.signals.findings if f.index}
    for q in queries:
        if q.lost_index and q.expects_index not in signalled:
            cmp.warnings.append(f"`{q.name}` no longer uses {q.expects_index} (new plan uses "
                                f"{', '.join(q.new_indexes) or 'no index'})")
    return cmp


def load(path: Path) -> list[RunResults]:
    """The runs at `path`: a results file, a run's folder, or a folder of runs' folders
    (every results.json below it, e.g. base/1/ and base/2/ for a repeated run)."""
    if path.is_file():
        return [store.load(path)]
    if not path.is_dir():
        raise ResultsError(f"{path}: no such results file or folder")
    if (path / "results.json").is_file():
        return [store.load(path / "results.json")]
    files = sorted(path.rglob("results.json"))
    if not files:
        raise ResultsError(f"{path}: no results.json in this folder or below it")
    return [store.load(f) for f in files]
