"""What the commands show while something slow runs, on stderr: stdout carries their results."""

from __future__ import annotations

import contextlib
from typing import Any


def spinner(text: str, show: bool = True) -> contextlib.AbstractContextManager:
    """A spinner with ``text`` on a terminal while the block runs; nothing elsewhere, or unless ``show``."""
    if not show:
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(text)


def transient_bar(*columns: Any) -> Any:
    """A rich ``Progress`` with these columns that leaves nothing behind, shown on a terminal only:
    elsewhere even a transient bar prints an empty line among the command's results."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*columns, transient=True, disable=not Console().is_terminal)
