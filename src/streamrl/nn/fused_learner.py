"""The compiled implementation of :class:`~streamrl.nn.learner.Learner` for the standard networks
(MLPs and the MinAtar CNN): no torch, no allocation per step, float32 weights and traces."""

from __future__ import annotations

import numpy as np

from streamrl.nn import fused
from streamrl.nn.init import sparse_uniform
from streamrl.nn.learner import Learner, UpdateInfo
from streamrl.nn.networks import NetworkSpec

FUSED_KINDS = ("mlp", "minatar_cnn")


class _Cache:
    """Activations of one forward pass."""

    def __init__(self, n_inputs: int, n_hidden_values: int, n_layers: int, conv: np.ndarray, n_outputs: int,
                 dtype: type) -> None:
        taps, positions = int(conv[0] * conv[4] ** 2), int((conv[1] - conv[4] + 1) * (conv[2] - conv[4] + 1))
        conv_values = int(conv[3]) * positions
        self.x = np.zeros(n_inputs, dtype=np.float32)  # a copy: the caller may reuse its array
        self.h = np.zeros(n_hidden_values, dtype=dtype)
        self.a = np.zeros(max(n_hidden_values, conv_values), dtype=dtype)
        self.n = np.zeros(n_hidden_values, dtype=dtype)
        self.patches = np.zeros((taps, positions) if conv[3] else (0, 0), dtype=dtype)
        self.cn = np.zeros(max(conv_values, 1), dtype=dtype)
        self.inv = np.zeros(n_layers + 1)
        self.out = np.zeros(n_outputs)


class FusedLearner(Learner):
    def __init__(self, spec: NetworkSpec, optimizer: str = "obgd", lr: float = 1.0, gamma: float = 0.99,
                 lamda: float = 0.8, kappa: float = 2.0, beta2: float = 0.999, eps: float = 1e-8,
                 sparsity: float = 0.9, rng: np.random.Generator | None = None) -> None:
        if spec.kind not in FUSED_KINDS:
            raise ValueError(f"the fused backend handles {FUSED_KINDS} networks, not {spec.kind!r}; use backend='torch'")
        if optimizer not in ("obgd", "adaptive"):
            raise ValueError(f"unknown optimizer {optimizer!r}; choose 'obgd' or 'adaptive'")
        rng = rng if rng is not None else np.random.default_rng()
        self.spec, self.n_outputs = spec, spec.n_outputs
        self.optimizer, self.lr, self.kappa, self.beta2, self.eps = optimizer, lr, kappa, beta2, eps
        self.decay = gamma * lamda
        self.t = 0  # AdaptiveObGD's update count
        shapes: list[tuple[int, ...]] = []  # parameter shapes, in the torch module's order
        conv = np.zeros(7, dtype=np.int64)
        if spec.kind == "minatar_cnn":
            c_in, height, width = spec.input_shape
            conv[:5] = (c_in, height, width, 16, 3)
            shapes += [(16, c_in, 3, 3), (16,)]
            sizes = [16 * (height - 2) * (width - 2), 128]
        else:
            sizes = [int(np.prod(spec.input_shape)), *spec.hidden]
        sizes.append(spec.n_outputs)
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            shapes += [(n_out, n_in), (n_out,)]
        self.shapes = shapes
        offsets = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        self.offsets = offsets
        first_linear = 2 if conv[3] else 0
        conv[5:] = offsets[0], offsets[1]
        self.conv = conv
        self.sizes = np.array(sizes, dtype=np.int64)
        self.w_off = np.array(offsets[first_linear:-1:2], dtype=np.int64)
        self.b_off = np.array(offsets[first_linear + 1::2], dtype=np.int64)
        self.h_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.w = np.zeros(offsets[-1], dtype=np.float32)
        for shape, start in zip(shapes[0::2], offsets[0::2]):  # sparse weights, zero biases
            self.w[start:start + int(np.prod(shape))] = sparse_uniform(shape, sparsity, rng).ravel()
        self.z = np.zeros_like(self.w)
        self.v = np.zeros_like(self.w) if optimizer == "adaptive" else np.zeros(0, dtype=np.float32)
        self._zhat = np.zeros_like(self.w) if optimizer == "adaptive" else np.zeros(0, dtype=np.float32)
        n_values = int(self.h_off[-1])
        n_inputs = int(np.prod(spec.input_shape))
        # Activations: float32 for the CNN (speed: 131k weights), float64 for the small MLPs, whose
        # first layer starts at zero and whose layer norm then amplifies rounding.
        dtype = np.float32 if conv[3] else np.float64
        self._train, self._eval = (_Cache(n_inputs, n_values, len(sizes), conv, spec.n_outputs, dtype)
                                   for _ in range(2))
        self._grad = np.zeros(n_values, dtype=dtype)
        self._ready = False

    def _run(self, x: np.ndarray, cache: _Cache) -> np.ndarray:
        x = np.asarray(x)
        if x.size != cache.x.size:
            raise ValueError(f"input has {x.size} values, this network takes {cache.x.size} ({self.spec.input_shape})")
        cache.x[:] = x if x.ndim == 1 else x.reshape(-1)
        fused.forward(self.w, cache.x, self.sizes, self.w_off, self.b_off, self.conv, cache.h, self.h_off, cache.a,
                      cache.n, cache.inv, cache.patches, cache.cn, cache.out)
        return cache.out.copy()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._ready = True
        return self._run(x, self._train)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, self._eval)

    def update(self, grad_out: np.ndarray, delta: float, reset: bool) -> UpdateInfo:
        if not self._ready:
            raise RuntimeError("update() needs a forward() at the state being updated")
        grad_out = np.asarray(grad_out, dtype=np.float64)
        if grad_out.shape != (self.n_outputs,):
            raise ValueError(f"grad_out has shape {grad_out.shape}; this network has {self.n_outputs} outputs")
        c = self._train
        l1 = fused.accumulate_trace(self.w, self.z, self.decay, grad_out, self.sizes, self.w_off, self.b_off,
                                    self.conv, c.h, self.h_off, c.n, c.inv, c.patches, c.cn, self._grad)
        if self.optimizer == "adaptive":
            self.t += 1
            step = fused.adaptive_obgd_step(self.w, self.z, self.v, self.t, float(delta), self.lr, self.kappa,
                                            self.beta2, self.eps, reset, self._zhat)
        else:
            step = fused.obgd_step(self.w, self.z, l1, float(delta), self.lr, self.kappa, reset)
        self._ready = False
        return UpdateInfo(step, step < self.lr)

    def clear_traces(self) -> None:
        self.z[:] = 0.0

    def parameters(self) -> list[np.ndarray]:
        """Views of each parameter in the torch module's order and shape."""
        return [self.w[a:b].reshape(s) for s, a, b in zip(self.shapes, self.offsets[:-1], self.offsets[1:])]

    def traces(self) -> list[np.ndarray]:
        return [self.z[a:b].reshape(s) for s, a, b in zip(self.shapes, self.offsets[:-1], self.offsets[1:])]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"w": self.w.copy(), "z": self.z.copy(), "v": self.v.copy(), "t": np.array(self.t)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for key in ("w", "z", "v"):
            value = np.asarray(state[key], dtype=np.float32)
            if value.shape != getattr(self, key).shape:
                raise ValueError(f"saved {key} has shape {value.shape}, this network needs {getattr(self, key).shape}")
            getattr(self, key)[:] = value
        self.t = int(state["t"])
        self._ready = False
