"""The agent's kernels compiled before a run's clock and progress bar start, under a spinner."""

from __future__ import annotations

import sys

from streamrl.algorithms.base import StreamAgent
from streamrl.core.console import COMPILING, spinner

# A warm-up longer than this compiled something (loading from Numba's cache takes under a second).
COMPILED_SECONDS = 3.0


def warm_up(agent: StreamAgent, show: bool = True, learning: bool = True) -> float:
    """``agent.warm_up(learning)``; when ``show``, under a spinner and, after a machine's first run
    compiled the kernels, with one line saying so (on stderr: stdout is the command's results).
    Returns the seconds it took."""
    with spinner(COMPILING, show):
        seconds = agent.warm_up(learning)
    if show and seconds > COMPILED_SECONDS:
        print(f"compiled the agent's kernels in {seconds:.0f} s (once: Numba keeps them on disk)", file=sys.stderr)
    return seconds
