"""TensorBoard scalars of a training (``streamrl train``, the baselines, ``learn(tensorboard_log=...)``):
per episode (return, length) and per window of steps (TD error, effective step size, how often the
overshooting bound acted, overshoots). Steps and episodes are read by their fields (a StepInfo's
``delta``, ``step_size``, ...; an Episode's ``end_step``, ``episode_return``, ``length``).

Events are written with tensorboardX's event-file writer and protocol buffers, in the training
process itself. Its ``SummaryWriter`` hands every scalar to a writer thread through a
multiprocessing queue of ten: 150-280 us per scalar measured here, two per episode, which on
MinAtar Breakout (an episode every ~50 steps) cost several percent of the run. Written directly,
a scalar costs ~15 us.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from streamrl.core.extras import MissingDependencyError, require

# A scalar written this long after the last flush flushes the file (and syncs it to disk), so a
# live TensorBoard sees a run at most this stale, give or take the time to the next scalar.
FLUSH_SECONDS = 30

# Where every scalar goes as well as to its event file, while a block of scalars_also_to runs
# (streamrl train --track: Weights & Biases); each takes (tag, value, step).
Sink = Callable[[str, float, int], None]
_sinks: list[Sink] = []


@contextlib.contextmanager
def scalars_also_to(sink: Sink) -> Iterator[None]:
    """Every scalar of the scalar logs made in the block goes to ``sink`` too."""
    _sinks.append(sink)
    try:
        yield
    finally:
        _sinks.remove(sink)


def tensorboardx(what: str = "TensorBoard logging (or pass --no-tensorboard)") -> ModuleType:
    """tensorboardX, or the one-line message that names the extra to install (``what`` needs it).
    Imported without torch unless torch is loaded already: tensorboardX imports it only to accept
    torch tensors, which streamrl never passes, and it would add seconds and ~190 MB to every fused run."""
    if "torch" not in sys.modules:
        sys.modules["torch"] = None  # (makes "import torch" raise ImportError, which tensorboardX handles)
        try:
            return require("tensorboardX", "tensorboard", what)
        except MissingDependencyError:
            pass  # (a tensorboardX that needs torch after all: with torch below, or the message about the extra)
        finally:
            del sys.modules["torch"]
    return require("tensorboardX", "tensorboard", what)


class ScalarLog:
    """Aggregates per-step numbers over ``window`` steps and writes them to an event file in ``log_dir``."""

    def __init__(self, log_dir: str | os.PathLike, window: int = 1000, purge_step: int | None = None) -> None:
        tensorboardx()
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog
        from tensorboardX.proto.summary_pb2 import Summary

        self._Event, self._Summary = Event, Summary
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        # The file's name holds the second it was made in, and a same-named file is overwritten: a
        # run resumed within that second would erase the first file. The nanoseconds keep the names
        # apart and in the order TensorBoard must read them (a resume's purge applies to the files
        # before it).
        self.writer = EventsWriter(str(Path(log_dir) / "events"), filename_suffix=f".{time.time_ns():019d}")
        if purge_step is not None:
            # a resumed run: TensorBoard drops what the interrupted one logged from this step on
            self.writer.write_event(Event(wall_time=time.time(), step=purge_step,
                                          session_log=SessionLog(status=SessionLog.START)))
        self.window = window
        self.deltas = np.zeros(window)
        self.step_sizes = np.zeros(window)
        self.bound_active = np.zeros(window, dtype=bool)
        # Intentional updates' own diagnostic: the output's (first-order) change over the intended
        # one, for the value network and the policy (NaN where the step rule has none)
        self.change_ratios = np.full((window, 2), np.nan)
        self.count = 0
        self.overshoots = 0
        self.flushed_at = time.monotonic()
        self.closed = False
        self.sinks = tuple(_sinks)

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        summary = self._Summary(value=[self._Summary.Value(tag=tag, simple_value=float(value))])
        self.writer.write_event(self._Event(wall_time=time.time(), step=int(step), summary=summary))
        if time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self.writer.flush()
            self.flushed_at = time.monotonic()
        for sink in self.sinks:
            sink(tag, float(value), int(step))

    def step(self, step: int, info: Any) -> None:
        i = self.count
        self.deltas[i], self.step_sizes[i], self.bound_active[i] = info.delta, info.step_size, info.bound_active
        if info.change_ratio is not None:
            self.change_ratios[i] = info.change_ratio, info.actor_change_ratio if info.actor_change_ratio is not None \
                else np.nan
        self.overshoots += bool(info.overshot)
        self.count += 1
        if self.count == self.window:
            self._write_window(step)

    def _write_window(self, step: int) -> None:
        n = self.count
        abs_delta = np.abs(self.deltas[:n])
        self.add_scalar("td_error/mean_abs", float(abs_delta.mean()), step)
        self.add_scalar("td_error/max_abs", float(abs_delta.max()), step)
        self.add_scalar("td_error/mean", float(self.deltas[:n].mean()), step)
        self.add_scalar("step_size/mean", float(self.step_sizes[:n].mean()), step)
        self.add_scalar("step_size/bound_active_fraction", float(self.bound_active[:n].mean()), step)
        self.add_scalar("overshoot/count", self.overshoots, step)
        for column, name in enumerate(("change_ratio/value", "change_ratio/policy")):
            ratios = self.change_ratios[:n, column]
            if not np.isnan(ratios).all():
                self.add_scalar(name, float(np.nanmean(ratios)), step)
        self.change_ratios[:n] = np.nan
        self.count, self.overshoots = 0, 0

    def episode(self, episode: Any) -> None:
        self.add_scalar("episode/return", episode.episode_return, episode.end_step)
        self.add_scalar("episode/length", episode.length, episode.end_step)

    def close(self) -> None:
        """Flush, sync and close the file (a second call does nothing)."""
        if not self.closed:
            self.writer.close()
            self.closed = True
