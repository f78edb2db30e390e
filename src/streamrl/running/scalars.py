"""TensorBoard scalars of a run: per episode (return, length) and per window of steps (TD error,
effective step size, how often the overshooting bound acted, overshoots)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streamrl.algorithms import Episode, StepInfo
from streamrl.envs.make import require


def summary_writer_class() -> type:
    """tensorboardX's SummaryWriter, or the one-line message that names the extra to install."""
    return require("tensorboardX", "tensorboard", "TensorBoard logging (or pass --no-tensorboard)").SummaryWriter


class ScalarLog:
    """Aggregates per-step numbers over ``window`` steps and writes them with tensorboardX."""

    def __init__(self, log_dir: Path, window: int = 1000, purge_step: int | None = None) -> None:
        SummaryWriter = summary_writer_class()
        # purge_step: a resumed run drops what the interrupted one logged after its checkpoint
        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step, flush_secs=30)
        self.window = window
        self.deltas = np.zeros(window)
        self.step_sizes = np.zeros(window)
        self.bound_active = np.zeros(window, dtype=bool)
        self.count = 0
        self.overshoots = 0

    def step(self, step: int, info: StepInfo) -> None:
        i = self.count
        self.deltas[i], self.step_sizes[i], self.bound_active[i] = info.delta, info.step_size, info.bound_active
        self.overshoots += bool(info.overshot)
        self.count += 1
        if self.count == self.window:
            self._flush_window(step)

    def _flush_window(self, step: int) -> None:
        n = self.count
        abs_delta = np.abs(self.deltas[:n])
        self.writer.add_scalar("td_error/mean_abs", float(abs_delta.mean()), step)
        self.writer.add_scalar("td_error/max_abs", float(abs_delta.max()), step)
        self.writer.add_scalar("td_error/mean", float(self.deltas[:n].mean()), step)
        self.writer.add_scalar("step_size/mean", float(self.step_sizes[:n].mean()), step)
        self.writer.add_scalar("step_size/bound_active_fraction", float(self.bound_active[:n].mean()), step)
        self.writer.add_scalar("overshoot/count", self.overshoots, step)
        self.count, self.overshoots = 0, 0

    def episode(self, episode: Episode) -> None:
        self.writer.add_scalar("episode/return", episode.episode_return, episode.end_step)
        self.writer.add_scalar("episode/length", episode.length, episode.end_step)

    def close(self) -> None:
        self.writer.close()
