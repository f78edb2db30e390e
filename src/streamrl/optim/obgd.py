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
            raise ValueError(f"ObGD keeps one trace buffer for the whole network: its parameters have several "
                             f"dtypes ({', '.join(sorted(map(str, dtypes)))}); convert the module to one "
                             "(e.g. module.float())")
        self._flats: dict[str, tuple[torch.Tensor, list[torch.Tensor]]] = {}
        self.overshoot_bound = overshoot_bound
        self.last_step_size = lr  # effective step size of the last step
        self.last_bound_active = False  # whether the overshooting bound reduced it

    def __getstate__(self) -> dict:
        # torch's optimizer keeps only defaults, state and param_groups: a copy (copy.deepcopy, as
        # StreamAgent.warm_up makes) would lose the flat traces and the settings below
        own = ("_flats", "overshoot_bound", "last_step_size", "last_bound_active", "counter")
        return {**super().__getstate__(), **{k: v for k, v in vars(self).items() if k in own}}

    def _flat(self, name: str) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """One flat buffer holding the state ``name`` of every trainable parameter, its per-parameter
        views (the tensors ``self.state[p][name]`` holds) and those parameters, so an update is a
        few whole-buffer operations instead of a few per parameter. Zeros at first; rebuilt from
        the per-parameter tensors when they were replaced (a loaded checkpoint)."""
        params = [p for p in self.param_groups[0]["params"] if p.requires_grad]  # frozen ones are never moved
        flat, views = self._flats.get(name, (None, []))
        if (flat is None or len(views) != len(params)
                or any(self.state[p].get(name) is not view for p, view in zip(params, views))):
            like = params[0] if params else torch.zeros(0)
            flat = torch.zeros(sum(p.numel() for p in params), dtype=like.dtype, device=like.device)
            views = [chunk.view_as(p) for chunk, p in zip(torch.split(flat, [p.numel() for p in params]), params)]
            for i, (p, view) in enumerate(zip(params, views)):
                if name in self.state[p]:
                    saved = self.state[p][name]
                    if saved.shape != p.shape:
                        raise ValueError(f"the optimizer's {name} of parameter {i} has shape {tuple(saved.shape)}, "
                                         f"the parameter {tuple(p.shape)}: the state comes from another network")
                    view.copy_(saved)
                self.state[p][name] = view
            self._flats[name] = (flat, views)
        return flat, views, params

    def _decayed_traces(self) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """``z <- gamma lambda z + grad``: the flat trace, its per-parameter views and the parameters.
        A parameter without a gradient this step (f does not use it) has a zero gradient: its
        trace decays."""
        group = self.param_groups[0]
        traces, views, params = self._flat("eligibility_trace")
        traces.mul_(group["gamma"] * group["lamda"])
        with_grad = [(view, p.grad) for view, p in zip(views, params) if p.grad is not None]
        if with_grad:
            torch._foreach_add_([view for view, _ in with_grad], [grad for _, grad in with_grad])
        return traces, views, params

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
        traces, views, params = self._decayed_traces()
        step_size = self._bounded_step_size(delta, self._l1(traces))
        torch._foreach_add_(params, views, alpha=-step_size * delta)
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
        beta2, eps = group["beta2"], group["eps"]
        traces, _, params = self._decayed_traces()
        second_moments, _, _ = self._flat("v")
        self.counter += 1
        delta_z = traces * delta
        second_moments.mul_(beta2).addcmul_(delta_z, delta_z, value=1.0 - beta2)
        scaled_traces = traces / (second_moments / (1.0 - beta2**self.counter)).add_(eps).sqrt_()
        step_size = self._bounded_step_size(delta, self._l1(scaled_traces))
        sizes = [p.numel() for p in params]
        scaled_views = [chunk.view_as(p) for chunk, p in zip(scaled_traces.split(sizes), params)]
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
