"""Command line: `python -m bench run|seed|report`.

Exit codes: 0 ok; 2 bad input or unusable environment (one line on stderr, no traceback
unless --debug); 130 interrupted (what was measured so far is saved, marked incomplete).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from pathlib import Path

from bench import __version__
from bench.config import DEFAULT_OUT, MIGRATION_FILE, QUERIES_DIR, RunConfig, dsn_from_env
from bench.errors import BenchError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", type=float, default=1.0,
                   help="data size; 1.0 = 100,000 leads, about 2 million rows (default 1.0)")
    p.add_argument("--seed", type=int, default=42, help="random seed for data and parameters")
    p.add_argument("--dsn", default=None,
                   help="use this existing server (default: $DATABASE_URL, else an embedded "
                        "PostgreSQL); the harness works only in a scratch database it creates")
    p.add_argument("--keep", action="store_true",
                   help="keep the scratch database (and embedded server data) and print its name")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    top.add_argument("--version", action="version", version=f"pg-index-bench {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="seed, measure before/after the migration, write a report")
    _common(run)
    run.add_argument("--rounds", type=int, default=20, help="measured rounds per shape and phase")
    run.add_argument("--warmup", type=int, default=2, help="warm-up rounds per shape and phase")
    run.add_argument("--write-rounds", type=int, default=15,
                     help="measured rounds per write workload and phase (0: skip writes)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="output folder (default reports/latest)")
    run.add_argument("--shapes", default="",
                     help="comma-separated shape names (default: every .sql in --queries)")
    run.add_argument("--queries", type=Path, default=QUERIES_DIR, help="folder of .sql shapes")
    run.add_argument("--migration", type=Path, default=MIGRATION_FILE,
                     help="Alembic migration file with upgrade()/downgrade()")
    run.add_argument("--parallel-workers", type=int, default=0,
                     help="max_parallel_workers_per_gather for measured queries (default 0)")
    run.add_argument("--statement-timeout", type=float, default=30.0,
                     help="seconds before a runaway query is cancelled (default 30)")

    seed = sub.add_parser("seed", help="create the schema and load the synthetic data only")
    _common(seed)

    rep = sub.add_parser("report", help="re-render report.md and charts from a results.json")
    rep.add_argument("results", type=Path, help="results.json or the folder holding it")
    rep.add_argument("--out", type=Path, default=None, help="output folder (default: alongside)")
    rep.add_argument("--debug", action="store_true")
    return top


def _config(args: argparse.Namespace, argv: list[str]) -> RunConfig:
    shapes = tuple(s.strip() for s in getattr(args, "shapes", "").split(",") if s.strip())
    return RunConfig(
        scale=args.scale, seed=args.seed, rounds=getattr(args, "rounds", 20),
        warmup=getattr(args, "warmup", 2), write_rounds=getattr(args, "write_rounds", 15),
        dsn=dsn_from_env(args.dsn), keep=args.keep,
        out=getattr(args, "out", DEFAULT_OUT), shapes=shapes,
        queries_dir=getattr(args, "queries", QUERIES_DIR),
        migration=getattr(args, "migration", MIGRATION_FILE),
        parallel_workers=getattr(args, "parallel_workers", 0),
        statement_timeout_s=getattr(args, "statement_timeout", 30.0),
        progress=not args.no_progress, argv=tuple(["python -m bench", *argv]),
    )


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    if args.command == "report":
        from bench import report, results

        doc = results.load(args.results)
        out = args.out or (args.results if args.results.is_dir() else args.results.parent)
        print(report.write(doc, out))
        return 0
    cfg = _config(args, argv)
    if args.command == "seed":
        from bench.pipeline import seed_database
        from bench.server import provision

        with provision(cfg.dsn, keep=cfg.keep) as target:
            seed_database(target, cfg)
            if cfg.keep:
                print(target.conninfo)
        return 0
    from bench.pipeline import run

    doc = run(cfg)
    print(f"wrote {cfg.out / 'report.md'} and results.json in {doc['wall_seconds']:.1f} s",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return _run(args, argv)
    except BenchError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: server stopped, scratch database dropped; partial results saved "
              "(marked incomplete)", file=sys.stderr)
        return 130
