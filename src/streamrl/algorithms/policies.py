"""Policy heads of Stream AC(lambda): the distribution over actions given the actor's outputs,
and the output-gradient of the actor's objective ``f = log pi(a|s) + tau sign(delta) H(pi(.|s))``.

Computed in float64 so every network implementation shares one exact definition, in small
compiled functions (NumPy's calls on two to a dozen numbers cost microseconds each, and these run
twice per step). The random draws stay with the agent's NumPy generator.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from numba import njit

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def _sum(a):
    """``a.sum()`` as NumPy adds a float64 array: 0.0 plus the pairwise sum (eight running sums per
    block of up to 128), so these functions give NumPy's numbers to the last bit."""
    return 0.0 + _pairwise_sum(a)


@njit(cache=True)
def _pairwise_sum(a):
    n = len(a)
    if n < 8:
        total = 0.0
        for i in range(n):
            total += a[i]
        return total
    if n > 128:
        half = n // 2
        half -= half % 8
        return _pairwise_sum(a[:half]) + _pairwise_sum(a[half:])
    r = a[:8].copy()
    i = 8
    while i < n - n % 8:
        for j in range(8):
            r[j] += a[i + j]
        i += 8
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for k in range(i, n):
        total += a[k]
    return total


@njit(cache=True)
def _softmax(z):
    e = np.exp(z - z.max())
    return e / _sum(e)


@njit(cache=True)
def _softmax_sample(z, u):
    """The action whose cumulative probability first exceeds the uniform draw ``u``."""
    p = _softmax(z)
    return min(np.searchsorted(np.cumsum(p), u, side="right"), len(p) - 1)


@njit(cache=True)
def _softmax_objective_grad(z, action, entropy_coef):
    p = _softmax(z)
    log_p = np.log(p)
    grad = -p
    grad[action] += 1.0  # d log pi(a) = onehot(a) - p
    entropy = -_sum(p * log_p)
    return grad + entropy_coef * (-p * (log_p + entropy))  # dH/dl_j = -p_j (log p_j + H)


@njit(cache=True)
def _softplus(x):
    return np.logaddexp(0.0, x)  # stable for large inputs


@njit(cache=True)
def _gaussian_sample(out, noise):
    n = len(noise)
    return out[:n] + _softplus(out[n:]) * noise  # mean + std * N(0, 1)


@njit(cache=True)
def _gaussian_objective_grad(out, action, entropy_coef):
    n = len(action)
    mean, pre_std = out[:n], out[n:]
    std = _softplus(pre_std)
    diff = action - mean
    d_mean = diff / std**2
    # dH/dstd = 1/std; the power 3.0 is a float so that it is libm's pow, as NumPy's std**3 is
    d_std = diff**2 / std**3.0 - 1.0 / std + entropy_coef / std
    sigmoid = 1.0 / (1.0 + np.exp(-pre_std))  # d softplus
    return np.concatenate((d_mean, d_std * sigmoid))


class SoftmaxPolicy:
    """Discrete actions: a softmax over the actor's logits."""

    def __init__(self, n_actions: int) -> None:
        self.n_outputs = n_actions

    @staticmethod
    def probabilities(logits: np.ndarray) -> np.ndarray:
        return _softmax(np.asarray(logits, dtype=np.float64))

    def sample(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        return int(_softmax_sample(np.asarray(logits, dtype=np.float64), rng.random()))

    def mode(self, logits: np.ndarray) -> int:
        return int(np.argmax(logits))

    def log_prob(self, logits: np.ndarray, action: int) -> float:
        return float(np.log(self.probabilities(logits)[action]))

    def entropy(self, logits: np.ndarray) -> float:
        p = self.probabilities(logits)
        return float(-(p * np.log(p)).sum())

    def objective_grad(self, logits: np.ndarray, action: int, entropy_coef: float) -> np.ndarray:
        """d/d(logits) of log pi(a) + entropy_coef * H, with entropy_coef = tau sign(delta)."""
        action = operator.index(action)
        if not -self.n_outputs <= action < self.n_outputs:  # (the compiled function checks no bounds)
            raise IndexError(f"action {action} is out of range for {self.n_outputs} actions")
        return _softmax_objective_grad(np.asarray(logits, dtype=np.float64), action, float(entropy_coef))


class GaussianPolicy:
    """Continuous actions: outputs are [mean (A), std head (A)], std = softplus(std head)."""

    def __init__(self, action_dim: int) -> None:
        self.action_dim = action_dim
        self.n_outputs = 2 * action_dim

    def _split(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = np.asarray(out, dtype=np.float64)
        mean, pre_std = out[: self.action_dim], out[self.action_dim:]
        return mean, pre_std, _softplus(pre_std)

    def sample(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _gaussian_sample(np.asarray(out, dtype=np.float64), rng.standard_normal(self.action_dim))

    def mode(self, out: np.ndarray) -> np.ndarray:
        return self._split(out)[0]

    def log_prob(self, out: np.ndarray, action: np.ndarray) -> float:
        mean, _, std = self._split(out)
        return float((-((action - mean) ** 2) / (2 * std**2) - np.log(std) - LOG_SQRT_2PI).sum())

    def entropy(self, out: np.ndarray) -> float:
        std = self._split(out)[2]
        return float((0.5 + LOG_SQRT_2PI + np.log(std)).sum())

    def objective_grad(self, out: np.ndarray, action: np.ndarray, entropy_coef: float) -> np.ndarray:
        return _gaussian_objective_grad(np.asarray(out, dtype=np.float64),
                                        np.asarray(action, dtype=np.float64).reshape(self.action_dim),
                                        float(entropy_coef))
