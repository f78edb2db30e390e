"""Optional dependencies: each is imported where it is used, and a missing one is named with the
pip extra that installs it."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def install_hint(extra: str) -> str:
    """How to install an extra (double quotes: they work in every shell, Windows' too)."""
    return f"the '{extra}' extra: pip install \"streamrl[{extra}]\""


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module``, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"{what} needs {install_hint(extra)}") from None
