"""Per-index attribution, measured: plans, reads and writes in index states, into records.

On the migrated twin, one session, in index states made inside transactions
(per_index.index_states), so nothing is built or dropped for good:

1. plans: every shape's distinct parameter sets are EXPLAINed with all of the migration's
   indexes, with none, with all but one (leave-one-out) and with only one (add-one), for every
   index on a table the shape reads (per_index.index_reads);
2. writes: the write workloads of every table the migration indexes, in the states none, only
   x (for each of its indexes), none again (the A/A control) and all (per_index.index_writes),
   up to the first look;
3. reads: the states whose plans differ are timed side by side, round by round (after the
   writes, so that a shape's rounds can stop once the verdicts they feed are settled); then
   the writes' remaining rounds, only for the tables where a verdict is still open;
4. the records: effects with intervals, weighed with the workload mix into read time saved and
   write time added per second, and a verdict per index (bench.results.attribution).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from bench.config import RunConfig
from bench.results import advisor
from bench.results import attribution as attr
from bench.results.mix import WorkloadMix
from bench.results.per_index import (
    IndexAttribution,
    PerIndexSection,
    ReadEffect,
    ShapeBenefit,
    WriteEffect,
)
from bench.results.stats import (
    EARLY_ALPHA,
    RUN_TO_RUN_SD,
    Looks,
    Stop,
    paired_ratio,
    stop_record,
)
from bench.runner import catalog, plans, reads
from bench.runner.per_index import index_writes
from bench.runner.per_index.index_reads import Planner, StateTimes, param_key, time_states
from bench.runner.per_index.index_states import State
from bench.runner.progress import Bar, Echo, bar, on_terminal
from bench.runner.records import confidence_of, rounds_record
from bench.runner.shapes import Shape
from bench.runner.writes import Workload, WriteBench, WriteRound

ALL_LABEL = "after"
# An early stop of a shape's block needs each of its effects to within +-50% at 99.5%.
READ_EFFECT_PRECISION = 0.5
METHOD = (
    "On the migrated twin, one session; each state of the indexes is made inside a transaction "
    "(DROP INDEX under a savepoint, rolled back). Plans: EXPLAIN of every distinct parameter "
    "set with all of the migration's indexes, none, all but one (leave-one-out) and only one "
    "(add-one); a state whose plans equal another's runs the query the same way and is not "
    "timed again. Reads: round i runs parameter set i in each distinct plan, one right after "
    "the other, the order rotating and reversing. Writes: each unit of 10 statements runs in "
    "every state of its table (none, only x, none again, all) in its own rolled-back "
    "transaction. Read effects are means of the paired per-round differences (the mix weighs "
    "time per second, a sum over calls) with Student's interval; write effects the typical per-"
    "round ratio as in the write phase, in µs per row; both widened by the between-run SD. Net "
    "= read time saved per second (alone: add-one; within the migration: leave-one-out) minus "
    "the write time the index adds per second (measured alone), normal interval."
)


@dataclass
class ShapeBlock:
    """One shape in the attribution: its rounds' parameters, distinct sets, plans, times."""

    shape: Shape
    params: list[dict[str, Any]]
    distinct: list[dict[str, Any]] = field(default_factory=list)
    tables: frozenset[str] = frozenset()
    loo: dict[str, int] = field(default_factory=dict)  # index -> parameter sets whose plan
    ao: dict[str, int] = field(default_factory=dict)  # changed (leave-one-out, add-one)
    uses: dict[State, set[str]] = field(default_factory=dict)  # indexes its plans use
    timed: list[StateTimes] = field(default_factory=list)  # [0]: the attribution block


