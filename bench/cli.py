"""Command line: `python -m bench run|seed|deploy|report|compare|archive|trend|schema|cleanup`.

Exit codes (bench.errors.ExitCode): 0 ok; 1 only when `compare` finds a regression; 2 bad input
or unusable environment (one line on stderr, no traceback unless --debug); 3 an internal error
(a bug in the harness; --debug shows the traceback); 130 interrupted (what was measured so far
is saved, marked incomplete).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from bench import __version__, cleanup, deploy_config, stats_command
from bench import errors as bench_errors
from bench.ci import commands as ci_commands
from bench.config import COLD_ROUNDS, DEFAULT_ROUNDS, RunConfig, check_out_dir, dsn_from_env
from bench.errors import BenchError, ConfigError, ExitCode, first_line
from bench.paths import DEFAULT_OUT
from bench.project.options import add_app_options, add_stats_dsn_option, app_from_args


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", type=float, default=1.0,
                   help="data size: the app's rows at scale 1 times this (default 1.0)")
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
    run.add_argument("--rounds", type=int, default=None,
                     help="paired rounds per shape, before vs after: each runs the query on "
                          f"both twin databases, alternating which goes first (default "
                          f"{DEFAULT_ROUNDS}; {COLD_ROUNDS} "
                          "with --cache cold)")
    run.add_argument("--aa-rounds", type=int, default=RunConfig.aa_rounds,
                     help="paired rounds of the A/A control (both twins unmigrated), for reads "
                          f"and writes: the run's noise floor (default {RunConfig.aa_rounds}; 0 "
                          "skips it)")
    run.add_argument("--max-time", type=float, default=10.0,
                     help="seconds per shape and phase after which a slow shape stops early, "
                          "at the end of an ABBA cycle and after at least 4 rounds (default 10)")
    run.add_argument("--scales", default=None,
                     help="scale sweep, e.g. 0.01,0.1,1: a full run per scale in OUT/scale-<s>/, "
                          "plus sweep.md and growth.png in OUT")
    run.add_argument("--warmup", type=int, default=RunConfig.warmup,
                     help=f"warm-up rounds per shape and phase (default {RunConfig.warmup})")
    run.add_argument("--cache", choices=("warm", "cold"), default="warm",
                     help="warm: pg_prewarm + warm-up rounds (default); cold: restart the "
                          "embedded server (and drop the OS page cache) before every round")
    run.add_argument("--crosscheck-rounds", type=int, default=RunConfig.crosscheck_rounds,
                     help="rounds of the plain query per side, timed by the client (default "
                          f"{RunConfig.crosscheck_rounds})")
    run.add_argument("--write-rounds", type=int, default=RunConfig.write_rounds,
                     help="paired rounds per write workload, before vs after (default "
                          f"{RunConfig.write_rounds}; "
                          "0: skip writes)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="output folder (default reports/latest)")
    run.add_argument("--shapes", default="",
                     help="comma-separated shape names (default: every .sql in --queries)")
    run.add_argument("--parallel-workers", type=int, default=0,
                     help="max_parallel_workers_per_gather for measured queries (default 0)")
    run.add_argument("--statement-timeout", type=float, default=30.0,
                     help="seconds before a runaway query is cancelled (default 30)")
    run.add_argument("--per-index", action="store_true",
                     help="also attribute the reads and writes to each index of the "
                          "migration, give each a verdict, and measure a recommended smaller "
                          "set (adds minutes at scale 1)")
    run.add_argument("--twins", nargs=2, default=None, metavar=("DSN_A", "DSN_B"),
                     help="two clones of one database (database branches, thin clones) as the "
                          "twins: nothing is seeded or copied, the migration goes to B and is "
                          "undone at the end, and the A/A control says whether the two "
                          "measure alike (no database is created or dropped)")
    add_app_options(run)
    add_stats_dsn_option(run)

    seed = sub.add_parser("seed", help="create the schema and load the synthetic data only")
    _common(seed)
    add_app_options(seed)
    add_stats_dsn_option(seed)

    rep = sub.add_parser("report", help="re-render report.md and charts from a results.json")
    rep.add_argument("results", type=Path, help="results.json or the folder holding it")
    rep.add_argument("--out", type=Path, default=None, help="output folder (default: alongside)")
    rep.add_argument("--debug", action="store_true")
    ci_commands.add_parsers(sub)  # compare, archive, trend
    deploy_config.add_parser(sub)
    cleanup.add_parser(sub)
    stats_command.add_parser(sub)

    init = sub.add_parser("init", help="draft a commented project file (pg-index-bench.toml) "
                          "from what this folder holds")
    init.add_argument("--dsn", default=None, help="a database to take the schema from, if "
                      "the folder holds none (read only)")
    init.add_argument("--force", action="store_true", help="replace an existing project file")
    init.add_argument("--debug", action="store_true")

    schema = sub.add_parser("schema", help="print the JSON Schema of results.json")
    schema.add_argument("--out", type=Path, default=None, help="write it to this file instead")
    schema.add_argument("--debug", action="store_true")
    return top


def _config(args: argparse.Namespace, argv: list[str]) -> RunConfig:
    shapes = tuple(s.strip() for s in getattr(args, "shapes", "").split(",") if s.strip())
    argv = [_mask(a, args) for a in argv]  # the command line is recorded in results.json
    return RunConfig(
        scale=args.scale, seed=args.seed, rounds=getattr(args, "rounds", None),
        aa_rounds=getattr(args, "aa_rounds", RunConfig.aa_rounds),
        max_time_s=getattr(args, "max_time", RunConfig.max_time_s),
        crosscheck_rounds=getattr(args, "crosscheck_rounds", RunConfig.crosscheck_rounds),
        cache=getattr(args, "cache", "warm"),
        warmup=getattr(args, "warmup", RunConfig.warmup),
        write_rounds=getattr(args, "write_rounds", RunConfig.write_rounds),
        dsn=args.dsn if getattr(args, "twins", None) else dsn_from_env(args.dsn),
        keep=args.keep, twins=_twins(args),
        out=getattr(args, "out", DEFAULT_OUT), shapes=shapes,
        app=app_from_args(args),
        parallel_workers=getattr(args, "parallel_workers", 0),
        statement_timeout_s=getattr(args, "statement_timeout", 30.0),
        progress=not args.no_progress, argv=tuple(["python -m bench", *argv]),
        per_index=getattr(args, "per_index", False),
    )


def _twins(args: argparse.Namespace) -> tuple[str, str] | None:
    """--twins DSN_A DSN_B (then $DATABASE_URL does not apply: no scratch database)."""
    twins = getattr(args, "twins", None)
    if not twins:
        return None
    if getattr(args, "scales", None):
        raise ConfigError("--twins measures two clones at their own size; leave out --scales")
    if getattr(args, "stats", None):
        raise ConfigError("--stats shapes seeded data; with --twins nothing is seeded")
    return (twins[0], twins[1])


_MAIN_PID = os.getpid()


def _raise_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (and Ctrl-C) in the harness: unwind like Ctrl-C, so cleanup code runs.

    A forked worker (the seeder's data generator) inherits this handler and gets Ctrl-C with
    the whole process group: it exits at once and quietly, and the parent cleans up.
    """
    if os.getpid() != _MAIN_PID:
        os._exit(128 + signum)
    bench_errors.interrupted = True  # raised again at the next phase boundary if this one is lost
    raise KeyboardInterrupt


