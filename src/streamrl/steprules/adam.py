"""Adam (Kingma & Ba 2015) as a step rule, as ``torch.optim.Adam`` computes it for the AVG
authors (Vasan et al. 2024; no weight decay, no AMSGrad). Per update t, with ``g`` the gradient of
the loss, here ``g = -delta grad f`` (the agents' ascent form, docs/method.md):

    m <- lerp(m, g, 1 - beta1)                     (= beta1 m + (1 - beta1) g)
    v <- beta2 v + (1 - beta2) g^2
    w <- w - lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The moments are flat float32 arrays like every rule's state, updated by torch's own in-place
operations, the ones torch.optim.Adam calls: its CPU kernels fuse some multiply-adds and take
float32 square roots from a vector library, so no other arithmetic gives its numbers to the last
bit. Hence the torch backend only, for now. There is no eligibility trace: each update uses the
gradient of one transition, so this rule is AVG's own (the stream-x agents' traces would be lost).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from streamrl.core.extras import require
from streamrl.networks.base import Parameters
from streamrl.steprules.base import PerRole, StepRule, UpdateInfo, checked_arrays


class Adam(StepRule):
    """Adam on ``-delta grad f``: ``lr`` the critic's step size (``lr_policy`` the actor's), ``beta1``
    and ``beta2`` the moments' decays, ``eps`` added to the bias-corrected RMS. The defaults are
    the AVG release's (its avg.py: Ant, HalfCheetah and Humanoid)."""

    name = "adam"
    OPTIONS = {"lr": PerRole(value=8.7e-3, policy=6.3e-3), "beta1": 0.0, "beta2": 0.999, "eps": 1e-8}
    OPTION_HELP = {"lr": "Adam's step size", "beta1": "Adam's decay of the gradient's running mean (0: none, "
                   "RMSProp with bias correction)", "beta2": "Adam's decay of the squared gradient's running mean",
                   "eps": "added to the bias-corrected RMS of the gradient before dividing by it"}
    for_algorithms: ClassVar[tuple[str, ...]] = ("avg",)

    def __init__(self, parameters: Parameters, gamma: float, lamda: float, lr: float = 8.7e-3, beta1: float = 0.0,
                 beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__(parameters, gamma, lamda)
        for option, value in (("lr", lr), ("eps", eps)):
            if not value > 0:
                raise ValueError(f"{option} must be positive, got {value}")
        for option, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{option} must be in [0, 1), got {value}")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        n, dtype = self.n_parameters, self.dtype
        self.m, self.v, self.grad, self.direction = (np.zeros(n, dtype=dtype) for _ in range(4))
        self.t = 0  # updates so far (torch's 'step')

    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "_views"}  # (torch views of the arrays: remade)

    def _torch_views(self):
        if "_views" not in vars(self):
            torch = require("torch", "torch", "the adam step rule")
            self._views = tuple(torch.from_numpy(a) for a in (self.m, self.v, self.grad, self.direction))
        return self._views

    def update(self, grad_out: np.ndarray | None, delta: float, reset: bool) -> UpdateInfo:
        """One Adam step on the loss gradient ``-delta grad f``, f = grad_out . outputs at the last
        forward state (``reset``: nothing to clear, there is no trace)."""
        self.parameters.accumulate(grad_out, 0.0, self.grad)
        m, v, g, direction = self._torch_views()
        g.mul_(-delta)  # (-1.0 times: exact)
        self.t += 1
        t = float(self.t)  # (torch keeps the count as a float and raises floats to it)
        step_size = self.lr / (1.0 - self.beta1**t)
        m.lerp_(g, 1.0 - self.beta1)
        v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
        denom = (v.sqrt() / (1.0 - self.beta2**t) ** 0.5).add_(self.eps)
        direction.copy_(m).mul_(-step_size).div_(denom)  # (addcdiv's value m / denom, rounded as it rounds)
        self.parameters.step(1.0, self.direction, False)  # w + 1.0 d: torch's w + d, rounded once
        return UpdateInfo(step_size, False)

    def clear_traces(self) -> None:
        pass  # (no trace)

    def traces(self) -> np.ndarray:
        return np.zeros(self.n_parameters, dtype=self.dtype)  # (no trace: z is 0)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"m": self.m.copy(), "v": self.v.copy(), "t": np.array(self.t)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        arrays = checked_arrays(state, {"m": self.m, "v": self.v})
        if "t" not in state:
            raise ValueError("the saved step-rule state has no 't'")
        if int(state["t"]) < 0 or (arrays["v"] < 0).any():
            raise ValueError("the saved Adam state has a negative update count or second moment")
        self.m[:], self.v[:], self.t = arrays["m"], arrays["v"], int(state["t"])
