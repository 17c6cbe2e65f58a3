"""The app this repository measures (migration 007), as the tests see it: resolved from the
repository's own project file, pg-index-bench.toml, exactly as `make bench` resolves it."""

from __future__ import annotations

from pathlib import Path

from bench.project.app import resolve

ROOT = Path(__file__).resolve().parents[1]
APP = resolve(ROOT)
MIGRATION_FILE = APP.migration
QUERIES_DIR = APP.queries
MIX_FILE = APP.mix
