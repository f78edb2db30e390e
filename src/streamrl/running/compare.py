"""Learning curves of several runs: grouped by algorithm and environment, mean over seeds with a
standard-error band."""

from __future__ import annotations

import csv
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from streamrl.running.files import atomic_path
from streamrl.running.plots import smooth
from streamrl.running.train import read_run_config

GRID_POINTS = 200


def read_run(run: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    config = read_run_config(run)
    log_path = run / "episodes.csv"
    if not log_path.is_file():
        raise ValueError(f"{run} has no episodes.csv: the run has not finished (resume it with "
                         f"streamrl train --resume {run})")
    rows = list(csv.DictReader(log_path.open()))
    steps = np.array([int(r["end_step"]) for r in rows])
    returns = np.array([float(r["return"]) for r in rows])
    return config, steps, returns


def curve_on_grid(steps: np.ndarray, returns: np.ndarray, grid: np.ndarray, window: int = 10) -> np.ndarray:
    """At each grid step, the mean return of the last ``window`` episodes finished by then (NaN before any)."""
    smoothed = smooth(returns, window)
    index = np.searchsorted(steps, grid, side="right") - 1
    return np.where(index >= 0, smoothed[np.maximum(index, 0)], np.nan)


def plot_runs(runs: list[Path], out: Path) -> dict[tuple[str, str], int]:
    """Write the comparison figure; returns the number of seeds in each (algorithm, env) group."""
    groups: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray, int]]] = defaultdict(list)
    for run in runs:
        config, steps, returns = read_run(run)
        if len(steps):
            groups[(config["algorithm"], config["env_id"])].append((steps, returns, int(config["steps"])))
    if not groups:
        raise ValueError("none of the runs has a finished episode to plot")
    from matplotlib.figure import Figure

    envs = sorted({env for _, env in groups})
    fig = Figure(figsize=(6 * len(envs), 4))
    axes = np.atleast_1d(fig.subplots(1, len(envs)))
    for ax, env in zip(axes, envs):
        for (algorithm, env_id), members in sorted(groups.items()):
            if env_id != env:
                continue
            grid = np.linspace(0, max(total for _, _, total in members), GRID_POINTS)
            # a run says nothing past the steps it trained for
            curves = np.array([np.where(grid <= total, curve_on_grid(s, r, grid), np.nan) for s, r, total in members])
            with warnings.catch_warnings():  # grid steps before any episode ended are all-NaN columns
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(curves, axis=0)
                counts = np.sum(~np.isnan(curves), axis=0)
                se = np.where(counts > 1, np.nanstd(curves, axis=0, ddof=1) / np.sqrt(np.maximum(counts, 1)), 0.0)
            line, = ax.plot(grid, mean, label=f"{algorithm} ({len(members)} seed{'s' * (len(members) > 1)})")
            ax.fill_between(grid, mean - se, mean + se, color=line.get_color(), alpha=0.2)
        ax.set_title(env)
        ax.set_xlabel("steps")
        ax.set_ylabel("episodic return (mean of last 10 episodes)")
        ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return {k: len(v) for k, v in groups.items()}
