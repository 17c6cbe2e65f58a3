"""`python -m bench stats export`: the planner statistics of a database into stats.json.

`--dsn URL` (or $DATABASE_URL) reads a live server, read-only (bench/runner/stats_export.py);
`--from-dump FILE` reads `pg_dump --statistics-only` output instead (bench/results/stats_dump.py),
without a server. The file's model: bench/results/table_stats.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.errors import ConfigError, ExitCode

COMMAND = "stats"


def add_parser(sub: Any) -> None:
    stats = sub.add_parser(COMMAND, help="planner statistics of a database, fit to leave it")
    what = stats.add_subparsers(dest="stats_command", required=True)
    p = what.add_parser("export", help="write stats.json: pg_class and pg_stats of the app's "
                        "tables and the foreign keys' fan-out, read-only; text values replaced "
                        "by stand-ins unless --keep-values")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--dsn", default=None,
                        help="the database to read (default: $DATABASE_URL); needs SELECT on "
                             "the tables and pg_read_all_stats, nothing more")
    source.add_argument("--from-dump", type=Path, default=None, metavar="FILE",
                        help="read `pg_dump --statistics-only` output instead of a server")
    p.add_argument("--out", type=Path, default=Path("stats.json"),
                   help="the file to write (default stats.json)")
    p.add_argument("--keep-values", action="store_true",
                   help="keep text values as they are (default: same-length stand-ins)")
    p.add_argument("--tables", default="",
                   help="comma-separated tables (default: every table of the current schema)")
    p.add_argument("--debug", action="store_true")


def run(args: argparse.Namespace) -> int:
    tables = {t.strip() for t in args.tables.split(",") if t.strip()} or None
    if args.from_dump is not None:
        from bench.results import stats_dump

        try:
            text = args.from_dump.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--from-dump {args.from_dump}: {exc}") from None
        stats = stats_dump.read(text, args.keep_values, tables=tables, name=str(args.from_dump))
    else:
        from bench.config import dsn_from_env

        dsn = dsn_from_env(args.dsn)
        if not dsn:
            raise ConfigError("stats export needs --dsn URL (or $DATABASE_URL) or --from-dump "
                              "FILE")
        from bench.runner.stats_export import export

        stats = export(dsn, args.keep_values, tables)
    try:
        args.out.write_text(stats.model_dump_json(indent=1) + "\n")
    except OSError as exc:
        raise ConfigError(f"--out {args.out}: {exc}") from None
    columns = sum(len(t.columns) for t in stats.tables)
    print(f"wrote {args.out}: {len(stats.tables)} table(s), {columns} column(s), "
          f"{len(stats.foreign_keys)} foreign key(s), text values "
          f"{'kept' if args.keep_values else 'replaced by stand-ins'}", file=sys.stderr)
    return ExitCode.OK
