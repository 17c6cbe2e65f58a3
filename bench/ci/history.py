"""A history of runs: archive a run's results into a folder, read them back in time order.

Layout: HISTORY/<started_at as YYYYmmddTHHMMSSZ>_<commit>/results.json (plus the run's
report.md and charts, and aa-pair.json when the nightly job compared the run with a second run
of the same commit), so a plain `sort` of the folder names is the order of the runs.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.errors import ConfigError, ResultsError
from bench.results import store
from bench.results.model import RunResults

AA_PAIR_FILE = "aa-pair.json"  # bench.ci.status: the gate's decision on the night's A/A pair
ARCHIVED = ("results.json", "report.md", "*.png", AA_PAIR_FILE)


@dataclass(frozen=True)
class Run:
    path: Path  # the results file
    name: str  # its path inside the history folder: unique per run
    results: RunResults
    started_at: datetime


def folder_name(results: RunResults) -> str:
    when = results.started or datetime.now(UTC)
    commit = results.environment.git_commit or "nogit"
    return f"{when.astimezone(UTC):%Y%m%dT%H%M%SZ}_{re.sub(r'[^0-9A-Za-z]', '', commit)[:10]}"


def archive(source: Path, history: Path, keep: int | None = None) -> Path:
    """Copy a run (results.json, report.md, charts) into history/<time>_<commit>/."""
    file = source / "results.json" if source.is_dir() else source
    if not file.is_file():
        raise ResultsError(f"{file}: no such results file")
    doc = store.load(file)
    if not doc.started:
        raise ResultsError(f"{source}: results have no valid 'started_at'; cannot order the run")
    extras: list[Path] = []
    if file.name == "results.json":  # a run's folder: keep its report and charts with it
        extras = sorted(f for pat in ARCHIVED[1:] for f in file.parent.glob(pat))
    dest = history / folder_name(doc)
    suffix = 1
    while dest.exists():
        suffix += 1
        dest = history / f"{folder_name(doc)}-{suffix}"
    dest.mkdir(parents=True)
    shutil.copy2(file, dest / "results.json")
    for f in extras:
        shutil.copy2(f, dest / f.name)
    if keep is not None:
        prune(history, keep)
    return dest


def prune(history: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` archived runs (folders named by `folder_name`)."""
    if keep < 1:
        raise ConfigError(f"--keep must be at least 1 (got {keep})")
    runs = sorted(p for p in history.iterdir()
                  if p.is_dir() and re.match(r"^\d{8}T\d{6}Z_", p.name))
    old = runs[:-keep]
    for p in old:
        shutil.rmtree(p)
    return old


def load_runs(history: Path) -> tuple[list[Run], list[Path]]:
    """Every results file under `history`, oldest first; and the JSON files skipped.

    A file is skipped when it is not a valid results.json of this harness version (for example
    a pytest-benchmark JSON lying in the same folder) or has no start time.
    """
    if not history.is_dir():
        raise ResultsError(f"history folder not found: {history}")
    runs, skipped = [], []
    for path in sorted(history.rglob("*.json")):
        if path.name == AA_PAIR_FILE:  # read beside its run by bench trend
            continue
        try:
            doc = store.load(path)
        except ResultsError:
            skipped.append(path)
            continue
        when = doc.started
        if when is None:
            skipped.append(path)
            continue
        runs.append(Run(path, str(path.relative_to(history)), doc, when))
    runs.sort(key=lambda r: (r.started_at, str(r.path)))
    return runs, skipped
