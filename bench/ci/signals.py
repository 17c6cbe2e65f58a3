"""The deterministic signals of two runs, compared: what gates first, before any timing.

Timings move with the machine; these do not. On the same seed, scale, data and code, every
round of a shape returns the same rows, runs the same plan and touches the same shared buffers
(hit + read), and every write workload writes the same number of WAL records per row (within a
few records in thousands) and makes the same share of HOT updates (checked on repeated runs on
the reference machine; see README, "A CI gate that does not cry wolf"). So when one of them
changes between base and new, something real changed, whatever the timings say, and the gate
can say exactly what:

- a shape (with the indexes, i.e. as production runs it) that no longer uses an index the new
  run still has fails the gate, naming the index and how the table is read instead; so does a
  shape whose buffers touched rose beyond --threshold, or one whose unchanged query now
  returns different rows;
- a write workload whose WAL records per row rose or whose HOT share fell (an index more to
  maintain, an index on an updated column) fails it only with --fail-on-write-regression: a
  migration that adds an index is meant to cost writes something;
- a row estimate of an unchanged plan that moved by 10x or more (statistics that changed) is
  a warning and never gates;
- every other difference (a new index used, fewer buffers, plans without the indexes) is
  reported and does not gate.

Signals are compared round by round on the rounds both sides measured (round i ran parameter
set i on both), so a shape that stopped early on its time limit compares fine. They are only
compared when both runs seeded the same data (scale, seed, row counts) and drew the same
parameters; and a signal that differs between the runs of one side is reported as unstable
and does not gate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.results.estimates import q_error
from bench.results.model import QueryPhase, QueryResult, RunResults, WritePhase, WriteWorkload

# Writes are nearly, not exactly, deterministic: opportunistic cleanup (pruning a heap page,
# deleting index entries that earlier scans marked dead) depends on the oldest snapshot at that
# moment and on getting a cleanup lock, so now and then a record is written or saved: at scale
# 1, 3 WAL records in 6,500 (one update workload, 8.145 vs 8.141 per row); at scale 0.1
# none. One more index costs one record per row inserted (or updated without HOT), so a
# change counts from 0.1 records per row: 25 times that noise, a tenth of an index. The HOT
# share (a transaction's own counts) was identical in every run; 2 points leave room for the
# same cleanup effect.
WAL_RECORDS_TOLERANCE = 0.1
HOT_TOLERANCE_POINTS = 2.0
# The planner's row estimate of a plan that did not change, moved by this factor or more
# between base and new: its statistics changed (ANALYZE, a statistics target, the data), and a
# later statistics change may pick another plan. A warning; it never gates.
ESTIMATE_MOVE = 10.0
SCAN = re.compile(r"^(?P<kind>.+?)(?: using (?P<index>\S+))? on (?P<table>\S+)$")


@dataclass(frozen=True)
class Finding:
    """One difference in a deterministic signal between base and new."""

    name: str  # shape or write workload
    phase: str  # "after" (with the indexes) or "before"
    signal: str  # plan | rows | buffers | estimate | wal_records | hot | unstable
    text: str  # one Markdown sentence saying what changed
    worse: bool = False
    gates: bool = False  # fails the gate
    index: str | None = None  # the index a plan change is about


@dataclass
class SignalReport:
    findings: list[Finding] = field(default_factory=list)
    shapes: int = 0  # shapes whose signals were compared
    workloads: int = 0  # write workloads whose signals were compared
    note: str = ""  # why signals were not (all) compared

    @property
    def gating(self) -> list[Finding]:
        return [f for f in self.findings if f.gates]

    @property
    def compared(self) -> bool:
        return bool(self.shapes or self.workloads)


def _same_data(base: RunResults, new: RunResults) -> str:
    """Why the two runs' data differ, or '' when they seeded the same rows."""
    for key in ("scale", "seed"):
        b, n = getattr(base.config, key), getattr(new.config, key)
        if b != n:
            return f"the runs differ in {key} ({b} vs {n})"
    if base.seed and new.seed and base.seed.rows != new.seed.rows:
        return "the runs seeded different row counts"
    return ""


def _fmt_int(v: float) -> str:
    return f"{v:,.0f}"


def _scan_parts(scan: str) -> tuple[str, str | None, str]:
    m = SCAN.match(scan)
    if not m:
        return scan, None, "?"
    return m["kind"], m["index"], m["table"]


def _variant_scans(phase: QueryPhase, i: int) -> list[str]:
    v = phase.plan_variants[i]
    if v.scans:
        return v.scans
    # Runs before `scans` was recorded: index names from the structure key only.
    return [f"Index Scan using {ix} on ?" for ix in re.findall(r"\((ix_[^)]+)\)", v.structure)]


