"""Stream TD(lambda) as a prediction tool on a stream of rows (features + cumulant)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from streamrl.algorithms.td import StreamTD
from streamrl.envs.normalization import ObservationTrace
from streamrl.envs.preprocessing import PreprocessingConfig


def discounted_returns(cumulants: np.ndarray, gamma: float) -> np.ndarray:
    """``G[t] = c[t+1] + gamma G[t+1]``, the quantity v(row t) predicts; ``G[-1] = 0`` (the stream ends)."""
    returns = np.zeros(len(cumulants), dtype=np.float64)
    for t in range(len(cumulants) - 2, -1, -1):
        returns[t] = cumulants[t + 1] + gamma * returns[t + 1]
    return returns


@dataclass(frozen=True)
class PredictionResult:
    predictions: np.ndarray  # v(row t), made online before the update on row t's transition
    returns: np.ndarray  # realised discounted returns
    deltas: np.ndarray
    gamma: float

    @property
    def horizon(self) -> int:
        """Rows at the end whose return is cut short by more than 0.1% of its weight."""
        return int(np.ceil(np.log(1e-3) / np.log(self.gamma))) if self.gamma < 1 else len(self.returns)

    def rmse(self, start: int = 0) -> float:
        """RMS error over rows ``start`` .. end minus the horizon."""
        end = len(self.returns) - self.horizon
        return float(np.sqrt(np.mean((self.predictions[start:end] - self.returns[start:end]) ** 2)))


def predict_rows(rows: np.ndarray, cumulants: np.ndarray, gamma: float = 0.99, smoothing: float | None = 0.999,
                 seed: int | None = 0, **agent_kwargs: Any) -> PredictionResult:
    """Run Stream TD(lambda) once through ``rows``, predicting the discounted sum of ``cumulants``.

    The cumulant of the transition from row t to row t+1 is ``cumulants[t+1]``. Inputs are first
    smoothed by a bias-corrected exponential average (``smoothing`` = beta; None for raw rows),
    then normalized inside the agent, as in the paper's time-series demo.
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or len(rows) != len(cumulants) or len(rows) < 2:
        raise ValueError(f"rows must be (time, features) with one cumulant per row; got rows {rows.shape} "
                         f"and {len(cumulants)} cumulants")
    agent_kwargs.setdefault("preprocessing", PreprocessingConfig(scale_reward=False, time_limit=None))
    agent = StreamTD(observation_space=gym.spaces.Box(-np.inf, np.inf, rows.shape[1:]), gamma=gamma, seed=seed,
                     **agent_kwargs)
    smooth = ObservationTrace(rows.shape[1:], smoothing) if smoothing else (lambda x: x)
    predictions, deltas = np.zeros(len(rows)), np.zeros(len(rows))
    agent.reset(smooth(rows[0]))
    for t in range(len(rows) - 1):
        info = agent.observe(float(cumulants[t + 1]), smooth(rows[t + 1]), False, False)
        predictions[t], deltas[t] = info.value, info.delta
    predictions[-1] = agent.v.evaluate(agent._state)[0]
    return PredictionResult(predictions, discounted_returns(np.asarray(cumulants, dtype=np.float64), gamma),
                            deltas, gamma)
