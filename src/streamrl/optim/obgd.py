"""ObGD and AdaptiveObGD (STREAM_X.md, techniques 1 and 2) as torch optimizers.

Calling convention of the authors' code: ``(-f).backward()`` then ``step(delta, reset)``. So
``p.grad`` holds ``-grad f`` and the stored trace is ``-z``; the update ``w <- w - a' delta (-z)``
is the method's ``w <- w + a' delta z``.
"""

from __future__ import annotations

import torch


class ObGD(torch.optim.Optimizer):
    """Overshoot-bounded gradient descent with eligibility traces. With ``overshoot_bound=False``
    (the ablation) the bound is off: plain SGD on the traces, ``w <- w + lr delta z``."""

    def __init__(self, params, lr: float = 1.0, gamma: float = 0.99, lamda: float = 0.8, kappa: float = 2.0,
                 overshoot_bound: bool = True):
        for name, value in (("lr", lr), ("kappa", kappa)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        super().__init__(params, dict(lr=lr, gamma=gamma, lamda=lamda, kappa=kappa))
        if len(self.param_groups) != 1:
            raise ValueError("ObGD bounds one L1 norm over a whole network: pass a single parameter group")
        self.overshoot_bound = overshoot_bound
        self.last_step_size = lr  # effective step size of the last step
        self.last_bound_active = False  # whether the overshooting bound reduced it

    def _params_and_traces(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        params = [p for p in self.param_groups[0]["params"] if p.grad is not None]
        for p in params:
            if "eligibility_trace" not in self.state[p]:
                self.state[p]["eligibility_trace"] = torch.zeros_like(p)
        return params, [p.grad for p in params], [self.state[p]["eligibility_trace"] for p in params]

    def _bounded_step_size(self, delta: float, trace_l1: float) -> float:
        group = self.param_groups[0]
        bound = group["lr"] * group["kappa"] * max(abs(delta), 1.0) * trace_l1
        self.last_bound_active = self.overshoot_bound and bound > 1.0
        self.last_step_size = group["lr"] / bound if self.last_bound_active else group["lr"]
        return self.last_step_size

    @staticmethod
    def _l1(tensors: list[torch.Tensor]) -> float:
        # accumulated in float64: torch's float32 norms lose ~1e-4 relative on 100k-entry layers
        return float(sum(t.abs().sum(dtype=torch.float64) for t in tensors)) if tensors else 0.0

    def step(self, delta: float, reset: bool = False) -> None:  # type: ignore[override]
        """One update with TD error ``delta``; ``reset`` clears the traces after it."""
        self.update(delta, reset)

    @torch.no_grad()
    def update(self, delta: float, reset: bool = False) -> None:
        """``step`` without torch's optimizer hooks (which cost more than the arithmetic here)."""
        group = self.param_groups[0]
        params, grads, traces = self._params_and_traces()
        torch._foreach_mul_(traces, group["gamma"] * group["lamda"])
        torch._foreach_add_(traces, grads)
        step_size = self._bounded_step_size(delta, self._l1(traces))
        torch._foreach_add_(params, traces, alpha=-step_size * delta)
        if reset:
            torch._foreach_zero_(traces)


class AdaptiveObGD(ObGD):
    """ObGD on the trace scaled elementwise by a running RMS of ``delta * z`` (Adam-like)."""

    def __init__(self, params, lr: float = 1.0, gamma: float = 0.99, lamda: float = 0.8, kappa: float = 2.0,
                 beta2: float = 0.999, eps: float = 1e-8, overshoot_bound: bool = True):
        super().__init__(params, lr=lr, gamma=gamma, lamda=lamda, kappa=kappa, overshoot_bound=overshoot_bound)
        self.param_groups[0].update(beta2=beta2, eps=eps)
        self.counter = 0  # t, the number of updates so far

    @torch.no_grad()
    def update(self, delta: float, reset: bool = False) -> None:
        group = self.param_groups[0]
        beta2, eps = group["beta2"], group["eps"]
        params, grads, traces = self._params_and_traces()
        for p in params:
            if "v" not in self.state[p]:
                self.state[p]["v"] = torch.zeros_like(p)
        second_moments = [self.state[p]["v"] for p in params]
        self.counter += 1
        torch._foreach_mul_(traces, group["gamma"] * group["lamda"])
        torch._foreach_add_(traces, grads)
        delta_z = torch._foreach_mul(traces, delta)
        torch._foreach_mul_(second_moments, beta2)
        torch._foreach_addcmul_(second_moments, delta_z, delta_z, value=1.0 - beta2)
        denominators = torch._foreach_div(second_moments, 1.0 - beta2**self.counter)
        torch._foreach_add_(denominators, eps)
        torch._foreach_sqrt_(denominators)
        scaled_traces = torch._foreach_div(traces, denominators)
        step_size = self._bounded_step_size(delta, self._l1(scaled_traces))
        torch._foreach_add_(params, scaled_traces, alpha=-step_size * delta)
        if reset:
            torch._foreach_zero_(traces)

    def state_dict(self):
        state = super().state_dict()
        state["counter"] = self.counter
        return state

    def load_state_dict(self, state_dict) -> None:
        state_dict = dict(state_dict)
        self.counter = int(state_dict.pop("counter", 0))
        super().load_state_dict(state_dict)
