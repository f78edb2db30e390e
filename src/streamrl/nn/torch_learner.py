"""The PyTorch implementation of :class:`~streamrl.nn.learner.Learner`: any ``nn.Module``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from streamrl.nn.learner import Learner, UpdateInfo
from streamrl.optim import AdaptiveObGD, ObGD

OPTIMIZERS = {"obgd": ObGD, "adaptive": AdaptiveObGD}


class TorchLearner(Learner):
    def __init__(self, module: nn.Module, n_outputs: int, optimizer: str = "obgd", **optimizer_kwargs) -> None:
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
        self.module = module
        self.n_outputs = n_outputs
        self.params = list(module.parameters())
        self.dtype = self.params[0].dtype if self.params else torch.float32
        self.optimizer = OPTIMIZERS[optimizer](self.params, **optimizer_kwargs)
        self._output: torch.Tensor | None = None

    def __getstate__(self) -> dict:
        # a forward's output (a node of autograd's graph) cannot be copied: a copy, as
        # StreamAgent.warm_up makes, starts without a pending forward
        return {**vars(self), "_output": None}

    def _run(self, x: np.ndarray) -> torch.Tensor:
        out = self.module(torch.as_tensor(x, dtype=self.dtype).unsqueeze(0))[0]
        if out.shape != (self.n_outputs,):
            raise ValueError(f"the network returned shape {tuple(out.shape)} for one sample; "
                             f"this agent needs {self.n_outputs} outputs")
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._output = self._run(x)
        return self._output.detach().numpy()

    @torch.no_grad()
    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return self._run(x).numpy()

    def update(self, grad_out: np.ndarray, delta: float, reset: bool) -> UpdateInfo:
        if self._output is None:
            raise RuntimeError("update() needs a forward() at the state being updated")
        for p in self.params:
            p.grad = None
        # backward on -f, as ObGD expects; grad_out is df/d(outputs)
        self._output.backward(torch.as_tensor(-np.asarray(grad_out), dtype=self.dtype))
        self._output = None
        self.optimizer.update(float(delta), reset=reset)
        return UpdateInfo(self.optimizer.last_step_size, self.optimizer.last_bound_active)

    def traces(self) -> list[torch.Tensor]:
        """The method's traces ``z`` (the optimizer stores ``-z``), one per parameter."""
        return [-self.optimizer.state[p]["eligibility_trace"] if "eligibility_trace" in self.optimizer.state[p]
                else torch.zeros_like(p) for p in self.module.parameters()]

    def clear_traces(self) -> None:
        for p in self.params:
            if "eligibility_trace" in self.optimizer.state[p]:
                self.optimizer.state[p]["eligibility_trace"].zero_()

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"param.{k}": v.detach().numpy().copy() for k, v in self.module.state_dict().items()}
        for i, p in enumerate(self.module.parameters()):
            for key, value in self.optimizer.state[p].items():
                state[f"optim.{i}.{key}"] = value.detach().numpy().copy()
        if isinstance(self.optimizer, AdaptiveObGD):
            state["optim.counter"] = np.array(self.optimizer.counter)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        params = {k[len("param."):]: torch.from_numpy(np.array(v)) for k, v in state.items() if k.startswith("param.")}
        self.module.load_state_dict(params)
        for i, p in enumerate(self.module.parameters()):
            prefix = f"optim.{i}."
            self.optimizer.state[p] = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in state.items()
                                       if k.startswith(prefix)}
        if isinstance(self.optimizer, AdaptiveObGD):
            self.optimizer.counter = int(state.get("optim.counter", 0))
        self._output = None
