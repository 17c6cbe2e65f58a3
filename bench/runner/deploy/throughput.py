"""Throughput without and with the indexes: the read mix and the write mix at 1, 2, 4, 8 clients,
pgbench at full speed, on the two twins (one unmigrated, one migrated) in turns.

Per client count and mix the runs alternate A B B A (the first twin alternating from one
setting to the next), so drift of the machine's speed lands on both sides alike, as in the
main run's paired rounds. The read mix runs first at every client count (it changes no row),
then the write mix; after each write setting both twins get their rows back and a VACUUM, as
autovacuum would, so the dead rows of one setting do not slow the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from bench.results import stalls
from bench.results.deploy import Throughput, ThroughputCell
from bench.results.pgbench_log import Txn
from bench.runner.deploy import pgbench
from bench.runner.progress import Bar, bar
from bench.runner.provision import Target, settle

Side = Literal["without", "with"]
Mix = Literal["write", "read"]


ORDER = ("the read mix at every client count, then the write mix; per client count and mix, "
         "runs alternate without/with in ABBA order, the first side alternating from one "
         "client count to the next; each ABBA pair of runs uses one pgbench seed on both sides")


def pair_seed(seed: int, k: int) -> int:
    """pgbench's --random-seed for run k of a setting: one per ABBA pair, the same on both
    twins, so both draw the same sequence of transactions. In 1-s runs the seed decides how
    many calls of the read mix's slow shape a run draws: with a seed per run (seed + k) a
    twin's two runs of a setting differed by the same 10-40% run after run, and the 2-client
    read factor read 33-38x or 44-49x depending only on which twin ran first (six runs each)."""
    return seed + k // 2


def order(i: int, runs_per_side: int) -> list[Side]:
    """without/with in ABBA blocks, the first side alternating with i."""
    a: Side = "without" if i % 2 == 0 else "with"
    b: Side = "with" if a == "without" else "without"
    return [side for k in range(runs_per_side) for side in ((a, b) if k % 2 == 0 else (b, a))]


def measure(exe: Path, twins: dict[Side, Target], mixes: dict[Mix, list[tuple[Path, int]]],
            clients: Sequence[int], seconds: int, runs_per_side: int, workdir: Path, seed: int,
            echo: Callable[[str], None], into: Throughput,
            after_writes: Callable[[bool], None] | None = None,
            progress: bool = False) -> Throughput:
    """Fill `into` setting by setting, mix by mix in the order of `mixes` (an interrupted run
    keeps what it measured). `after_writes(last)` runs after each setting of the write mix:
    it puts the twins' rows back (and VACUUMs), so no setting inherits the dead rows of the one
    before; `last` says it was the phase's last. With `progress`, a bar on a terminal, updated
    between pgbench runs."""
    with bar(len(clients) * len(mixes) * 2 * runs_per_side, "throughput", progress) as shown:
        return _measure(exe, twins, mixes, clients, seconds, runs_per_side, workdir, seed,
                        shown.echo(echo), into, after_writes, shown)


def _measure(exe: Path, twins: dict[Side, Target], mixes: dict[Mix, list[tuple[Path, int]]],
             clients: Sequence[int], seconds: int, runs_per_side: int, workdir: Path, seed: int,
             echo: Callable[[str], None], into: Throughput,
             after_writes: Callable[[bool], None] | None, shown: Bar) -> Throughput:
    result = into
    settle(twins["without"])
    settings = [(j, mix, files, i, c) for j, (mix, files) in enumerate(mixes.items())
                for i, c in enumerate(clients)]
    last_write = max((n for n, s in enumerate(settings) if s[1] == "write"), default=-1)
    for n, (j, mix, files, i, c) in enumerate(settings):
        runs: dict[Side, list[list[Txn]]] = {"without": [], "with": []}
        # The first twin alternates from one client count to the next, for each mix.
        for k, side in enumerate(order(i + j, runs_per_side)):
            runs[side].append(pgbench.run(exe, twins[side].conninfo, files, c, seconds,
                                          workdir, pair_seed(seed, k), f"{mix}-{c}-{side}-{k}"))
            shown.update(f"{mix} mix, {c} client(s), run {k + 1} of {2 * runs_per_side}")
        if mix == "write" and after_writes:
            after_writes(n == last_write)
        for side in ("without", "with"):
            tps, per_run, lat, failed = stalls.throughput(runs[side])
            result.cells.append(ThroughputCell(
                mix=mix, clients=c, indexes=side, runs=len(runs[side]),
                seconds=float(seconds * len(runs[side])),
                transactions=sum(len(r) for r in runs[side]), failed=failed,
                tps=round(tps, 2) if tps is not None else None, p50_ms=lat.p50_ms,
                p99_ms=lat.p99_ms, tps_runs=per_run))
        w, m = result.cell(mix, c, "without"), result.cell(mix, c, "with")
        echo(f"throughput: {mix} mix, {c} client(s): {_tps(w)} without, {_tps(m)} with "
             "the indexes")
    return result


def _tps(cell: ThroughputCell | None) -> str:
    return f"{cell.tps:,.0f} tps" if cell and cell.tps is not None else "–"
