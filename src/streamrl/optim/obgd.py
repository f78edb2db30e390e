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
        dtypes = {p.dtype for p in self.param_groups[0]["params"]}
        if len(dtypes) > 1:
            raise ValueError(f"ObGD keeps one trace buffer for the whole network: its parameters have several dtypes "
                             f"({', '.join(sorted(map(str, dtypes)))}); convert the module to one (e.g. module.float())")
        self._flats: dict[str, tuple[torch.Tensor, list[torch.Tensor]]] = {}
        self.overshoot_bound = overshoot_bound
        self.last_step_size = lr  # effective step size of the last step
        self.last_bound_active = False  # whether the overshooting bound reduced it

    def _flat(self, name: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One flat buffer holding the state ``name`` of every parameter, and its per-parameter views
        (the tensors ``self.state[p][name]`` holds), so an update is a few whole-buffer operations
        instead of a few per parameter. Zeros at first; rebuilt from the per-parameter tensors
        when they were replaced (a loaded checkpoint)."""
        params = self.param_groups[0]["params"]
        flat, views = self._flats.get(name, (None, []))
        if flat is None or any(self.state[p].get(name) is not view for p, view in zip(params, views)):
            flat = torch.zeros(sum(p.numel() for p in params), dtype=params[0].dtype)
            views = list(torch.split(flat, [p.numel() for p in params]))
            for i, p in enumerate(params):
                views[i] = views[i].view_as(p)
                if name in self.state[p]:
                    views[i].copy_(self.state[p][name])
                self.state[p][name] = views[i]
            self._flats[name] = (flat, views)
        return flat, views

    def _decayed_traces(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``z <- gamma lambda z + grad``: the flat trace and its per-parameter views. A parameter
        without a gradient this step (f does not use it) has a zero gradient: its trace decays."""
        group = self.param_groups[0]
        traces, views = self._flat("eligibility_trace")
        traces.mul_(group["gamma"] * group["lamda"])
        with_grad = [(view, p.grad) for view, p in zip(views, group["params"]) if p.grad is not None]
        if with_grad:
            torch._foreach_add_([view for view, _ in with_grad], [grad for _, grad in with_grad])
        return traces, views

    def _bounded_step_size(self, delta: float, trace_l1: float) -> float:
        group = self.param_groups[0]
        bound = group["lr"] * group["kappa"] * max(abs(delta), 1.0) * trace_l1
        self.last_bound_active = self.overshoot_bound and bound > 1.0
        self.last_step_size = group["lr"] / bound if self.last_bound_active else group["lr"]
        return self.last_step_size

    @staticmethod
    def _l1(flat: torch.Tensor) -> float:
        # accumulated in float64: torch's float32 norms lose ~1e-4 relative on 100k-entry layers
        return float(flat.abs().sum(dtype=torch.float64))

    def step(self, delta: float, reset: bool = False) -> None:  # type: ignore[override]
        """One update with TD error ``delta``; ``reset`` clears the traces after it."""
        self.update(delta, reset)

    @torch.no_grad()
    def update(self, delta: float, reset: bool = False) -> None:
        """``step`` without torch's optimizer hooks (which cost more than the arithmetic here)."""
        traces, views = self._decayed_traces()
        step_size = self._bounded_step_size(delta, self._l1(traces))
        torch._foreach_add_(self.param_groups[0]["params"], views, alpha=-step_size * delta)
        if reset:
            traces.zero_()


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
        beta2, eps, params = group["beta2"], group["eps"], group["params"]
        traces, _ = self._decayed_traces()
        second_moments, _ = self._flat("v")
        self.counter += 1
        delta_z = traces * delta
        second_moments.mul_(beta2).addcmul_(delta_z, delta_z, value=1.0 - beta2)
        scaled_traces = traces / (second_moments / (1.0 - beta2**self.counter)).add_(eps).sqrt_()
        step_size = self._bounded_step_size(delta, self._l1(scaled_traces))
        scaled_views = [chunk.view_as(p) for chunk, p in zip(scaled_traces.split([p.numel() for p in params]), params)]
        torch._foreach_add_(params, scaled_views, alpha=-step_size * delta)
        if reset:
            traces.zero_()

    def state_dict(self):
        state = super().state_dict()
        state["counter"] = self.counter
        return state

    def load_state_dict(self, state_dict) -> None:
        state_dict = dict(state_dict)
        self.counter = int(state_dict.pop("counter", 0))
        super().load_state_dict(state_dict)
