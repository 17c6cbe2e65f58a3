"""Where the harness finds its own files: the shipped query shapes, migration and outputs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = ROOT / "queries"
MIGRATION_FILE = QUERIES_DIR / "migrations" / "007_add_comprehensive_database_indexes.py"
DEFAULT_OUT = ROOT / "reports" / "latest"
