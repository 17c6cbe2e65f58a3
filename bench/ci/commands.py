"""The CI subcommands, which read results.json only: compare (the gate), archive and trend.

Exit codes: 0 ok; 1 `compare` found a significant regression beyond the threshold; 2 bad input
(raised as BenchError and turned into one line by bench.cli).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COMMANDS = ("compare", "archive", "trend")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmp = sub.add_parser(
        "compare", help="compare two runs per shape and write workload; exit 1 on a regression",
        description="Compare NEW against BASE. First the deterministic signals (plans, indexes "
                    "used, rows and buffers per shape; WAL records per row and HOT share per "
                    "write workload), which are exact run to run: an index no longer used, more "
                    "buffers or different rows with the indexes fail. Then the migration's "
                    "speedup per shape: a change counts when significant (Yuen's test), beyond "
                    "--threshold and the runs' A/A noise floor, and gates only when confirmed "
                    "(two or more runs per side, interleaved). Exit 1 on a regression, 0 "
                    "otherwise, 2 on bad input, 3 on an internal error.")
    cmp.add_argument("base", type=Path,
                     help="results.json of the baseline, its folder, or a folder of several "
                          "runs' folders (repeated runs are pooled)")
    cmp.add_argument("new", type=Path, help="the run(s) under test, given the same way")
    cmp.add_argument("--threshold", type=float, default=10.0, metavar="PCT",
                     help="smallest change of a query's median that counts (default 10%%)")
    cmp.add_argument("--min-ms", type=float, default=0.1, metavar="MS",
                     help="smallest absolute change of a query's median that counts "
                          "(default 0.1 ms)")
    cmp.add_argument("--write-threshold", type=float, default=25.0, metavar="PCT",
                     help="smallest change of a write workload's cost per row that counts "
                          "(default 25%%)")
    cmp.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    cmp.add_argument("--fail-on-write-regression", action="store_true",
                     help="also exit 1 when a write workload got significantly slower")
    cmp.add_argument("--link", action="append", default=[], metavar="MARKDOWN",
                     help="a line to add to the summary, e.g. a link to the charts (repeatable)")
    cmp.add_argument("--out", type=Path, default=None, help="also write the Markdown to this file")
    cmp.add_argument("--status", type=Path, default=None, metavar="FILE",
                     help="also write the decision as JSON: exit_code, regressions, unconfirmed "
                          "(timing to confirm by measuring again, interleaved), signal changes")
    cmp.add_argument("--debug", action="store_true")

    arc = sub.add_parser("archive", help="copy a run's results into a history folder")
    arc.add_argument("results", type=Path, help="results.json or the folder holding it")
    arc.add_argument("history", type=Path, help="history folder (created if missing)")
    arc.add_argument("--keep", type=int, default=None, metavar="N",
                     help="then delete all but the newest N archived runs")
    arc.add_argument("--debug", action="store_true")

    tr = sub.add_parser("trend", help="latency and speedup over time from a history folder")
    tr.add_argument("history", type=Path, help="folder with one results.json per run (any depth)")
    tr.add_argument("--out", type=Path, default=None,
                    help="output folder for trend.md, trend.csv and PNGs (default: HISTORY/trend)")
    tr.add_argument("--debug", action="store_true")


def run(args: argparse.Namespace) -> int:
    if args.command == "compare":
        from bench.ci import comment, compare

        gate = compare.Gate(args.threshold, args.min_ms, args.write_threshold, args.alpha,
                            args.fail_on_write_regression)
        base, new = compare.load(args.base), compare.load(args.new)
        result = compare.compare(base, new, gate)
        text = comment.render(result, args.link)
        if args.status:
            from bench.ci import status

            status.save(status.from_comparison(result, base, new), args.status)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text)
        print(text)
        bad = result.regressions()
        if bad:
            print(f"regression: {', '.join(bad)}", file=sys.stderr)
        return result.exit_code
    if args.command == "archive":
        from bench.ci import history

        print(history.archive(args.results, args.history, keep=args.keep))
        return 0
    from bench.ci import trend

    for path in trend.write(args.history, args.out or args.history / "trend"):
        print(path)
    return 0