def _indexes(scans: Sequence[str]) -> list[str]:
    return sorted({ix for s in scans if (ix := _scan_parts(s)[1])})


def _access(scans: Sequence[str], table: str) -> str:
    """How `table` is read in a plan: 'Seq Scan', 'Index Scan using ix_b', ..."""
    ways = []
    for s in scans:
        kind, index, t = _scan_parts(s)
        if t == table:
            ways.append(f"{kind} using {index}" if index else kind)
    return " + ".join(dict.fromkeys(ways)) or "not read"


def _plan_findings(name: str, phase: str, b: QueryPhase, n: QueryPhase, rounds: int,
                   new_indexes: set[str], gate_on: bool) -> list[Finding]:
    pairs = Counter((b.plan_per_round[i], n.plan_per_round[i]) for i in range(rounds)
                    if b.plan_variants[b.plan_per_round[i]].structure
                    != n.plan_variants[n.plan_per_round[i]].structure)
    out = []
    for (bi, ni), k in pairs.most_common():
        bs, ns = _variant_scans(b, bi), _variant_scans(n, ni)
        lost = [ix for ix in _indexes(bs) if ix not in _indexes(ns)]
        gained = [ix for ix in _indexes(ns) if ix not in _indexes(bs)]
        share = f"{k} of {rounds} rounds"
        where = "" if phase == "after" else " without the indexes"
        for ix in lost:
            table = next((_scan_parts(s)[2] for s in bs if _scan_parts(s)[1] == ix), "?")
            kind = next((_scan_parts(s)[0] for s in bs if _scan_parts(s)[1] == ix), "?")
            still = ix in new_indexes
            why = "" if still else " (new no longer creates it)"
            out.append(Finding(
                name, phase, "plan",
                f"`{name}`{where} no longer uses {ix}{why}: {kind} → {_access(ns, table)} on "
                f"{table} ({share})", worse=True, gates=gate_on and still, index=ix))
        for ix in gained:
            table = next((_scan_parts(s)[2] for s in ns if _scan_parts(s)[1] == ix), "?")
            out.append(Finding(
                name, phase, "plan",
                f"`{name}`{where} now uses {ix}: {_access(bs, table)} → "
                f"{_access(ns, table)} on {table} ({share})", index=ix))
        if not lost and not gained:
            out.append(Finding(
                name, phase, "plan",
                f"`{name}`{where} runs another plan ({share}): "
                f"{b.plan_variants[bi].summary} → {n.plan_variants[ni].summary}"))
    return out


def _estimate_findings(name: str, phase: str, b: QueryPhase, n: QueryPhase,
                       rounds: int) -> list[Finding]:
    """A warning when the root's estimated rows moved by ESTIMATE_MOVE or more in rounds whose
    plan is the same in base and new (runs before plan_rows_per_round: nothing to compare)."""
    k = min(rounds, len(b.plan_rows_per_round), len(n.plan_rows_per_round))
    moved = []
    for i in range(k):
        same = (b.plan_variants[b.plan_per_round[i]].structure
                == n.plan_variants[n.plan_per_round[i]].structure)
        factor, _direction = q_error(b.plan_rows_per_round[i], n.plan_rows_per_round[i])
        if same and factor >= ESTIMATE_MOVE:
            moved.append((factor, i))
    if not moved:
        return []
    factor, i = max(moved)
    where = "" if phase == "after" else " without the indexes"
    return [Finding(
        name, phase, "estimate",
        f"`{name}`{where}: the planner's row estimate moved {factor:,.0f}x with the same plan "
        f"in {len(moved)} of {k} rounds (round {i + 1}: {_fmt_int(b.plan_rows_per_round[i])} → "
        f"{_fmt_int(n.plan_rows_per_round[i])} rows estimated); its statistics changed, and "
        "the next change may pick another plan", worse=True)]


def _per_round_differences(a: list[int], b: list[int], rounds: int) -> list[int]:
    return [i for i in range(rounds) if a[i] != b[i]]


