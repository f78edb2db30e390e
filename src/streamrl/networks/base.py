"""What a step rule needs from a network, on either backend.

A step rule (:mod:`streamrl.steprules`) sees the weights of a network (:class:`Parameters`) as
two operations on flat arrays it owns: the gradient of one scalar of the outputs added into a
trace, and a step along a direction. The algorithm's scalar ``f`` is given by its output-gradient
``grad_out = df/d(outputs)``, so a network needs only its ordinary backward pass. A
:class:`Network` adds its outputs at a state (remembering the state, so that ``f`` can be
differentiated there) and its outputs with nothing remembered.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Parameters(ABC):
    """Weights as one flat float32 vector, seen by a step rule: a gradient added into a trace, and a
    step along a direction (both flat arrays the rule owns)."""

    n_parameters: int  # the length of every flat array a step rule keeps for these weights
    dtype: np.dtype  # the weights' (float32, but for a user's float64 torch module)

    @abstractmethod
    def accumulate(self, grad_out: np.ndarray, decay: float, trace: np.ndarray, slot: int = 0) -> float:
        """``trace <- decay trace + grad f``, with ``f = grad_out . outputs`` at a network's last
        :meth:`~Network.forward` state (of that ``slot``); returns ``|trace|_1`` (summed in float64).
        With ``decay`` 0 the trace is the gradient. Once per forward pass: a second call needs a
        new forward."""

    @abstractmethod
    def step(self, scale: float, direction: np.ndarray, clear: bool) -> None:
        """``w <- w + scale direction``, then ``direction <- 0`` if ``clear``. The fused backend makes
        it in the next pass over the weights; the outputs are the same as if it were made at once."""

    @abstractmethod
    def clear(self, direction: np.ndarray) -> None:
        """``direction <- 0``, after any step still waiting to move along it."""

    def settle(self) -> None:
        """Makes any step still waiting now, for whoever reads the weights or a direction from outside."""


class Network(Parameters):
    """A network whose weights are one flat float32 vector, for step rules that work on flat arrays."""

    n_outputs: int
    shapes: list[tuple[int, ...]]  # each parameter's shape, in the torch module's order

    @abstractmethod
    def forward(self, x: np.ndarray, slot: int = 0) -> np.ndarray:
        """Outputs at ``x``; ``x`` becomes the state that the next :meth:`accumulate` differentiates at.
        ``slot`` 1 keeps a second state beside the first, for an update with gradients at two
        states (QRC's at S and S')."""

    @abstractmethod
    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Outputs at ``x`` with no side effect."""

    @abstractmethod
    def flat_weights(self) -> np.ndarray:
        """All weights, flat, with every step made (a view: writing it changes the network)."""

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of a flat array, one per parameter, in the torch module's order and shape."""
        views, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            views.append(flat[start:start + size].reshape(shape))
            start += size
        return views

    def parameters(self) -> list[np.ndarray]:
        """Views of each parameter as it is now (ask again after an update rather than keep them)."""
        return self.split(self.flat_weights())

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights (and any buffers) as named arrays."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Replaces the weights; every array is checked before any is applied."""
