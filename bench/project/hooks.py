"""Import what a project file names (`package.module` or `package.module:object`) from the
project's own folder, with one clear line when it cannot."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from bench.errors import ConfigError


def load_object(spec: str, root: Path, what: str) -> Any:
    """The object `spec` names, imported with `root` first on sys.path."""
    module_name, _, attr = spec.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what} {spec!r}: cannot import {module_name} from {root} "
                          f"({exc})") from None
    except Exception as exc:  # the app's module failed while loading
        raise ConfigError(f"{what} {spec!r}: importing {module_name} raised "
                          f"{type(exc).__name__}: {exc}") from None
    if not attr:
        return module
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{what} {spec!r}: {module_name} has no {attr}") from None
    return obj
