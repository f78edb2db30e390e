"""Learning curves of several runs: grouped by method and environment, mean over seeds with a
band (a standard-error band for ``streamrl plot``, a bootstrap confidence band in reports)."""

from __future__ import annotations

import csv
import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from streamrl.core.progress import RETURN_WINDOW
from streamrl.running.figures import save_figure, smooth
from streamrl.running.train import read_run_config

GRID_POINTS = 200
CURVE_WINDOW = RETURN_WINDOW  # episodes each run's curve averages, as its learning_curve.png and summary do
PANEL_COLUMNS = 3  # environments side by side in one row of the figure

# One seed's run: (episode end steps, episode returns, the run's step budget).
SeedRun = tuple[np.ndarray, np.ndarray, int]
# Seeds' curves on a grid (seeds x grid points, NaN where a seed has no value) -> mean, low, high.
Band = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def find_run_folders(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(run folders, folders with config.json but no episodes.csv) below ``paths``, sorted; a path
    may be a run folder itself, or any folder above some (a sweep's results folder, say). Hidden
    folders are not searched. ``streamrl plot`` and ``streamrl report`` take the same paths."""
    finished, unfinished = set(), set()
    for root in paths:
        if not root.is_dir():
            raise ValueError(f"{root} is not a folder: give folders that hold run folders from 'streamrl train'")
        for config in root.rglob("config.json"):
            folder = config.parent
            if any(part.startswith(".") for part in folder.relative_to(root).parts):
                continue
            (finished if (folder / "episodes.csv").is_file() else unfinished).add(folder.resolve())
    return sorted(finished), sorted(unfinished)


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


def method_name(config: dict) -> str:
    """What a run is grouped under: its label (e.g. a sweep variant) if it has one, else its algorithm."""
    return config.get("label") or config["algorithm"]


def curve_on_grid(steps: np.ndarray, returns: np.ndarray, grid: np.ndarray, window: int = CURVE_WINDOW) -> np.ndarray:
    """At each grid step, the mean return of the last ``window`` episodes finished by then (NaN before any)."""
    smoothed = smooth(returns, window)
    index = np.searchsorted(steps, grid, side="right") - 1
    return np.where(index >= 0, smoothed[np.maximum(index, 0)], np.nan)


def seed_curves(members: list[SeedRun]) -> tuple[np.ndarray, np.ndarray]:
    """The seeds' curves on one grid from 0 to the longest budget: (grid, seeds x grid points)."""
    grid = np.linspace(0, max(total for _, _, total in members), GRID_POINTS)
    # a run says nothing past the steps it trained for
    curves = np.array([np.where(grid <= total, curve_on_grid(s, r, grid), np.nan) for s, r, total in members])
    return grid, curves


def standard_error_band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds ± one standard error (no band where only one seed has a value)."""
    with warnings.catch_warnings():  # grid steps before any episode ended are all-NaN columns
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        counts = np.sum(~np.isnan(curves), axis=0)
        se = np.where(counts > 1, np.nanstd(curves, axis=0, ddof=1) / np.sqrt(np.maximum(counts, 1)), 0.0)
    return mean, mean - se, mean + se


def draw_curves(ax, env_id: str, methods: dict[str, list[SeedRun]], band: Band,
                colors: dict[str, str] | None = None, references: dict[str, tuple[float, str]] | None = None) -> None:
    """One panel: each method's mean curve over its seeds, with ``band`` shaded (``colors``: a
    method's colour in every panel, when panels show different sets of methods; ``references``:
    a published final return per method, drawn as a dashed line in its colour with its label)."""
    for method, members in sorted(methods.items()):
        grid, curves = seed_curves(members)
        mean, low, high = band(curves)
        line, = ax.plot(grid, mean, label=f"{method} ({len(members)} seed{'s' * (len(members) > 1)})",
                        color=(colors or {}).get(method))
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
        if references and method in references:
            value, label = references[method]
            ax.axhline(value, color=line.get_color(), linestyle="--", linewidth=1, label=label)
    ax.set_title(env_id)
    ax.set_xlabel("steps")
    ax.set_ylabel(f"episodic return (mean of last {CURVE_WINDOW} episodes)")
    ax.legend(loc="best")


def plot_runs(paths: list[Path], out: Path) -> tuple[dict[tuple[str, str], int], list[Path]]:
    """Write the comparison figure of the runs in ``paths`` (run folders, or folders searched for
    them, as ``streamrl report`` does), one panel per environment, at most PANEL_COLUMNS to a row.
    Returns the number of seeds in each (method, env) group, and the unfinished run folders that
    the search found and left out (a run folder given by name must be finished)."""
    for path in paths:
        if (path / "config.json").is_file() and not (path / "episodes.csv").is_file():
            read_run(path)  # (its one-line error: the run has not finished)
    runs, unfinished = find_run_folders(paths)
    if not runs:
        where = ", ".join(str(p) for p in paths)
        raise ValueError(f"no finished run folders (config.json and episodes.csv from 'streamrl train') below {where}")
    groups: dict[tuple[str, str], list[SeedRun]] = defaultdict(list)
    for run in runs:
        config, steps, returns = read_run(run)
        if len(steps):
            groups[(method_name(config), config["env_id"])].append((steps, returns, int(config["steps"])))
    if not groups:
        raise ValueError("none of the runs has a finished episode to plot")
    from matplotlib.figure import Figure

    envs = sorted({env for _, env in groups})
    columns = min(len(envs), PANEL_COLUMNS)
    rows = math.ceil(len(envs) / columns)
    fig = Figure(figsize=(6 * columns, 4 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, env in zip(axes, envs):
        draw_curves(ax, env, {method: members for (method, env_id), members in groups.items() if env_id == env},
                    standard_error_band)
    for ax in axes[len(envs):]:  # the last row's empty places
        ax.set_visible(False)
    save_figure(fig, out)
    return {k: len(v) for k, v in groups.items()}, unfinished
