"""The compiled implementation of :class:`~streamrl.nn.learner.Learner` for the standard networks
(MLPs, the MinAtar CNN and the Atari CNN): no torch, no allocation per step, float32 weights and traces."""

from __future__ import annotations

import numpy as np

from streamrl.nn import fused
from streamrl.nn.init import sparse_uniform
from streamrl.nn.learner import Learner, UpdateInfo
from streamrl.nn.networks import CNN_LAYERS, NetworkSpec

FUSED_KINDS = ("mlp", "minatar_cnn", "atari_cnn")


def conv_layout(input_shape: tuple[int, ...], layers: list[tuple[int, int, int]], first_offset: int
                ) -> tuple[np.ndarray, list[tuple[int, ...]], int, int, int]:
    """The ``convs`` layout array (see streamrl.nn.fused) of a chain of conv layers on an input
    of shape (C, H, W), with the layers' weights from ``first_offset`` in ``w``.

    Returns (convs, parameter shapes, number of values they output, of patches, of scratch)."""
    convs = np.zeros((len(layers), fused.CONV_COLUMNS), dtype=np.int64)
    shapes: list[tuple[int, ...]] = []
    channels, height, width = input_shape
    offset, n_values, n_patches, n_scratch = first_offset, 0, 0, 1
    for index, (c_out, k, stride) in enumerate(layers):
        row = convs[index]
        if height < k or width < k:
            raise ValueError(f"conv layer {index + 1} ({k}x{k}) does not fit its {height}x{width} input: the network "
                             f"needs larger inputs than {tuple(input_shape)}")
        oh, ow = (height - k) // stride + 1, (width - k) // stride + 1
        taps, positions = channels * k * k, oh * ow
        row[:fused.W_OFF] = channels, height, width, c_out, k, stride
        row[fused.W_OFF], row[fused.B_OFF] = offset, offset + c_out * taps
        row[fused.OUT_OFF], row[fused.PATCH_OFF] = n_values, n_patches
        row[fused.BY_POSITION] = positions > taps  # see streamrl.nn.fused
        shapes += [(c_out, channels, k, k), (c_out,)]
        offset += c_out * taps + c_out
        n_values += c_out * positions
        n_patches += taps * positions
        # scratch: the layer's weight gradient; for every layer but the first, its input's W^T g too
        n_scratch = max(n_scratch, c_out * taps, 0 if index == 0 else taps * positions)
        channels, height, width = c_out, oh, ow
    return convs, shapes, n_values, n_patches, n_scratch