class Attribution:
    """The plan pass, the timed reads and writes, and the records made from them."""

    def __init__(self, conn: psycopg.Connection[Any], universe: dict[str, str],
                 shapes: list[Shape], params: dict[str, list[dict[str, Any]]],
                 cfg: RunConfig, mix: WorkloadMix) -> None:
        self.conn, self.universe, self.cfg, self.mix = conn, universe, cfg, mix
        self.all: State = frozenset(universe)
        self.none: State = frozenset()
        self.planner = Planner(conn, universe)
        rounds = max(cfg.read_rounds, 1)
        self.blocks = {s.name: ShapeBlock(s, params[s.name][:rounds]) for s in shapes}
        self.write_rounds: dict[tuple[str, int], list[WriteRound]] = {}
        self.write_states: dict[str, list[State]] = {}
        self.workloads: list[tuple[str, str]] = []  # (workload, table)
        self.write_stops: dict[str, Stop] = {}  # workload -> how its rounds ended
        self.write_looks = Looks.up_to(cfg.write_rounds)
        self._chosen: list[Workload] = []

    # --- plans -----------------------------------------------------------------------------

    def explore(self) -> None:
        """EXPLAIN every shape's distinct parameter sets in all, none, leave-one-out and
        add-one states of the indexes on its tables; count the plans each index changes."""
        for b in self.blocks.values():
            b.distinct = list({param_key(p): p for p in b.params}.values())
            b.tables = self.planner.tables(b.shape, b.distinct)
            mine = [ix for ix, t in self.universe.items() if t in b.tables]
            states = [self.all, self.none] + [self.all - {ix} for ix in mine] + [
                frozenset({ix}) for ix in mine]
            for state in states:
                b.uses[state] = {u for p in b.distinct
                                 for u in plans.indexes_used(self.planner.plan(b.shape, p, state))}
            for ix in mine:
                b.loo[ix] = self._changed(b, self.all - {ix}, self.all)
                b.ao[ix] = self._changed(b, frozenset({ix}), self.none)

    def _changed(self, b: ShapeBlock, state: State, reference: State) -> int:
        fp = self.planner.fingerprint
        return sum(fp(b.shape, p, state) != fp(b.shape, p, reference) for p in b.distinct)

    # --- timings ---------------------------------------------------------------------------

    def time_reads(self, echo: Echo) -> None:
        units = sum(self.cfg.warmup + min(self.cfg.read_rounds, len(b.params))
                    for b in self.blocks.values())  # shape rounds
        with bar(units, "per index: reads", on_terminal(self.cfg.progress)) as shown:
            self._time_reads(shown.echo(echo), shown)

    def _time_reads(self, echo: Echo, shown: Bar) -> None:
        for b in self.blocks.values():
            states = [self.all, self.none]
            states += [self.all - {ix} for ix, n in b.loo.items() if n]
            states += [frozenset({ix}) for ix, n in b.ao.items() if n]
            states = list(dict.fromkeys(states))
            start = time.perf_counter()
            b.timed = [time_states(self.conn, self.planner, b.shape, b.params, states,
                                   rounds=self.cfg.read_rounds, warmup=self.cfg.warmup,
                                   max_time_s=self.cfg.max_time_s, aa_state=self.all,
                                   shown=shown, decided=self._decided(b))]
            t = b.timed[0]
            echo(f"per index: {b.shape.name}: {len(states)} states of the indexes, "
                 f"{t.rounds} rounds ({t.stop.text() if t.stop else ''}), {t.executed} "
                 f"executions in {time.perf_counter() - start:.1f} s")

    def _pairs(self, b: ShapeBlock) -> list[tuple[State, State]]:
        """(with, without) of every read effect a shape's block measures: the whole
        migration's saving, leave-one-out and add-one where a plan changes."""
        pairs = [(self.all, self.none)]
        pairs += [(self.all, self.all - {ix}) for ix, n in b.loo.items() if n]
        pairs += [(frozenset({ix}), self.none) for ix, n in b.ao.items() if n]
        return pairs

    def _decided(self, b: ShapeBlock) -> Callable[[StateTimes], bool]:
        """At an early look, the block is done when the whole migration's saving on the shape
        (none vs all: the 95% rule of the recommended set weighs it) has an interval, at the
        early looks' level, on one side of zero and within READ_EFFECT_PRECISION of its
        estimate, and every index whose effects this block measures has its verdict settled
        (keep or drop) with these intervals, the blocks timed before and its write effects
        (timed first), or else its effects here are as precise as the whole saving."""
        early = 1 - EARLY_ALPHA

        def precise(t: StateTimes, with_: State, without: State) -> bool:
            saved, (lo, hi) = attr.mean_difference(
                t.times[without], t.times[with_], extra_rel_sd=RUN_TO_RUN_SD["reads"],
                confidence=early)
            return (lo > 0 or hi < 0) and (hi - lo) / 2 <= READ_EFFECT_PRECISION * abs(saved)

        def decided(t: StateTimes) -> bool:
            if not precise(t, self.all, self.none):
                return False
            fed = {ix for ix, n in b.loo.items() if n} | {ix for ix, n in b.ao.items() if n}
            for ix in fed:
                if self._settled(ix, b, t, early):
                    continue
                if b.loo.get(ix) and not precise(t, self.all, self.all - {ix}):
                    return False
                if b.ao.get(ix) and not precise(t, frozenset({ix}), self.none):
                    return False
            return True

        return decided

    def _settled(self, ix: str, b: ShapeBlock, t: StateTimes, level: float) -> bool:
        """Index `ix` has a verdict of keep or drop with block `b`'s rounds so far (`t`, at
        `level`), the other blocks' timings (each must be timed already) and its writes."""
        rec = IndexAttribution(name=ix, table=self.universe[ix], definition="",
                               verdict="unused")
        for other in self.blocks.values():
            if ix not in other.loo:
                continue
            if other is not b and not other.timed and (other.loo[ix] or other.ao[ix]):
                return False  # still to be timed
            times, lv = (t, level) if other is b else (None, None)
            rec.used_in += _used_in(other, ix, self.all, self.none)
            rec.leave_one_out.append(self.read_effect(other, ix, "loo", times, lv))
            rec.add_one.append(self.read_effect(other, ix, "ao", times, lv))
        table = self.universe[ix]
        if table in self.write_states:
            j = self.write_states[table].index(frozenset({ix}))
            rec.writes = [self.write_effect(w, table, j, level=1 - EARLY_ALPHA)
                          for w, tb in self.workloads if tb == table]
        self._weigh(rec, texts=False)
        return rec.verdict in ("keep", "drop")

    def time_writes(self, conn: psycopg.Connection[Any], bench: WriteBench) -> None:
        """Every write workload of a table the migration indexes, in the states none, only x
        for each of the table's new indexes, none again (A/A) and all: the rounds up to the
        first look (the rest, where a verdict is still open, in finish_writes after the
        reads)."""
        tables = [t for t in catalog.app_tables(conn) if t in set(self.universe.values())]
        for t in tables:
            mine = sorted(ix for ix, table in self.universe.items() if table == t)
            self.write_states[t] = [self.none, *(frozenset({ix}) for ix in mine), self.none,
                                    self.all]
        self._chosen = [w for w in bench.workloads if w.table in tables]
        self.workloads = [(w.name, w.table) for w in self._chosen]
        index_writes.churn(conn, self._chosen)
        first = self.write_looks.at[0]
        with bar((self.cfg.warmup + first) * len(self._chosen), "per index: writes",
                 on_terminal(self.cfg.progress)) as shown:
            self.write_rounds = index_writes.measure(
                conn, self._chosen, self.write_states, self.universe, first,
                self.cfg.warmup, shown=shown)
        self._vacuum(conn)

    def finish_writes(self, conn: psycopg.Connection[Any]) -> None:
        """After the reads: the write rounds from the first look to the cap, for the tables
        where an index's verdict is still open with the writes so far (at the early looks'
        level); the others stop at the look (sequential stopping, bench.results.stats)."""
        looks, first = self.write_looks, self.write_looks.at[0]
        open_ = [t for t in self.write_states
                 if looks.early and not self._table_settled(t)]
        rest = [w for w in self._chosen if w.table in open_]
        if rest:
            with bar((self.cfg.warmup + looks.cap - first) * len(rest), "per index: writes",
                     on_terminal(self.cfg.progress)) as shown:
                index_writes.measure(conn, rest, self.write_states, self.universe, looks.cap,
                                     self.cfg.warmup, shown=shown, start=first,
                                     into=self.write_rounds)
            self._vacuum(conn)
        for w in self._chosen:
            done = len(self.write_rounds[(w.name, 0)])
            reason = "round cap" if w.table in open_ or not looks.early else "decisive"
            self.write_stops[w.name] = stop_record(looks, done, reason)

    def _vacuum(self, conn: psycopg.Connection[Any]) -> None:
        # The rolled-back rows and index entries are dead: clear them away (no ANALYZE).
        for t in self.write_states:
            conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(t)))

    def _table_settled(self, table: str) -> bool:
        """Every index on `table` has its verdict settled with the read effects (timed by
        now) and the write effects so far at the early looks' level: unused by plan identity,
        keep or drop."""
        states = self.write_states[table]
        mine = [w for w, t in self.workloads if t == table]
        for ix, t in self.universe.items():
            if t != table:
                continue
            rec = IndexAttribution(name=ix, table=t, definition="", verdict="unused")
            for b in self.blocks.values():
                if ix in b.loo:
                    rec.used_in += _used_in(b, ix, self.all, self.none)
                    rec.leave_one_out.append(self.read_effect(b, ix, "loo"))
                    rec.add_one.append(self.read_effect(b, ix, "ao"))
            if not rec.used_in:
                continue
            j = states.index(frozenset({ix}))
            rec.writes = [self.write_effect(w, t, j, level=1 - EARLY_ALPHA) for w in mine]
            self._weigh(rec, texts=False)
            if rec.verdict == "inconclusive":
                return False
        return True

    # --- records ---------------------------------------------------------------------------

    def shape_benefits(self) -> list[ShapeBenefit]:
        out = []
        for b in self.blocks.values():
            t = b.timed[0]
            none, all_ = t.times[self.none], t.times[self.all]
            level = confidence_of(t.stop)
            saved, ci = attr.mean_difference(none, all_, extra_rel_sd=RUN_TO_RUN_SD["reads"],
                                             confidence=level)
            aa, aa_ci = (attr.mean_difference(t.aa, all_, confidence=level) if len(t.aa) > 1
                         else (None, None))
            out.append(ShapeBenefit(
                shape=b.shape.name, calls_per_s=self.mix.reads.get(b.shape.name, 0.0),
                rounds=t.rounds, param_sets=len(b.distinct), none_ms=_mean(none),
                all_ms=_mean(all_), saved_ms=saved, saved_ci95=ci, aa_ms=aa, aa_ci95=aa_ci,
                stopped=rounds_record(t.stop)))
        return out

    def read_effect(self, b: ShapeBlock, ix: str, kind: str,
                    times: StateTimes | None = None, level: float | None = None) -> ReadEffect:
        """What index `ix` saves on shape `b`: leave-one-out (all - ix vs all) or add-one
        (none vs only ix); from the block's timings, or from `times` (rounds so far) with
        intervals at `level`."""
        with_, without = ((self.all, self.all - {ix}) if kind == "loo"
                          else (frozenset({ix}), self.none))
        changed = (b.loo if kind == "loo" else b.ao)[ix]
        effect = ReadEffect(shape=b.shape.name, plans_changed=changed,
                            param_sets=len(b.distinct), uses=sorted(b.uses.get(with_, set())),
                            estimate=advisor.estimated_effect(self.costs(b, without),
                                                              self.costs(b, with_)))
        if not changed:
            return effect
        t = times or b.timed[0]
        w, wo = t.times[with_], t.times[without]
        level = level or confidence_of(t.stop)
        effect.rounds = min(len(w), len(wo))
        effect.saved_ms, effect.saved_ci95 = attr.mean_difference(
            wo, w, extra_rel_sd=RUN_TO_RUN_SD["reads"], confidence=level)
        effect.factor, effect.factor_ci95 = paired_ratio(wo, w, extra_sd=RUN_TO_RUN_SD["reads"],
                                                         confidence=level)
        return effect

    def costs(self, b: ShapeBlock, state: State) -> list[float]:
        """The planner's total cost of each round's parameter set in a state (plain EXPLAIN,
        memoized by the plan pass: no new EXPLAIN)."""
        return [float(self.planner.plan(b.shape, p, state)["Total Cost"]) for p in b.params]

    def write_effect(self, workload: str, table: str, j: int, reference: int = 0,
                     extra_sd: float = RUN_TO_RUN_SD["writes"],
                     level: float | None = None) -> WriteEffect:
        """`level`: the interval's (default: the one its stop spent)."""
        with_ = self.write_rounds[(workload, j)]
        without = self.write_rounds[(workload, reference)]
        stop = self.write_stops.get(workload)
        effect = write_effect(workload, with_, without, extra_sd,
                              confidence=level or confidence_of(stop))
        effect.stopped = rounds_record(stop)
        return effect

    def indexes(self, disk: Mapping[str, tuple[int | None, float | None, str]]
                ) -> list[IndexAttribution]:
        """One record per index of the migration, in the migration's order."""
        out = []
        for ix, table in self.universe.items():
            size, build, definition = disk.get(ix, (None, None, ""))
            rec = IndexAttribution(name=ix, table=table, definition=definition,
                                   size_bytes=size, build_seconds=build, verdict="unused")
            for b in self.blocks.values():
                if ix not in b.loo:
                    continue
                rec.used_in += _used_in(b, ix, self.all, self.none)
                rec.leave_one_out.append(self.read_effect(b, ix, "loo"))
                rec.add_one.append(self.read_effect(b, ix, "ao"))
            for workload, t in self.workloads:
                if t == table:
                    j = self.write_states[t].index(frozenset({ix}))
                    rec.writes.append(self.write_effect(workload, t, j))
            self._weigh(rec)
            out.append(rec)
        return out

    def _weigh(self, rec: IndexAttribution, texts: bool = True) -> None:
        """Weigh the effects with the mix; the verdict (and, with `texts`, its sentence and
        the advisor's view)."""
        calls, rows = self.mix.reads, self.mix.writes

        def read_terms(effects: list[ReadEffect]) -> list[attr.Term]:
            return [attr.Term(calls.get(e.shape, 0.0), e.saved_ms, e.saved_ci95 or (0.0, 0.0))
                    for e in effects if e.plans_changed]

        read = attr.weighted_sum(read_terms(rec.add_one))
        loo = attr.weighted_sum(read_terms(rec.leave_one_out))
        write = attr.weighted_sum(attr.Term(rows.get(w.workload, 0.0) / 1000, w.added_us_per_row,
                                            w.added_ci95) for w in rec.writes)
        rec.read_saved_ms_per_s, rec.read_saved_ci95 = read
        rec.loo_read_saved_ms_per_s, rec.loo_read_saved_ci95 = loo
        rec.write_added_ms_per_s, rec.write_added_ci95 = write
        rec.net_ms_per_s, rec.net_ci95 = attr.difference(read, write)
        rec.loo_net_ms_per_s, rec.loo_net_ci95 = attr.difference(loo, write)
        rec.verdict = attr.verdict(bool(rec.used_in), rec.net_ci95, rec.loo_net_ci95)
        if texts:
            rec.verdict_text = attr.verdict_text(rec)
            rec.advisor = advisor.decide(rec)

    def section(self, disk: Mapping[str, tuple[int | None, float | None, str]]
                ) -> PerIndexSection:
        section = PerIndexSection(
            mix=self.mix, method=METHOD, read_rounds=self.cfg.read_rounds,
            write_rounds=self.cfg.write_rounds if self.write_rounds else 0,
            shapes=self.shape_benefits(), indexes=self.indexes(disk))
        for workload, t in self.workloads:
            states = self.write_states[t]
            section.write_aa.append(self.write_effect(workload, t, len(states) - 2, 0, 0.0))
            section.write_all.append(self.write_effect(workload, t, len(states) - 1))
        return section


