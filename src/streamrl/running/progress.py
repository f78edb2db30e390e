"""A small progress file, for a sweep that watches many runs. (A training's live bar is
:class:`streamrl.core.progress.ProgressBar`, which ``learn()`` draws too.)"""

from __future__ import annotations

import time
from pathlib import Path

from streamrl.core.files import write_json

PROGRESS_SECONDS = 2.0


class ProgressFile:
    """{"step", "steps"} in a small JSON file, rewritten at most every PROGRESS_SECONDS (the caller
    asks only every few hundred steps, so the clock is read rarely) and once at the end."""

    def __init__(self, path: Path, steps: int) -> None:
        self.path, self.steps, self.last = path, steps, -PROGRESS_SECONDS

    def update(self, step: int, final: bool = False) -> None:
        now = time.monotonic()
        if final or now - self.last >= PROGRESS_SECONDS:
            write_json(self.path, {"step": step, "steps": self.steps})
            self.last = now