def _median(values: Sequence[int]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _phase_signals(run: QueryPhase) -> tuple[list[int], list[int], list[str]]:
    plans = [run.plan_variants[i].structure for i in run.plan_per_round]
    return run.rows_per_round, run.buffers_per_round, plans


def _side_unstable(phases: list[QueryPhase], rounds: int) -> list[str]:
    """The signals that differ between the runs of one side (over their first `rounds`)."""
    first = _phase_signals(phases[0])
    out = []
    for label, k in (("rows", 0), ("buffers", 1), ("plans", 2)):
        if any(_phase_signals(p)[k][:rounds] != first[k][:rounds] for p in phases[1:]):
            out.append(label)
    return out


def _query_findings(name: str, phase: str, bq: list[QueryResult], nq: list[QueryResult],
                    threshold_pct: float, new_indexes: set[str]) -> list[Finding] | None:
    """Findings for one shape and phase; None when it could not be compared."""
    bp = [q.phase(phase) for q in bq]
    np_ = [q.phase(phase) for q in nq]
    if not all(p and p.measured and p.plan_per_round for p in [*bp, *np_]):
        return None
    b_phases = [p for p in bp if p]
    n_phases = [p for p in np_ if p]
    rounds = min(len(p.plan_per_round) for p in [*b_phases, *n_phases])
    if [bq[0].params[:rounds]] != [nq[0].params[:rounds]]:
        return [Finding(name, phase, "unstable",
                        f"`{name}`: base and new drew different parameters (the data or the "
                        "parameter query changed); signals not compared")]
    out = []
    unstable = {side: _side_unstable(ps, rounds) for side, ps in
                (("base", b_phases), ("new", n_phases))}
    for side, labels in unstable.items():
        if labels:
            out.append(Finding(name, phase, "unstable",
                               f"`{name}`: {', '.join(labels)} differ between the {side} runs "
                               "(not deterministic here; not gating)"))
    shaky = {label for labels in unstable.values() for label in labels}
    b, n = b_phases[0], n_phases[0]
    gate_on = phase == "after"
    if "plans" not in shaky:
        out += _plan_findings(name, phase, b, n, rounds, new_indexes, gate_on)
        out += _estimate_findings(name, phase, b, n, rounds)
    where = "" if phase == "after" else " without the indexes"
    rows = _per_round_differences(b.rows_per_round, n.rows_per_round, rounds)
    if rows and "rows" not in shaky:
        i = rows[0]
        same_sql = bq[0].sql == nq[0].sql
        note = "" if same_sql else " (its query text changed)"
        out.append(Finding(
            name, phase, "rows",
            f"`{name}`{where} returns different rows in {len(rows)} of {rounds} rounds{note} "
            f"(round {i + 1}: {_fmt_int(b.rows_per_round[i])} → "
            f"{_fmt_int(n.rows_per_round[i])} rows)",
            worse=same_sql, gates=gate_on and same_sql))
    diff = _per_round_differences(b.buffers_per_round, n.buffers_per_round, rounds)
    if diff and "buffers" not in shaky:
        mb = _median(b.buffers_per_round[:rounds])
        mn = _median(n.buffers_per_round[:rounds])
        total_b = sum(b.buffers_per_round[:rounds])
        total_n = sum(n.buffers_per_round[:rounds])
        change = 100 * (total_n / total_b - 1) if total_b else float("inf")
        worse = change > threshold_pct
        out.append(Finding(
            name, phase, "buffers",
            f"`{name}`{where} touches {change:+.0f}% shared buffers (hit + read) in "
            f"{len(diff)} of {rounds} rounds (median {_fmt_int(mb)} → {_fmt_int(mn)} per "
            "query)", worse=worse, gates=gate_on and worse))
    return out


def _write_findings(name: str, phase: str, bw: list[WriteWorkload], nw: list[WriteWorkload],
                    gate_writes: bool) -> list[Finding] | None:
    bp: list[WritePhase | None] = [w.before if phase == "before" else w.after for w in bw]
    np_: list[WritePhase | None] = [w.before if phase == "before" else w.after for w in nw]
    if not all(bp) or not all(np_):
        return None
    b_phases = [p for p in bp if p]
    n_phases = [p for p in np_ if p]
    out: list[Finding] = []
    where = " with the indexes" if phase == "after" else " without them"
    gate_on = gate_writes and phase == "after"
    compared = False
    recs = ([p.wal_records_per_row for p in b_phases], [p.wal_records_per_row for p in n_phases])
    if all(v is not None for v in [*recs[0], *recs[1]]):
        compared = True
        b_val, n_val = recs[0][0], recs[1][0]
        assert b_val is not None and n_val is not None
        shaky = [side for side, vals in zip(("base", "new"), recs, strict=True)
                 if max(v or 0 for v in vals) - min(v or 0 for v in vals)
                 > WAL_RECORDS_TOLERANCE]
        if shaky:
            out.append(Finding(name, phase, "unstable",
                               f"`{name}`: WAL records per row differ between the "
                               f"{' and '.join(shaky)} runs (not gating)"))
        elif abs(n_val - b_val) > WAL_RECORDS_TOLERANCE:
            delta = n_val - b_val
            k = round(abs(delta))
            hint = (f": about {k} index {'entry' if k == 1 else 'entries'} per row "
                    f"{'more' if delta > 0 else 'fewer'}" if k >= 1 else "")
            out.append(Finding(
                name, phase, "wal_records",
                f"`{name}` writes {delta:+.2f} WAL records per row{where} "
                f"({b_val:.2f} → {n_val:.2f}){hint}", worse=delta > 0,
                gates=gate_on and delta > 0))
    hots = ([p.hot_pct for p in b_phases], [p.hot_pct for p in n_phases])
    if all(v is not None for v in [*hots[0], *hots[1]]):
        compared = True
        vals_b = [v for v in hots[0] if v is not None]
        vals_n = [v for v in hots[1] if v is not None]
        shaky = [side for side, vals in (("base", vals_b), ("new", vals_n))
                 if max(vals) - min(vals) > HOT_TOLERANCE_POINTS]
        delta = vals_n[0] - vals_b[0]
        if shaky:
            out.append(Finding(name, phase, "unstable",
                               f"`{name}`: the HOT share differs between the "
                               f"{' and '.join(shaky)} runs (not gating)"))
        elif abs(delta) > HOT_TOLERANCE_POINTS:
            hint = (": an index now covers an updated column" if delta < -50 else
                    ": no index covers the updated columns any more" if delta > 50 else "")
            out.append(Finding(
                name, phase, "hot",
                f"`{name}` HOT updates{where}: {vals_b[0]:.0f}% → {vals_n[0]:.0f}% of rows"
                f"{hint}", worse=delta < 0, gates=gate_on and delta < 0))
    return out if compared else None


def _known_indexes(run: RunResults) -> set[str]:
    """Indexes the run's schema has after migrating: those the migration created, and those any
    plan of the run used."""
    names = set(run.migration.indexes if run.migration else [])
    names |= {c.name for c in run.disk.created} if run.disk else set()
    for q in run.queries:
        for p in (q.before, q.after):
            if p:
                names |= set(p.indexes_used)
    return names


def _created(run: RunResults) -> set[str] | None:
    if run.migration:
        return set(run.migration.indexes)
    return {c.name for c in run.disk.created} if run.disk else None


def compare_signals(base: list[RunResults], new: list[RunResults], *, threshold_pct: float,
                    gate_writes: bool) -> SignalReport:
    """Compare the deterministic signals of base and new (each one or more runs)."""
    report = SignalReport()
    why = _same_data(base[0], new[0])
    if why:
        report.note = f"{why}: deterministic signals are not comparable; not gating"
        return report
    # An index that base's migration created and new's does not was removed on purpose: not
    # using it is no regression by itself (its cost shows in the buffers). Any other index
    # that base used is assumed to still exist in new.
    created_b, created_n = _created(base[0]), _created(new[0])
    removed = (created_b - created_n) if created_b is not None and created_n is not None \
        else set()
    new_indexes = (_known_indexes(base[0]) | _known_indexes(new[0])) - removed
    b_by = [{q.name: q for q in r.queries} for r in base]
    n_by = [{q.name: q for q in r.queries} for r in new]
    old_runs = False
    for name in n_by[0]:
        if not all(name in m for m in [*b_by, *n_by]):
            continue
        bq, nq = [m[name] for m in b_by], [m[name] for m in n_by]
        compared = False
        for phase in ("after", "before"):
            found = _query_findings(name, phase, bq, nq, threshold_pct, new_indexes)
            if found is None:
                old_runs = old_runs or any(
                    p is not None and p.measured and not p.plan_per_round
                    for q in [*bq, *nq] for p in (q.phase(phase),))
                continue
            compared = True
            report.findings += found
        report.shapes += compared
    if all(r.writes for r in [*base, *new]):
        bw_by = [{w.name: w for w in r.writes.workloads} for r in base if r.writes]
        nw_by = [{w.name: w for w in r.writes.workloads} for r in new if r.writes]
        for name in nw_by[0]:
            if not all(name in m for m in [*bw_by, *nw_by]):
                continue
            bw, nw = [m[name] for m in bw_by], [m[name] for m in nw_by]
            compared = False
            for phase in ("after", "before"):
                found_w = _write_findings(name, phase, bw, nw, gate_writes)
                if found_w is not None:
                    compared = True
                    report.findings += found_w
            report.workloads += compared
    if old_runs:
        report.note = ("some runs predate per-round signals (rows, buffers and plan per "
                       "round): their shapes are compared on timings only")
    return report