class _Cache:
    """Activations of one forward pass: h, a, n and the unfolded patches in ``acts``; each
    normalized layer's 1/sqrt(var + eps), then the outputs, in ``inv_out`` (see streamrl.nn.fused)."""

    def __init__(self, n_inputs: int, n_values: int, n_normalized: int, n_patches: int, n_outputs: int,
                 dtype: type) -> None:
        self.x = np.zeros(n_inputs, dtype=np.float32)  # the input as float32, when it comes in another form
        self.acts = np.zeros(3 * n_values + n_patches, dtype=dtype)
        self.inv_out = np.zeros(max(n_normalized, 1) + n_outputs)
        self.out = self.inv_out[max(n_normalized, 1):]


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
        if spec.kind in CNN_LAYERS:  # conv chain -> flatten -> one hidden layer -> out
            layers, dense = CNN_LAYERS[spec.kind]
            convs, shapes, conv_values, n_patches, n_scratch = conv_layout(spec.input_shape, layers, 0)
            mlp_start = int(convs[-1, fused.OUT_OFF])  # the MLP's input is the last conv's output
            sizes = [conv_values - mlp_start, dense]
        else:
            convs, shapes, n_patches, n_scratch = np.zeros((0, fused.CONV_COLUMNS), dtype=np.int64), [], 0, 1
            sizes = [int(np.prod(spec.input_shape)), *spec.hidden]
            mlp_start = 0
        sizes.append(spec.n_outputs)
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            shapes += [(n_out, n_in), (n_out,)]
        self.shapes = shapes  # parameter shapes, in the torch module's order
        offsets = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        self.offsets = offsets
        first_linear = 2 * len(convs)
        self.convs = convs
        h_off = mlp_start + np.concatenate([[0], np.cumsum(sizes)])
        self.layout = fused.pack_layout(np.array(sizes), offsets[first_linear:-1:2], offsets[first_linear + 1::2],
                                        h_off, convs, n_patches)
        self._w = np.zeros(offsets[-1], dtype=np.float32)
        for shape, start in zip(shapes[0::2], offsets[0::2]):  # sparse weights, zero biases
            self._w[start:start + int(np.prod(shape))] = sparse_uniform(shape, sparsity, rng).ravel()
        self._z = np.zeros_like(self._w)
        self.v = np.zeros_like(self._w) if optimizer == "adaptive" else np.zeros(0, dtype=np.float32)
        # The step of the last update waits for the next forward pass, which makes it on the way
        # (see streamrl.nn.fused.forward): w += scale * direction, then for ObGD maybe z <- 0.
        self._direction = np.zeros_like(self._w) if optimizer == "adaptive" else self._z  # z_hat or z
        self._pending = np.zeros(2)  # [what, scale], kept by the kernels (see streamrl.nn.fused)
        n_values, n_normalized = int(self.layout[fused.N_VALUES]), int(self.layout[fused.N_NORMALIZED])
        n_inputs = int(np.prod(spec.input_shape))
        # Activations: float32 for the CNNs (speed: 131k weights for MinAtar), float64 for the small
        # MLPs, whose first layer starts at zero and whose layer norm then amplifies rounding.
        dtype = np.float32 if len(convs) else np.float64
        self._train, self._eval = (_Cache(n_inputs, n_values, n_normalized, n_patches, spec.n_outputs, dtype)
                                   for _ in range(2))
        self._work = np.zeros(n_values + n_scratch, dtype=dtype)  # the backward pass's gradients, then scratch
        self._ready = False

    def _run(self, x: np.ndarray, cache: _Cache) -> np.ndarray:
        x = np.asarray(x)
        if x.size != cache.x.size:
            raise ValueError(f"input has {x.size} values, this network takes {cache.x.size} ({self.spec.input_shape})")
        if x.dtype == np.float32 and x.flags.c_contiguous and x.flags.writeable:  # (one compiled signature)
            x = x.reshape(-1)  # read as it is: the pass keeps what the backward needs in its own arrays
        else:
            cache.x[:] = x.reshape(-1)
            x = cache.x
        fused.forward(self._w, x, self.layout, cache.acts, cache.inv_out, self._direction, self._pending)
        return cache.out.copy()

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = self._run(x, self._train)
        self._ready = True  # (only once the pass has made any pending step and filled the cache)
        return out

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, self._eval)

    def update(self, grad_out: np.ndarray, delta: float, reset: bool) -> UpdateInfo:
        if not self._ready:
            raise RuntimeError("update() needs a forward() at the state being updated")
        grad_out = np.asarray(grad_out, dtype=np.float64)
        if not grad_out.flags.writeable:  # (a read-only array would make Numba compile the backward pass again)
            grad_out = grad_out.copy()
        if grad_out.shape != (self.n_outputs,):
            raise ValueError(f"grad_out has shape {grad_out.shape}; this network has {self.n_outputs} outputs")
        # not ready before the kernel runs: a Ctrl-C landing just after it returns must not leave a
        # second update() allowed with this one's step pending
        c, self._ready = self._train, False
        if self.optimizer == "adaptive":
            self.t += 1
            step = fused.adaptive_obgd_update(self._w, self._z, self.v, self.t, self.decay, grad_out, self.layout,
                                              c.acts, c.inv_out, self._work, float(delta), self.lr, self.kappa,
                                              self.beta2, self.eps, reset, self._direction, self._pending)
        else:
            step = fused.obgd_update(self._w, self._z, self.decay, grad_out, self.layout, c.acts, c.inv_out,
                                     self._work, float(delta), self.lr, self.kappa, reset, self._pending)
        return UpdateInfo(step, step < self.lr)

    def _settle(self) -> None:
        """Makes the pending step now, for whoever looks at the weights or traces from outside."""
        if self._pending[fused.WHAT] != fused.NO_STEP:
            fused.apply_step(self._w, self._direction, self._pending)

    @property
    def w(self) -> np.ndarray:
        """All weights, flat (float32), with every update's step made."""
        self._settle()
        return self._w

    @property
    def z(self) -> np.ndarray:
        """All traces, flat (float32), as every update left them."""
        self._settle()
        return self._z

    def clear_traces(self) -> None:
        what = self._pending[fused.WHAT]
        if what == fused.STEP and self._direction is self._z:
            self._pending[fused.WHAT] = fused.STEP_THEN_CLEAR  # the step still moves along z, then clears it
        elif what != fused.STEP_THEN_CLEAR:
            self._z[:] = 0.0

    def parameters(self) -> list[np.ndarray]:
        """Views of each parameter in the torch module's order and shape, as they are now. An
        update's step is made when the weights are next used or read (traces() alike): ask again
        after an update rather than keep the views."""
        w = self.w
        return [w[a:b].reshape(s) for s, a, b in zip(self.shapes, self.offsets[:-1], self.offsets[1:])]

    def traces(self) -> list[np.ndarray]:
        z = self.z
        return [z[a:b].reshape(s) for s, a, b in zip(self.shapes, self.offsets[:-1], self.offsets[1:])]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"w": self.w.copy(), "z": self.z.copy(), "v": self.v.copy(), "t": np.array(self.t)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        targets = {"w": self._w, "z": self._z, "v": self.v}
        values = {key: np.asarray(state[key], dtype=np.float32) for key in targets}
        for key, value in values.items():  # all checked before any is copied: nothing half-loaded
            if value.shape != targets[key].shape:
                raise ValueError(f"saved {key} has shape {value.shape}, this network needs {targets[key].shape}")
        for key, value in values.items():
            targets[key][:] = value
        self.t = int(state["t"])
        self._ready = False
        self._pending[fused.WHAT] = fused.NO_STEP  # the loaded state replaces the step too
