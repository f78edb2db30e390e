"""Policy heads of Stream AC(lambda): the distribution over actions given the actor's outputs,
and the output-gradient of the actor's objective ``f = log pi(a|s) + tau sign(delta) H(pi(.|s))``.

Computed in float64 NumPy so every network implementation shares one exact definition.
"""

from __future__ import annotations

import math

import numpy as np

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class SoftmaxPolicy:
    """Discrete actions: a softmax over the actor's logits."""

    def __init__(self, n_actions: int) -> None:
        self.n_outputs = n_actions

    @staticmethod
    def probabilities(logits: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64)
        e = np.exp(z - z.max())
        return e / e.sum()

    def sample(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        p = self.probabilities(logits)
        return int(min(np.searchsorted(np.cumsum(p), rng.random(), side="right"), len(p) - 1))

    def mode(self, logits: np.ndarray) -> int:
        return int(np.argmax(logits))

    def log_prob(self, logits: np.ndarray, action: int) -> float:
        return float(np.log(self.probabilities(logits)[action]))

    def entropy(self, logits: np.ndarray) -> float:
        p = self.probabilities(logits)
        return float(-(p * np.log(p)).sum())

    def objective_grad(self, logits: np.ndarray, action: int, entropy_coef: float) -> np.ndarray:
        """d/d(logits) of log pi(a) + entropy_coef * H, with entropy_coef = tau sign(delta)."""
        p = self.probabilities(logits)
        log_p = np.log(p)
        grad = -p
        grad[action] += 1.0  # d log pi(a) = onehot(a) - p
        entropy = -(p * log_p).sum()
        return grad + entropy_coef * (-p * (log_p + entropy))  # dH/dl_j = -p_j (log p_j + H)


class GaussianPolicy:
    """Continuous actions: outputs are [mean (A), std head (A)], std = softplus(std head)."""

    def __init__(self, action_dim: int) -> None:
        self.action_dim = action_dim
        self.n_outputs = 2 * action_dim

    def _split(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = np.asarray(out, dtype=np.float64)
        mean, pre_std = out[: self.action_dim], out[self.action_dim:]
        std = np.logaddexp(0.0, pre_std)  # softplus, stable for large inputs
        return mean, pre_std, std

    def sample(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mean, _, std = self._split(out)
        return mean + std * rng.standard_normal(self.action_dim)

    def mode(self, out: np.ndarray) -> np.ndarray:
        return self._split(out)[0]

    def log_prob(self, out: np.ndarray, action: np.ndarray) -> float:
        mean, _, std = self._split(out)
        return float((-((action - mean) ** 2) / (2 * std**2) - np.log(std) - LOG_SQRT_2PI).sum())

    def entropy(self, out: np.ndarray) -> float:
        std = self._split(out)[2]
        return float((0.5 + LOG_SQRT_2PI + np.log(std)).sum())

    def objective_grad(self, out: np.ndarray, action: np.ndarray, entropy_coef: float) -> np.ndarray:
        mean, pre_std, std = self._split(out)
        diff = np.asarray(action, dtype=np.float64) - mean
        d_mean = diff / std**2
        d_std = diff**2 / std**3 - 1.0 / std + entropy_coef / std  # dH/dstd = 1/std
        sigmoid = 1.0 / (1.0 + np.exp(-pre_std))  # d softplus
        return np.concatenate([d_mean, d_std * sigmoid])