def write_effect(workload: str, with_: list[WriteRound], without: list[WriteRound],
                 extra_sd: float, confidence: float = 0.95) -> WriteEffect:
    """What `with_` adds per row over `without` (the same rounds, side by side)."""
    per_row_w = [1000 * r.server_ms / r.rows for r in with_]
    per_row_b = [1000 * r.server_ms / r.rows for r in without]
    ratio, (lo, hi) = paired_ratio(per_row_w, per_row_b, extra_sd=extra_sd,
                                   confidence=confidence)
    base = _mean(per_row_b)
    rows_w, rows_b = sum(r.rows for r in with_), sum(r.rows for r in without)
    records = (sum(r.wal_records for r in with_) / rows_w - sum(r.wal_records for r in without)
               / rows_b) if any(r.wal_records for r in without) else None
    return WriteEffect(
        workload=workload, rounds=min(len(with_), len(without)), without_us_per_row=base,
        added_us_per_row=base * (ratio - 1), added_ci95=(base * (lo - 1), base * (hi - 1)),
        added_wal_bytes_per_row=(sum(r.wal_bytes for r in with_) / rows_w
                                 - sum(r.wal_bytes for r in without) / rows_b),
        added_wal_records_per_row=records,
        hot_pct_without=_hot(without), hot_pct_with=_hot(with_))


