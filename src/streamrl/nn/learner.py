"""The interface between an algorithm and its network-plus-optimizer.

An algorithm needs four things from a function approximator: its outputs at a state (and the
means to differentiate one scalar of them later), its outputs at another state with nothing
remembered, one ObGD-style update, and its state for checkpoints. Everything else (TD errors,
action choice, when traces are cleared) belongs to the algorithm. The gradient of the
algorithm's scalar ``f`` is given as ``grad_out = df/d(outputs)``, so an implementation needs only
a network's ordinary backward pass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import numpy as np


class UpdateInfo(NamedTuple):  # (one per update: a tuple is made in a third of a frozen dataclass's time)
    step_size: float  # the effective step size alpha'
    bound_active: bool  # whether the overshooting bound reduced it


class Learner(ABC):
    """A network with its own eligibility traces and ObGD/AdaptiveObGD update."""

    n_outputs: int

    @abstractmethod
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs at ``x``; ``x`` becomes the state that the next :meth:`update` differentiates at."""

    @abstractmethod
    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Outputs at ``x`` with no side effect."""

    @abstractmethod
    def update(self, grad_out: np.ndarray, delta: float, reset: bool) -> UpdateInfo:
        """``z <- gamma lambda z + grad f`` (f's output-gradient ``grad_out`` at the last forward
        state), the bounded step ``w <- w + alpha' delta z``, then ``z <- 0`` if ``reset``."""

    @abstractmethod
    def clear_traces(self) -> None:
        """``z <- 0`` (e.g. when a loaded agent starts a new episode)."""

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Weights, traces and optimizer state as named arrays."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None: ...
