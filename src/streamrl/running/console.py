"""What the commands show while something slow runs, on stderr: stdout carries their results."""

from __future__ import annotations

import contextlib


def spinner(text: str, show: bool = True) -> contextlib.AbstractContextManager:
    """A spinner with ``text`` on a terminal while the block runs; nothing elsewhere, or unless ``show``."""
    if not show:
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(text)
