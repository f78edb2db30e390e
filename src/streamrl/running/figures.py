"""Learning curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from streamrl.algorithms import Episode
from streamrl.core.files import atomic_path
from streamrl.core.progress import RETURN_WINDOW


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over the last ``window`` values at each point (shorter at the start)."""
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (cumulative[1:] - cumulative[starts]) / (np.arange(1, len(values) + 1) - starts)


def save_figure(fig, path: Path) -> None:
    """Lay out and write a matplotlib Figure as a PNG, atomically."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)


def learning_curve(episodes: Sequence[Episode], path: Path, title: str) -> Any:
    """Return against steps: raw episodes faint, their mean over the last RETURN_WINDOW episodes
    on top (the window of the run's summary and of ``streamrl plot``). Returns the Figure."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend stays as it is

    steps = np.array([e.end_step for e in episodes])
    returns = np.array([e.episode_return for e in episodes])
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    # each return is drawn over the steps its episode lasted (steps-pre: from the previous end)
    ax.plot(steps, returns, color="tab:blue", alpha=0.3, lw=0.8, drawstyle="steps-pre", label="episodes")
    ax.plot(steps, smooth(returns, RETURN_WINDOW), color="tab:blue", lw=2, drawstyle="steps-pre",
            label=f"mean of the last {RETURN_WINDOW} episodes")
    ax.set_xlabel("steps")
    ax.set_ylabel("episodic return")
    ax.set_title(title)
    ax.legend(loc="lower right")
    save_figure(fig, path)
    return fig


def prediction_plot(result, path: Path) -> None:
    """Stream TD predictions against the realised discounted returns."""
    from matplotlib.figure import Figure

    end = len(result.returns) - result.horizon
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    rows = np.arange(max(end, 1))
    ax.plot(rows, result.returns[:len(rows)], color="black", lw=1, label="realised discounted return")
    ax.plot(rows, result.predictions[:len(rows)], color="tab:blue", lw=1, alpha=0.8, label="Stream TD(λ) prediction")
    ax.set_xlabel("row")
    ax.set_ylabel(f"discounted sum (γ = {result.gamma})")
    ax.legend(loc="best")
    save_figure(fig, path)
