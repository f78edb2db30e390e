"""QRC(lambda)'s two updates (Elelimy, Daley, Patterson, Machado, White & White 2025, "Deep
reinforcement learning with gradient eligibility traces"; docs/method.md, "QRC(λ)"): plain SGD steps on the main
network w and the secondary network theta, which estimates the expected TD error.

With g_q = grad q(S, A), g' = grad q(S', a*) (a* greedy), h = h(S, A), g_h = grad h(S, A), b = 0 at
a termination, else 1, and the traces decayed by gamma lambda and added to before the update:

    z_h <- gamma lambda z_h + h;  z_theta <- gamma lambda z_theta + g_h;  z_w <- gamma lambda z_w + g_q
    grad delta = gamma b g' - g_q                                 (the gradient through the max target)
    w <- w + alpha (delta z_w - h g_q - z_h grad delta)
    theta <- theta + alpha_h (delta z_theta - h g_h - beta theta)
    the three traces <- 0 after the update at an episode end or after a non-greedy action

These rules are QRC's own: the QRC agent drives both (``streamrl.algorithms.qrc``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from streamrl.networks.base import Parameters
from streamrl.steprules.base import StepRule, UpdateInfo, checked_arrays

FAST = {"reassoc", "contract", "nsz"}


@njit(cache=True, fastmath=FAST)
def _main_direction(z, gq, gnext, direction, decay, delta, h, z_h, gamma_bootstrap):
    """z_w <- decay z_w + g_q; direction = delta z_w - h g_q - z_h (gamma b g' - g_q)."""
    real = z.dtype.type
    decay_, delta_, h_, zh_, gb_ = real(decay), real(delta), real(h), real(z_h), real(gamma_bootstrap)
    for i in range(len(z)):
        zi = decay_ * z[i] + gq[i]
        z[i] = zi
        direction[i] = delta_ * zi - h_ * gq[i] - zh_ * (gb_ * gnext[i] - gq[i])


@njit(cache=True, fastmath=FAST)
def _secondary_direction(z, gh, w, direction, decay, delta, h, beta):
    """z_theta <- decay z_theta + g_h; direction = delta z_theta - h g_h - beta theta."""
    real = z.dtype.type
    decay_, delta_, h_, beta_ = real(decay), real(delta), real(h), real(beta)
    for i in range(len(z)):
        zi = decay_ * z[i] + gh[i]
        z[i] = zi
        direction[i] = delta_ * zi - h_ * gh[i] - beta_ * w[i]


class QRC(StepRule):
    """The main network's update; its options are all of QRC's: ``lr`` (alpha), ``h_lr_scale``
    (alpha_h = h_lr_scale alpha) and ``beta`` (the secondary network's regularization)."""

    name = "qrc"
    OPTIONS = {"lr": 1e-4, "h_lr_scale": 0.1, "beta": 1.0}
    OPTION_HELP = {"lr": "step size alpha of the main network q (plain SGD)",
                   "h_lr_scale": "step size of the secondary network h, as a fraction of lr",
                   "beta": "regularization of h toward zero (TDRC's beta; 0: QC(lambda))"}
    for_algorithms: ClassVar[tuple[str, ...]] = ("qrc",)

    def __init__(self, parameters: Parameters, gamma: float, lamda: float, lr: float = 1e-4,
                 h_lr_scale: float = 0.1, beta: float = 1.0) -> None:
        super().__init__(parameters, gamma, lamda)
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        for option, value in (("h_lr_scale", h_lr_scale), ("beta", beta)):
            if not value >= 0:
                raise ValueError(f"{option} must be 0 or more, got {value}")
        self.lr, self.h_lr_scale, self.beta = lr, h_lr_scale, beta
        n, dtype = self.n_parameters, self.dtype
        self.z, self.gq, self.gnext, self.direction = (np.zeros(n, dtype=dtype) for _ in range(4))

    def update(self, grad_out: np.ndarray | None, delta: float, reset: bool) -> UpdateInfo:
        raise TypeError("the qrc step rule is QRC(lambda)'s own: use the QRC agent (streamrl train qrc)")

    def update_qrc(self, grad_out: np.ndarray, next_grad_out: np.ndarray | None, delta: float, h: float, z_h: float,
                   gamma_bootstrap: float, reset: bool) -> UpdateInfo:
        """The main update: ``grad_out`` picks q(S, A) at the network's forward state, ``next_grad_out``
        q(S', a*) at its slot-1 state (None where the target does not bootstrap: b = 0)."""
        self.parameters.accumulate(grad_out, 0.0, self.gq)
        if next_grad_out is not None:
            self.parameters.accumulate(next_grad_out, 0.0, self.gnext, slot=1)
        else:
            gamma_bootstrap = 0.0
        _main_direction(self.z, self.gq, self.gnext, self.direction, self.decay, delta, h, z_h, gamma_bootstrap)
        if reset:  # (the step moves along the direction: z can go now)
            self.z[:] = 0.0
        self.parameters.step(self.lr, self.direction, False)
        return UpdateInfo(self.lr, False)

    def clear_traces(self) -> None:
        self.z[:] = 0.0

    def traces(self) -> np.ndarray:
        return self.z

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"z": self.z.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.z[:] = checked_arrays(state, {"z": self.z})["z"]


class QRCSecondary(StepRule):
    """The secondary network's update, and the trace of its outputs (``z_h``)."""

    name = "qrc-secondary"
    OPTIONS = {"lr": 1e-5, "beta": 1.0}
    for_algorithms: ClassVar[tuple[str, ...]] = ("qrc",)

    def __init__(self, parameters: Parameters, gamma: float, lamda: float, lr: float = 1e-5,
                 beta: float = 1.0) -> None:
        super().__init__(parameters, gamma, lamda)
        self.lr, self.beta = lr, beta
        n, dtype = self.n_parameters, self.dtype
        self.z, self.gh, self.direction = (np.zeros(n, dtype=dtype) for _ in range(3))
        self.z_h = 0.0

    def update(self, grad_out: np.ndarray | None, delta: float, reset: bool) -> UpdateInfo:
        raise TypeError("the qrc-secondary step rule is QRC(lambda)'s own: use the QRC agent")

    def trace_output(self, h: float) -> float:
        """z_h <- gamma lambda z_h + h; returns the new z_h."""
        self.z_h = self.decay * self.z_h + h
        return self.z_h

    def update_secondary(self, grad_out: np.ndarray, delta: float, h: float, reset: bool) -> UpdateInfo:
        self.parameters.accumulate(grad_out, 0.0, self.gh)
        _secondary_direction(self.z, self.gh, self.parameters.flat_weights(), self.direction, self.decay, delta, h,
                             self.beta)
        if reset:
            self.clear_traces()
        self.parameters.step(self.lr, self.direction, False)
        return UpdateInfo(self.lr, False)

    def clear_traces(self) -> None:
        self.z[:] = 0.0
        self.z_h = 0.0

    def traces(self) -> np.ndarray:
        return self.z

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"z": self.z.copy(), "z_h": np.array(self.z_h)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.z[:] = checked_arrays(state, {"z": self.z})["z"]
        if "z_h" not in state:
            raise ValueError("the saved step-rule state has no 'z_h'")
        self.z_h = float(np.asarray(state["z_h"]).reshape(()))
