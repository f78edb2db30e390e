"""The live bar of a training: ``streamrl train``'s, the baselines' and ``learn(progress_bar=True)``'s."""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from streamrl.core.console import make_console

# The recent episodes that "the return" of a training averages wherever it is shown: the bar, the
# run's summary and the learning curves.
RETURN_WINDOW = 10


class ProgressBar:
    """A live bar: steps, steps/s, ETA, last and mean episodic return, epsilon where it applies."""

    def __init__(self, total: int, done: int, algorithm: str, env_id: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]} steps/s"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[stats]}"), refresh_per_second=4, console=make_console())
        self.task = self.progress.add_task(f"{algorithm} {env_id}", total=total, completed=done, rate="-", stats="")
        self.progress.start()
        self.start, self.first, self.done = time.perf_counter(), done, done

    def update(self, agent: Any, episode: Any, episodes: Sequence[Any]) -> None:
        """After a step of ``agent`` (its num_steps, and epsilon if it has one); ``episode`` ended then
        (or None); ``episodes`` so far (their episode_return)."""
        self.done = agent.num_steps
        if self.done % 200 and episode is None:
            return
        rate = (self.done - self.first) / max(time.perf_counter() - self.start, 1e-9)
        stats = ""
        if episodes:
            recent = [e.episode_return for e in episodes[-RETURN_WINDOW:]]
            stats = f"return last {episodes[-1].episode_return:.1f} mean{RETURN_WINDOW} {np.mean(recent):.1f}"
        if hasattr(agent, "epsilon"):
            stats += f" eps {agent.epsilon:.3f}"
        self.progress.update(self.task, completed=self.done, rate=f"{rate:,.0f}", stats=stats)

    def close(self) -> None:
        self.progress.update(self.task, completed=self.done)
        self.progress.stop()
