"""What slow work shows of itself while it runs: spinners and bars, drawn with rich. The commands
draw them on stderr where stdout carries their results; ``learn(progress_bar=True)`` and the
training bar draw on stdout, as Stable-Baselines3's bar does."""

from __future__ import annotations

import contextlib
from typing import Any

# What a first run's compiling is called wherever a spinner shows it.
COMPILING = "compiling the agent's kernels (on a machine's first run, ~30 s; later runs load them)"
# Off a terminal rich cuts each line at 80 columns; lines piped to a file are written whole instead.
UNCUT_WIDTH = 10_000


def make_console(stderr: bool = False) -> Any:
    """A rich ``Console`` on stdout (or stderr). On a terminal or in a notebook it is as wide as
    that; piped to a file, where rich would cut lines at 80 columns (or at COLUMNS, which a file
    does not have either), as wide as its lines."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if console.is_terminal or console.is_jupyter:
        return console
    return Console(stderr=stderr, width=UNCUT_WIDTH)


def spinner(text: str, show: bool = True) -> contextlib.AbstractContextManager:
    """A spinner with ``text`` on a terminal's stderr while the block runs; nothing elsewhere, or unless ``show``."""
    if not show:
        return contextlib.nullcontext()
    return make_console(stderr=True).status(text)


def transient_bar(*columns: Any) -> Any:
    """A rich ``Progress`` with these columns that leaves nothing behind, shown on a terminal only:
    elsewhere even a transient bar prints an empty line among the command's results."""
    from rich.progress import Progress

    console = make_console()
    return Progress(*columns, transient=True, console=console, disable=not console.is_terminal)
