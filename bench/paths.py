"""Where the harness writes by default: relative to the working directory (the app's own
folder), never inside the installed package."""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = Path("reports") / "latest"
DEFAULT_DEPLOY_OUT = Path("reports") / "deploy"
