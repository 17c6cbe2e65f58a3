"""`python -m bench cleanup [--dsn URL] [--dry-run]`: list and drop what earlier runs left.

Embedded servers' folders in the temp dir whose harness process has gone, and, with --dsn, the
harness's scratch databases on that server (bench.runner.leftovers says what proves a folder or
a database is the harness's; one with open connections is listed and never dropped).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

COMMAND = "cleanup"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(COMMAND, help="list and drop the folders and scratch databases that "
                                     "earlier runs left (only the harness's own)")
    p.add_argument("--dsn", default=None,
                   help="also this server's scratch databases (default: $DATABASE_URL)")
    p.add_argument("--dry-run", action="store_true", help="list them only")
    p.add_argument("--debug", action="store_true")


def run(args: argparse.Namespace) -> int:
    import psycopg

    from bench.config import dsn_from_env
    from bench.runner import leftovers
    from bench.runner.provision import check_dsn, redact

    say = print
    folders = leftovers.dead_folders(kept=True)  # --keep's too: it is asked for by name
    say(f"{len(folders)} embedded server folder(s) of earlier runs in {tempfile.gettempdir()}"
        + (f" ({leftovers.megabytes(folders)})" if folders else ""))
    for folder in folders:
        if not args.dry_run:
            leftovers.remove_folder(Path(folder.name))
        say(f"  {folder.name}: {'would remove' if args.dry_run else 'removed'}")
    dsn = dsn_from_env(args.dsn)
    if dsn:
        check_dsn(dsn)
        try:
            databases = leftovers.scratch_databases(dsn)
        except psycopg.Error as exc:
            from bench.errors import ServerError, first_line
            from bench.runner.provision import mask

            raise ServerError(f"cannot list the databases at {redact(dsn)}: "
                              f"{mask(first_line(exc), dsn)}") from None
        say(f"{len(databases)} scratch database(s) of earlier runs on {redact(dsn)}"
            + (f" ({leftovers.megabytes(databases)})" if databases else ""))
        for db in databases:
            if args.dry_run:
                outcome = "in use (open connections): would keep" if db.in_use else "would drop"
            else:
                why = leftovers.drop_database(dsn, db.name)
                outcome = f"kept: {why}" if why else "dropped"
            say(f"  {db.name}: {outcome}")
    elif not folders:
        print("(give --dsn URL to look for scratch databases on a server too)", file=sys.stderr)
    return 0
