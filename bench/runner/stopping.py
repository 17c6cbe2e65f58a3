"""The cut points each figure's verdict turns on, for sequential stopping (reads.Stopping,
writes.measure_pair): a figure stops at an early look only when its interval holds none of
them, so more rounds could not change what the report says about it.

Reads (bench.results.verdict.read_verdict): the edges of the noise band (NOISE_BAND widened to
the A/A control's interval) and the claimed factor. Writes (WriteWorkload.verdict): the claimed
range's edges and the A/A control's upper edge; without a claim, the A/A interval's edges (or
no change at all, 1, without an A/A control).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bench.results.model import Claims, Interval
from bench.results.stats import MAX_EARLY_FACTOR, RUN_TO_RUN_SD
from bench.results.verdict import NOISE_BAND
from bench.runner.reads import PairedResult, Stopping
from bench.runner.records import noise_floor
from bench.runner.shapes import Shape
from bench.runner.writes import Workload, WriteBench, WriteCuts

# Off: reads run every round. A shape's per-round ratio moves with its parameter set, so a
# figure that stopped at round 8 is the median of other parameter sets than one that ran 24:
# three default runs at scale 1 with early stopping gave fk_join 232x, 462x (stopped at 8)
# and 172x, a 2.69x spread against 1.39x without (benchmarks/side_by_side.py). The interval
# covers its own rounds' median, not the run's; until the parameter sets are drawn so that
# every look sees a balanced share of them, reads are not stopped early.
READS_STOP_EARLY = False


def read_stopping(shapes: list[Shape], aa: Mapping[str, PairedResult],
                  claims: Claims | None) -> Stopping | None:
    if not READS_STOP_EARLY:
        return None
    cuts: dict[str, list[float]] = {}
    for s in shapes:
        lo, hi = NOISE_BAND
        pair = aa.get(s.name)
        if pair is not None and not pair.error and pair.rounds >= 2:
            floor = noise_floor(pair.a.times, pair.b.times, [], [], "reads")
            if floor is not None:
                lo, hi = min(lo, floor.ci95[0]), max(hi, floor.ci95[1])
        claim = claims.reads.get(s.name) if claims else None
        cuts[s.name] = [lo, hi] + ([claim.factor] if claim else [])
    return Stopping(cuts, RUN_TO_RUN_SD["reads"], MAX_EARLY_FACTOR["reads"])


def write_cuts(claim: Interval | None, aa: Interval | None) -> list[float]:
    """The cut points of one write workload's verdict, as ratios after / before. `claim` in
    percent, `aa` the A/A control's interval as a ratio."""
    if claim is not None:
        cuts = [1 + claim[0] / 100, 1 + claim[1] / 100]
        return cuts + ([aa[1]] if aa else [])
    return list(aa) if aa else [1.0]


def write_stopping(bench: WriteBench, claim_for: Callable[[str], Interval | None]) -> WriteCuts:
    """Each workload's cut points, from its claim and its A/A control (measured by then)."""

    def cuts(w: Workload) -> list[float]:
        floor = bench.noise(w)
        return write_cuts(claim_for(w.operation), floor.ci95 if floor else None)

    return cuts
