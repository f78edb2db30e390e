"""The torch backend: any ``nn.Module`` (a custom network, or the paper's networks on torch) as a
:class:`~streamrl.networks.base.Network`. Its trainable parameters become views of one flat
tensor, shared with NumPy, so the step rules work on it as on the fused backend's."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from streamrl.networks.base import Network, Parameters
from streamrl.networks.fused_kernels import add_to_trace, step_along


class FlatParameters(Parameters):
    """Trainable torch parameters as views of one flat tensor, shared with NumPy (``self.w``), so a
    step rule steps them all in one pass. The gradient comes from ``p.grad``; ``sign`` -1 reads the
    authors' convention, a backward pass on ``-f``. Frozen parameters are left out (never moved)."""

    def __init__(self, params: list[torch.Tensor], sign: float = 1.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        dtypes = {p.dtype for p in self.params}
        if len(dtypes) > 1:
            raise ValueError(f"the parameters have several dtypes ({', '.join(sorted(map(str, dtypes)))}); one flat "
                             "vector holds them all: convert the module to one (e.g. module.float())")
        self.torch_dtype = dtypes.pop() if dtypes else torch.float32
        self.sign = sign
        self.shapes = [tuple(p.shape) for p in self.params]
        self.n_parameters = sum(p.numel() for p in self.params)
        self._flat = torch.zeros(self.n_parameters, dtype=self.torch_dtype)
        with torch.no_grad():
            for p, view in zip(self.params, self._views()):
                view.copy_(p.reshape(-1))
        self._point_parameters_at_the_flat_vector()
        self.dtype = self.w.dtype
        self._grad = np.zeros(self.n_parameters, dtype=self.dtype)

    def _views(self) -> tuple[torch.Tensor, ...]:
        return torch.split(self._flat, [p.numel() for p in self.params])

    def _point_parameters_at_the_flat_vector(self) -> None:
        for p, view in zip(self.params, self._views()):
            p.data = view.view_as(p)
        self.w = self._flat.numpy()  # (the same memory)

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        self._point_parameters_at_the_flat_vector()  # a copy's own parameters, on its own flat vector

    def gradient(self) -> np.ndarray:
        """The parameters' gradients, flat, times ``sign`` (zero where a parameter has none)."""
        start = 0
        for p in self.params:
            size = p.numel()
            self._grad[start:start + size] = 0.0 if p.grad is None else p.grad.detach().numpy().reshape(-1)
            start += size
        if self.sign != 1.0:
            self._grad *= self.sign
        return self._grad

    def accumulate(self, grad_out: np.ndarray | None, decay: float, trace: np.ndarray, slot: int = 0) -> float:
        return add_to_trace(trace, decay, self.gradient())

    def step(self, scale: float, direction: np.ndarray, clear: bool) -> None:
        step_along(self.w, direction, scale, clear)

    def clear(self, direction: np.ndarray) -> None:
        direction[:] = 0.0


class TorchNetwork(Network):
    def __init__(self, module: nn.Module, n_outputs: int) -> None:
        self.module, self.n_outputs = module, n_outputs
        self.flat = FlatParameters(list(module.parameters()))
        self.shapes, self.n_parameters, self.dtype = self.flat.shapes, self.flat.n_parameters, self.flat.dtype
        self._output: torch.Tensor | None = None
        self._second: torch.Tensor | None = None  # slot 1's output

    def __getstate__(self) -> dict:
        # a forward's output (a node of autograd's graph) cannot be copied: a copy, as
        # StreamAgent.warm_up makes, starts without a pending forward
        return {**vars(self), "_output": None, "_second": None}

    def _run(self, x: np.ndarray) -> torch.Tensor:
        out = self.module(torch.as_tensor(x, dtype=self.flat.torch_dtype).unsqueeze(0))[0]
        if out.shape != (self.n_outputs,):
            raise ValueError(f"the network returned shape {tuple(out.shape)} for one sample; "
                             f"this agent needs {self.n_outputs} outputs")
        return out

    def forward(self, x: np.ndarray, slot: int = 0) -> np.ndarray:
        if slot:
            self._second = self._run(x)
            return self._second.detach().numpy()
        self._output = self._run(x)
        return self._output.detach().numpy()

    @torch.no_grad()
    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return self._run(x).numpy()

    def accumulate(self, grad_out: np.ndarray, decay: float, trace: np.ndarray, slot: int = 0) -> float:
        output = self._second if slot else self._output
        if output is None:
            raise RuntimeError("an update needs a forward() at the state being updated" if not slot else
                               "an update at a second state needs a forward(x, slot=1) there")
        for p in self.flat.params:
            p.grad = None
        if slot:
            self._second = None
        else:
            self._output = None
        output.backward(torch.as_tensor(np.asarray(grad_out), dtype=self.flat.torch_dtype))
        return self.flat.accumulate(None, decay, trace)

    def step(self, scale: float, direction: np.ndarray, clear: bool) -> None:
        self.flat.step(scale, direction, clear)

    def clear(self, direction: np.ndarray) -> None:
        self.flat.clear(direction)

    def flat_weights(self) -> np.ndarray:
        return self.flat.w

    def state_dict(self) -> dict[str, np.ndarray]:
        return {f"param.{k}": v.detach().numpy().copy() for k, v in self.module.state_dict().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        saved = {k[len("param."):]: torch.from_numpy(np.array(v)) for k, v in state.items() if k.startswith("param.")}
        self.module.load_state_dict(saved)  # (copies into the flat vector's views; refuses other shapes or names)
        self._output = self._second = None
