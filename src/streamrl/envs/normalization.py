"""Running statistics and the learning-side preprocessing stages (STREAM_X.md, techniques 5-7).

Each stage is a small stateful object used in exactly one place: inside the agent (so its state
is saved with the agent) or inside the matching Gymnasium wrapper for people who want the
normalized env on its own. Statistics are float64 throughout.
"""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Welford's running mean and sample variance, per coordinate, in float64.

    The variance is 1 until two samples exist, then ``p / (n - 1)``.
    """

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.p = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 0

    def update(self, x: np.ndarray | float) -> None:
        x = np.asarray(x, dtype=np.float64)
        self.count += 1
        if self.count == 1:
            self.mean = x.copy()
            self.p = np.zeros_like(x)
        else:
            old_mean = self.mean
            self.mean = old_mean + (x - old_mean) / self.count
            self.p = self.p + (x - old_mean) * (x - self.mean)
        self.var = self.p / (self.count - 1) if self.count >= 2 else np.ones_like(self.p)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "p": self.p, "var": self.var, "count": np.array(self.count)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.mean = np.array(state["mean"], dtype=np.float64)
        self.p = np.array(state["p"], dtype=np.float64)
        self.var = np.array(state["var"], dtype=np.float64)
        self.count = int(state["count"])


class ObservationNormalizer:
    """``(x - mu) / sqrt(var + eps)`` with statistics that already include ``x``."""

    def __init__(self, shape: tuple[int, ...], eps: float = 1e-8) -> None:
        self.stats = RunningMeanStd(shape)
        self.eps = eps

    def __call__(self, obs: np.ndarray, update: bool = True) -> np.ndarray:
        if update:
            self.stats.update(obs)
        return (obs - self.stats.mean) / np.sqrt(self.stats.var + self.eps)


class RewardScaler:
    """Divides rewards by the running std of the discounted return trace ``u`` (no centring).

    ``u <- gamma * (1 - done) * u + r`` with ``done`` this step's terminated-or-truncated.
    """

    def __init__(self, gamma: float, eps: float = 1e-8) -> None:
        self.gamma = gamma
        self.eps = eps
        self.trace = 0.0
        self.stats = RunningMeanStd(())

    def __call__(self, reward: float, done: bool) -> float:
        self.trace = self.gamma * (1.0 - float(done)) * self.trace + float(reward)
        self.stats.update(self.trace)
        return float(reward / np.sqrt(self.stats.var + self.eps))

    def state_dict(self) -> dict[str, np.ndarray]:
        return {**self.stats.state_dict(), "trace": np.array(self.trace, dtype=np.float64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.stats.load_state_dict(state)
        self.trace = float(state["trace"])


class TimeFeature:
    """Time since the episode began, as one feature: -0.5 at reset, -0.5 + k/T after k steps.

    (The authors' wrapper appends before incrementing, so its first step repeats -0.5; we use
    the plain convention above, which reaches exactly +0.5 at the time limit.)
    """

    def __init__(self, time_limit: int) -> None:
        if time_limit <= 0:
            raise ValueError(f"time_limit must be a positive number of steps, got {time_limit}")
        self.time_limit = time_limit
        self.steps = 0

    def reset(self) -> float:
        self.steps = 0
        return -0.5

    def step(self) -> float:
        self.steps += 1
        return -0.5 + self.steps / self.time_limit


class ObservationTrace:
    """Bias-corrected exponential average of the inputs: ``z <- b z + (1-b) x``, ``z / (1 - b^t)``."""

    def __init__(self, shape: tuple[int, ...], beta: float = 0.999) -> None:
        self.beta = beta
        self.z = np.zeros(shape, dtype=np.float64)
        self.t = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.t += 1
        self.z = self.beta * self.z + (1.0 - self.beta) * np.asarray(x, dtype=np.float64)
        return self.z / (1.0 - self.beta**self.t)