def _quiet_lost_interrupts(unraisable: Any) -> None:
    """An interrupt that landed in a garbage-collection callback cannot propagate (Python
    prints it as "Exception ignored" and goes on); the next phase boundary raises it again
    (bench.errors.interrupted), so it is not printed as a traceback here."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    # Reading commands (report, compare, archive, trend, schema) import neither psycopg nor
    # the runner: they work on results.json alone.
    if args.command in ci_commands.COMMANDS:
        return ci_commands.run(args)
    if args.command == cleanup.COMMAND:
        return cleanup.run(args)
    if args.command == stats_command.COMMAND:
        return stats_command.run(args)
    if args.command == "report" and deploy_config.is_deploy_folder(args.results):
        from bench.report import deploy as deploy_report

        print(deploy_report.redraw(args.results, args.out))
        return ExitCode.OK
    if args.command == "report":
        from bench.report.output import write_report
        from bench.results import store

        results = store.load(args.results)
        out = args.out or (args.results if args.results.is_dir() else args.results.parent)
        print(write_report(results, out))
        return ExitCode.OK
    if args.command == "init":
        from bench.project.init import write

        path, found = write(Path.cwd(), args.dsn, args.force)
        for line in found or ["nothing: every key is left for you to fill in"]:
            print(f"init: found {line}", file=sys.stderr)
        print(f"wrote {path}; check it, then run: pg-index-bench run", file=sys.stderr)
        return ExitCode.OK
    if args.command == "schema":
        from bench.results.store import json_schema_text

        if args.out:
            args.out.write_text(json_schema_text())
        else:
            print(json_schema_text(), end="")
        return ExitCode.OK
    if args.command == "deploy":
        from bench.runner.deploy.job import run as deploy

        dcfg = deploy_config.from_args(args, [_mask(a, args) for a in argv], _dsn(args))
        check_out_dir(dcfg.out)
        done = deploy(dcfg)
        print(f"wrote {dcfg.out / 'deploy.md'} and deploy.json in {done.wall_seconds or 0:.1f} s",
              file=sys.stderr)
        return ExitCode.OK
    cfg = _config(args, argv)
    if args.command == "seed":
        from bench.runner.provision import provision, redact
        from bench.runner.seeding import seed_database

        with provision(cfg.dsn, keep=cfg.keep) as target:
            record = seed_database(target, cfg)
            if cfg.app.stats_dsn:
                from bench.runner import shape_fidelity
                from bench.runner.shapes import load_shapes

                shapes = load_shapes(cfg.queries_dir, cfg.shapes)
                shape_fidelity.add_shapes(
                    record, cfg.app.stats_dsn, target, cfg, shapes,
                    shape_fidelity.first_parameters(target, cfg, shapes),
                    lambda line: print(line, file=sys.stderr))
            if cfg.keep:
                print(redact(target.conninfo))
        return ExitCode.OK
    from bench.runner.run.pipeline import run

    check_out_dir(cfg.out)
    if args.scales:
        from bench.runner.run.sweep import parse_scales, run_sweep

        run_sweep(cfg, parse_scales(args.scales), echo=lambda line: print(line, file=sys.stderr))
        print(f"wrote {cfg.out / 'sweep.md'}, sweep.json and growth.png", file=sys.stderr)
        return ExitCode.OK
    results = run(cfg)
    print(f"wrote {cfg.out / 'report.md'} and results.json in {results.wall_seconds or 0:.1f} s",
          file=sys.stderr)
    return ExitCode.OK


def _dsn(args: argparse.Namespace) -> str | None:
    return dsn_from_env(getattr(args, "dsn", None))


def _mask(text: str, args: argparse.Namespace) -> str:
    """`text` without the DSNs' passwords (--dsn, --stats-dsn), wherever they came from."""
    dsns = [d for d in (_dsn(args), getattr(args, "stats_dsn", None),
                        *(getattr(args, "twins", None) or ())) if d]
    if not dsns:
        return text
    from bench.runner.provision import mask

    for dsn in dsns:
        text = mask(text, dsn)
    return text