def _hot(rounds: list[WriteRound]) -> float | None:
    updated = sum(r.updated for r in rounds)
    return 100.0 * sum(r.hot_updated for r in rounds) / updated if updated else None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _used_in(b: ShapeBlock, ix: str, all_: State, none: State) -> list[str]:
    """Where the shape's plans use the index: with all of the migration's indexes, alone, or
    with all but another one."""
    name = b.shape.name
    found = []
    if ix in b.uses.get(all_, set()):
        found.append(f"{name}: {ALL_LABEL}")
    if ix in b.uses.get(frozenset({ix}), set()):
        found.append(f"{name}: alone")
    for state, used in b.uses.items():
        if ix in used and len(state) == len(all_) - 1 and ix in state:
            (other,) = all_ - state
            found.append(f"{name}: without {other}")
    return found


def universe_of(conn: psycopg.Connection[Any], created: list[str]) -> dict[str, str]:
    """The migration's indexes (index -> table), in the order the migration created them
    (`created` may name one twice)."""
    tables = {i.name: i.table for i in catalog.list_indexes(conn, catalog.app_tables(conn))}
    return {ix: tables[ix] for ix in dict.fromkeys(created) if ix in tables}


def open_session(conninfo: str, cfg: RunConfig) -> psycopg.Connection[Any]:
    return reads.open_session(conninfo, reads.SessionSettings(cfg.parallel_workers,
                                                             cfg.statement_timeout_s))
