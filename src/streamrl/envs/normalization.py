"""Running statistics and the learning-side preprocessing stages (docs/method.md: running mean and
variance, observation normalization, reward scaling, the time feature).

Each stage is a small stateful object used in exactly one place: inside the agent (so its state
is saved with the agent) or inside the matching Gymnasium wrapper for people who want the
normalized env on its own. Statistics are float64 throughout.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numba import njit

# The kernels below run with NumPy's error model: a division by zero would give inf or NaN instead
# of raising (none happens: counts start at 2, variances get + eps > 0). Under Python's model every
# division in a loop carries a zero check, which keeps the loop from being vectorized (three
# times slower for a MinAtar frame). Division and square root are exactly rounded either way.


@njit(cache=True, error_model="numpy")
def _welford_update(x, mean, p, var, count):
    """One Welford step in place on flat float64 arrays; ``count`` includes ``x``. No fastmath:
    the numbers are exactly NumPy's elementwise ones."""
    if count == 1:
        for i in range(len(x)):
            mean[i] = x[i]
            p[i] = 0.0
            var[i] = 1.0
        return
    for i in range(len(x)):
        old_mean = mean[i]
        mean[i] = old_mean + (x[i] - old_mean) / count
        p[i] = p[i] + (x[i] - old_mean) * (x[i] - mean[i])
        var[i] = p[i] / (count - 1)


@njit(cache=True, error_model="numpy")
def _normalize_into(x, mean, var, eps, out, channels):
    """out = (x - mean) / sqrt(var + eps), computed in float64, stored in out's dtype. With
    ``channels`` > 1, x is laid out channels last (each position's channels side by side) and
    out channels first (each channel's positions side by side), as np.moveaxis(x, -1, 0)."""
    if channels == 1:
        for i in range(len(x)):
            out[i] = (x[i] - mean[i]) / np.sqrt(var[i] + eps)
        return
    positions = len(x) // channels
    for position in range(positions):
        for channel in range(channels):
            i = position * channels + channel
            out[channel * positions + position] = (x[i] - mean[i]) / np.sqrt(var[i] + eps)


@njit(cache=True, error_model="numpy")
def _update_and_normalize(x, mean, p, var, count, eps, out, channels):
    """One step's observation in one call: False, with nothing touched, if ``x`` holds a NaN or
    inf; else the statistics take ``x`` in, ``x`` is normalized by them (as _normalize_into), and True."""
    if not _all_finite(x):
        return False
    _welford_update(x, mean, p, var, count)
    _normalize_into(x, mean, var, eps, out, channels)
    return True


@njit(cache=True, error_model="numpy")
def _pooled_update(x, mean, var, count):
    """Gymnasium's RunningMeanStd update with one sample (Chan et al.'s parallel formula, batch of
    one: its variance 0), operation by operation as NumPy evaluates it; ``count`` is before ``x``."""
    total = count + 1.0
    for i in range(len(x)):
        delta = x[i] - mean[i]
        mean[i] = mean[i] + delta * 1.0 / total
        var[i] = (var[i] * count + 0.0 + delta * delta * count * 1.0 / total) / total


@njit(cache=True, error_model="numpy")
def _pooled_update_and_normalize(x, mean, var, count, eps, out, channels):
    """As _update_and_normalize, with Gymnasium's statistics."""
    if not _all_finite(x):
        return False
    _pooled_update(x, mean, var, count)
    _normalize_into(x, mean, var, eps, out, channels)
    return True


@njit(cache=True, error_model="numpy")
def _all_finite(x):
    for i in range(len(x)):
        if not np.isfinite(x[i]):
            return False
    return True


class NonFiniteObservation(ValueError):
    """An observation holding a NaN or inf, refused before any statistic took it in."""

    def __init__(self, obs: np.ndarray) -> None:
        obs = np.asarray(obs)
        self.n_bad, self.size = int((~np.isfinite(obs)).sum()), obs.size
        super().__init__(f"non-finite observation (NaN or inf in {self.n_bad} of {self.size} values)")