def _database_errors() -> tuple[type[BaseException], ...]:
    """Errors from the database layers that escaped the harness's own checks (only of the
    layers already loaded: a reading command never imports them)."""
    found: list[type[BaseException]] = []
    if "psycopg" in sys.modules:
        found.append(sys.modules["psycopg"].Error)
    if "sqlalchemy.exc" in sys.modules:
        found.append(sys.modules["sqlalchemy.exc"].SQLAlchemyError)
    return tuple(found)


def _fail(args: argparse.Namespace, message: str, code: ExitCode = ExitCode.BAD_INPUT) -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    line = " ".join(_mask(message, args).split()) or "unknown error"
    print(f"error: {line}", file=sys.stderr)
    return code


def _interrupted(args: argparse.Namespace) -> str:
    """What an interrupted command left behind (cleanup has run by the time this prints)."""
    if args.command not in ("run", "seed", "deploy"):
        return "stopped"
    if getattr(args, "twins", None):
        done = ("--twins: no database was created or dropped, and the migration, if it ran, "
                "was undone on B (anything that could not be is named above)")
    elif getattr(args, "keep", False):
        done = "scratch database kept (--keep)"
    else:
        done = "scratch database dropped" + ("" if _dsn(args) else ", embedded server stopped")
    if args.command in ("run", "deploy"):
        name = "results.json" if args.command == "run" else "deploy.json"
        done += f"; results so far in {args.out / name} (marked incomplete)"
    return done


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    bench_errors.interrupted = False
    sys.unraisablehook = _quiet_lost_interrupts
    args = parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if previous[signal.SIGINT] is signal.default_int_handler:  # not if ignored (nohup)
        signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        return _run(args, argv)
    except BenchError as exc:
        return _fail(args, str(exc))
    except OSError as exc:
        return _fail(args, str(exc))
    except _database_errors() as exc:
        return _fail(args, f"PostgreSQL: {first_line(exc)}")
    except KeyboardInterrupt:
        print(f"interrupted: {_interrupted(args)}", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: say so, and never look like a regression (exit 1)
        hint = "" if getattr(args, "debug", False) else "; run again with --debug for the traceback"
        return _fail(args, f"internal error in pg-index-bench: {type(exc).__name__}: "
                           f"{first_line(exc)}{hint}", ExitCode.INTERNAL_ERROR)
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
