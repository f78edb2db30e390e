"""What a running training shows of itself: a live bar on the terminal, and a small progress file
for a sweep that watches many runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

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


class ProgressBar:
    """A live bar: steps, steps/s, ETA, last and mean episodic return, epsilon where it applies."""

    def __init__(self, total: int, done: int, algorithm: str, env_id: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]} steps/s"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[stats]}"), refresh_per_second=4)
        self.task = self.progress.add_task(f"{algorithm} {env_id}", total=total, completed=done, rate="-", stats="")
        self.progress.start()
        self.start, self.first, self.done = time.perf_counter(), done, done

    def update(self, agent: Any, episode: Any, episodes: list) -> None:
        """After a step of ``agent`` (its num_steps, and epsilon if it has one); ``episode`` ended then
        (or None); ``episodes`` so far (their episode_return)."""
        self.done = agent.num_steps
        if self.done % 200 and episode is None:
            return
        rate = (self.done - self.first) / max(time.perf_counter() - self.start, 1e-9)
        stats = ""
        if episodes:
            recent = [e.episode_return for e in episodes[-10:]]
            stats = f"return last {episodes[-1].episode_return:.1f} mean10 {np.mean(recent):.1f}"
        if hasattr(agent, "epsilon"):
            stats += f" eps {agent.epsilon:.3f}"
        self.progress.update(self.task, completed=self.done, rate=f"{rate:,.0f}", stats=stats)

    def close(self) -> None:
        self.progress.update(self.task, completed=self.done)
        self.progress.stop()