def all_finite(x: np.ndarray) -> bool:
    """No NaN or inf in ``x``: one compiled pass for float32/64 (cheaper than NumPy's two calls on
    the small observations checked every step)."""
    if x.dtype.kind not in "fc":
        return True
    if x.dtype == np.float32 or x.dtype == np.float64:
        return _all_finite(_numeric(x).reshape(-1))  # (_numeric: a writable array, as the kernels take)
    return bool(np.isfinite(x).all())


# Read as they are by the compiled loops, which compute in float64 (so an 8-bit or boolean frame
# needs no float64 copy); anything else becomes float64 first.
_COMPILED_DTYPES = frozenset(np.dtype(t) for t in (np.bool_, np.uint8, np.float32, np.float64))


def _numeric(x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in _COMPILED_DTYPES:
        return x.astype(np.float64)
    # a read-only array is another type to Numba: passed as it is, it would compile the loops again
    return x if x.flags.writeable else x.copy()


class RunningMeanStd:
    """Welford's running mean and sample variance, per coordinate, in float64.

    The variance is 1 until two samples exist, then ``p / (n - 1)``. Updated in place by a
    compiled loop (nothing allocated per step); ``mean``, ``p`` and ``var`` keep their arrays.
    """

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.p = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 0
        self._flat()

    def _flat(self) -> None:
        self._mean, self._p, self._var = (a.reshape(-1) for a in (self.mean, self.p, self.var))

    def update(self, x: np.ndarray | float) -> None:
        self._take_in(_welford_update, _numeric(x))

    def _take_in(self, kernel: Callable, x: np.ndarray, *more: object) -> bool:
        """Runs a compiled Welford kernel (``_welford_update``, or one that also normalizes, with
        ``more`` arguments) on the sample ``x`` (as ``_numeric`` gives it), checked against the
        statistics' shape. False if the kernel refused the sample (it then counts nothing)."""
        if x.shape != self.mean.shape:
            raise ValueError(f"sample has shape {x.shape}, these statistics have {self.mean.shape}")
        if kernel(x.reshape(-1), self._mean, self._p, self._var, self.count + 1, *more) is False:
            return False
        self.count += 1  # counted once the statistics have taken it in
        return True

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.copy(), "p": self.p.copy(), "var": self.var.copy(), "count": np.array(self.count)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        arrays = {key: np.array(state[key], dtype=np.float64) for key in ("mean", "p", "var")}
        for key, value in arrays.items():  # (the compiled loops check no bounds)
            if value.shape != self.mean.shape:
                raise ValueError(f"saved statistics '{key}' have shape {value.shape}, these have {self.mean.shape}")
        _checked_statistics(float(state["count"]), **arrays)
        self.mean, self.p, self.var = arrays["mean"], arrays["p"], arrays["var"]
        self.count = int(state["count"])
        self._flat()


def _checked_statistics(count: float, **arrays: np.ndarray | float) -> None:
    """Saved running statistics as running ones can be: a count and sums of squares (p) and
    variances not negative, every number finite (a file's values are refused here, not later as
    a division by zero or a NaN)."""
    if not (np.isfinite(count) and count >= 0):
        raise ValueError(f"saved statistics have a count of {count}, not a count")
    for key, value in arrays.items():
        value = np.asarray(value, dtype=np.float64)
        if not np.isfinite(value).all() or (key in ("p", "var") and (value < 0).any()):
            raise ValueError(f"saved statistics '{key}' hold a {'non-finite' if not np.isfinite(value).all() else 'negative'} "
                             "number")


class PooledRunningMeanStd:
    """Gymnasium's running statistics (its NormalizeObservation's, which the AVG release uses): the
    mean starts at 0 and the variance at 1 as if seen in ``prior_count`` = 1e-4 samples, and each
    sample is pooled in; the variance is the population one. Same interface as RunningMeanStd.
    (Gymnasium 1.x starts from float32 arrays, so its first update rounds the prior's var * count to
    float32: its variance differs from this one by ~1e-12 from then on.)"""

    def __init__(self, shape: tuple[int, ...] = (), prior_count: float = 1e-4) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = float(prior_count)
        self._flat()

    def _flat(self) -> None:
        self._mean, self._var = self.mean.reshape(-1), self.var.reshape(-1)

    def update(self, x: np.ndarray | float) -> None:
        self._take_in(_pooled_update, _numeric(x))

    def _take_in(self, kernel: Callable, x: np.ndarray, *more: object) -> bool:
        if x.shape != self.mean.shape:
            raise ValueError(f"sample has shape {x.shape}, these statistics have {self.mean.shape}")
        if kernel(x.reshape(-1), self._mean, self._var, self.count, *more) is False:
            return False
        self.count = self.count + 1.0  # (as Gymnasium counts: the total the kernel divided by)
        return True

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": np.array(self.count)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        arrays = {key: np.array(state[key], dtype=np.float64) for key in ("mean", "var")}
        for key, value in arrays.items():  # (the compiled loops check no bounds)
            if value.shape != self.mean.shape:
                raise ValueError(f"saved statistics '{key}' have shape {value.shape}, these have {self.mean.shape}")
        _checked_statistics(float(state["count"]), **arrays)
        self.mean, self.var, self.count = arrays["mean"], arrays["var"], float(state["count"])
        self._flat()


class ScalarRunningMeanStd:
    """RunningMeanStd of one number (the reward scaler's), the same formula in Python floats:
    every read and write of a NumPy scalar costs more than the arithmetic. Saved as
    RunningMeanStd(()) saves, as 0-d float64 arrays."""

    def __init__(self) -> None:
        self.mean, self.p, self.var, self.count = 0.0, 0.0, 1.0, 0

    def update(self, x: float) -> None:
        self.count += 1
        x = float(x)
        if self.count == 1:
            self.mean, self.p, self.var = x, 0.0, 1.0
            return
        old_mean = self.mean
        self.mean = old_mean + (x - old_mean) / self.count
        self.p = self.p + (x - old_mean) * (x - self.mean)
        self.var = self.p / (self.count - 1)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": np.array(self.mean), "p": np.array(self.p), "var": np.array(self.var),
                "count": np.array(self.count)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        mean, p, var = (float(np.asarray(state[key], dtype=np.float64).reshape(())) for key in ("mean", "p", "var"))
        _checked_statistics(float(state["count"]), mean=mean, p=p, var=var)
        self.mean, self.p, self.var = mean, p, var
        self.count = int(state["count"])


class ObservationNormalizer:
    """``(x - mu) / sqrt(var + eps)`` with statistics that already include ``x``: Welford's
    (stream-x's), or with ``pooled`` Gymnasium's (:class:`PooledRunningMeanStd`)."""

    def __init__(self, shape: tuple[int, ...], eps: float = 1e-8, pooled: bool = False) -> None:
        if not eps > 0:  # (the compiled loops divide by sqrt(var + eps), var >= 0, and check nothing)
            raise ValueError(f"eps must be positive, got {eps}")
        self.stats = PooledRunningMeanStd(shape) if pooled else RunningMeanStd(shape)
        self._update_and_normalize = _pooled_update_and_normalize if pooled else _update_and_normalize
        self.eps = eps

    def __call__(self, obs: np.ndarray, update: bool = True, out: np.ndarray | None = None) -> np.ndarray:
        """The normalized observation (float64, or written into the flat array ``out``). With
        ``update``, an observation holding a NaN or inf is refused (NonFiniteObservation) before
        the statistics take it in."""
        obs = np.asarray(obs)  # (into() makes it what the compiled loops read)
        target = np.empty(obs.size) if out is None else out
        self.into(obs, target, update)
        return target.reshape(obs.shape) if out is None else out

    def into(self, obs: np.ndarray, out: np.ndarray, update: bool = True, channels: int = 1) -> None:
        """Writes the normalized observation into the flat float array ``out`` (not overlapping
        ``obs``); with ``channels`` > 1, the observation's last axis (that many channels) moves to
        the front as it is written. With ``update``, an observation holding a NaN or inf is refused
        (NonFiniteObservation) before the statistics take it in."""
        x = _numeric(obs)
        if x.shape != self.stats.mean.shape:
            raise ValueError(f"observation has shape {x.shape}, these statistics have {self.stats.mean.shape}")
        if channels != 1 and (x.ndim < 2 or channels != x.shape[-1]):
            raise ValueError(f"channels is {channels}; it must be 1 or the size of the observation's last axis "
                             f"(shape {x.shape})")
        if out.shape != (x.size,) or out.dtype.kind != "f" or out.dtype.itemsize < 4:
            # (the compiled loop checks no bounds)
            raise ValueError(f"out is {out.dtype} of shape {out.shape}; it must be float32 or float64, flat, with the "
                             f"observation's {x.size} values")
        if update:
            if not self.stats._take_in(self._update_and_normalize, x, self.eps, out, channels):
                raise NonFiniteObservation(x)
        else:
            _normalize_into(x.reshape(-1), self.stats._mean, self.stats._var, self.eps, out, channels)


class RewardScaler:
    """Divides rewards by the running std of the discounted return trace ``u`` (no centring).

    ``u <- gamma * (1 - done) * u + r`` with ``done`` this step's terminated-or-truncated.
    """

    def __init__(self, gamma: float, eps: float = 1e-8) -> None:
        self.gamma = gamma
        self.eps = eps
        self.trace = 0.0
        self.stats = ScalarRunningMeanStd()

    def __call__(self, reward: float, done: bool) -> float:
        self.trace = self.gamma * (1.0 - float(done)) * self.trace + float(reward)
        self.stats.update(self.trace)
        return float(reward) / math.sqrt(self.stats.var + self.eps)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {**self.stats.state_dict(), "trace": np.array(self.trace, dtype=np.float64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.stats.load_state_dict(state)
        self.trace = float(state["trace"])


class TDErrorScaler:
    """Return-based scaling of the TD error (Schaul, Ostrovski, Kemaev & Borsa 2021), as AVG uses it
    (Vasan et al. 2024): ``sigma = sqrt(max(Var(r) + Var(gamma_t) E[G^2], 1e-4))``, the population
    statistics of every step's reward ``r`` and discount ``gamma_t`` (0 at a termination) and of the
    squared return ``G^2`` of each terminated episode. Until an episode has terminated, a variance of
    at most 0.01 gives sigma = 1 (no scaling yet). The agent gives each step's numbers before it
    learns from the step; ``G`` is the undiscounted sum of the rewards since the last termination."""

    def __init__(self) -> None:
        self.rewards, self.discounts, self.squared_returns = (ScalarRunningMeanStd() for _ in range(3))

    def update(self, reward: float, gamma_t: float, episode_return: float | None) -> None:
        """One step's reward and discount, and the return if the episode terminated there."""
        if episode_return is not None:
            self.squared_returns.update(episode_return**2)
        self.rewards.update(reward)
        self.discounts.update(gamma_t)

    @staticmethod
    def _variance(stats: ScalarRunningMeanStd) -> float:
        return stats.p / stats.count if stats.count else 0.0  # (population variance)

    @property
    def sigma(self) -> float:
        mean_squared_return = self.squared_returns.mean if self.squared_returns.count else 0.0
        variance = max(self._variance(self.rewards) + self._variance(self.discounts) * mean_squared_return, 1e-4)
        if variance <= 0.01 and self.squared_returns.count == 0:
            return 1.0
        return math.sqrt(variance)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {f"{name}.{k}": v for name in ("rewards", "discounts", "squared_returns")
                for k, v in getattr(self, name).state_dict().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for name in ("rewards", "discounts", "squared_returns"):
            getattr(self, name).load_state_dict({k[len(name) + 1:]: v for k, v in state.items()
                                                 if k.startswith(name + ".")})


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

    def value(self, steps: int) -> float:
        """The feature after ``steps`` steps."""
        return -0.5 + steps / self.time_limit

    def reset(self) -> float:
        self.steps = 0
        return self.value(0)

    def step(self) -> float:
        self.steps += 1
        return self.value(self.steps)


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
