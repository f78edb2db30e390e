"""The compiled backend for the paper's standard networks (MLPs, the MinAtar CNN and the Atari
CNN): no torch, nothing allocated per step, float32 weights in one flat vector."""

from __future__ import annotations

import numpy as np

from streamrl.networks import fused_kernels as kernels
from streamrl.networks.base import Network
from streamrl.networks.init import sparse_uniform
from streamrl.networks.spec import CNN_LAYERS, NetworkSpec

FUSED_KINDS = ("mlp", "minatar_cnn", "atari_cnn")


def conv_layout(input_shape: tuple[int, ...], layers: list[tuple[int, int, int]], first_offset: int
                ) -> tuple[np.ndarray, list[tuple[int, ...]], int, int, int]:
    """The ``convs`` layout array (see streamrl.networks.fused_kernels) of a chain of conv layers
    on an input of shape (C, H, W), with the layers' weights from ``first_offset`` in ``w``.

    Returns (convs, parameter shapes, number of values they output, of patches, of scratch)."""
    convs = np.zeros((len(layers), kernels.CONV_COLUMNS), dtype=np.int64)
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
        row[:kernels.W_OFF] = channels, height, width, c_out, k, stride
        row[kernels.W_OFF], row[kernels.B_OFF] = offset, offset + c_out * taps
        row[kernels.OUT_OFF], row[kernels.PATCH_OFF] = n_values, n_patches
        row[kernels.BY_POSITION] = positions > taps  # see streamrl.networks.fused_kernels
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
    normalized layer's 1/sqrt(var + eps), then the outputs, in ``inv_out`` (see fused_kernels)."""

    def __init__(self, n_inputs: int, n_values: int, n_normalized: int, n_patches: int, n_outputs: int,
                 dtype: type) -> None:
        self.x = np.zeros(n_inputs, dtype=np.float32)  # the input as float32, when it comes in another form
        self.acts = np.zeros(3 * n_values + n_patches, dtype=dtype)
        self.inv_out = np.zeros(max(n_normalized, 1) + n_outputs)
        self.out = self.inv_out[max(n_normalized, 1):]

    def __setstate__(self, state: dict) -> None:
        # a copy (deepcopy, pickle) copies a view as an array of its own: out must view inv_out again
        self.__dict__.update(state)
        self.out = self.inv_out[len(self.inv_out) - len(self.out):]


class FusedNetwork(Network):
    """One of the paper's networks, sparsely initialized from ``rng`` (zero biases), on the compiled
    kernels. A step waits for the next forward pass, which makes it on its way (one read of the
    weights for both); seen from outside the numbers are those of a step made at once."""

    def __init__(self, spec: NetworkSpec, sparsity: float = 0.9, rng: np.random.Generator | None = None) -> None:
        if spec.kind not in FUSED_KINDS:
            raise ValueError(f"the fused backend handles {FUSED_KINDS} networks, not {spec.kind!r}; use backend='torch'")
        rng = rng if rng is not None else np.random.default_rng()
        self.spec, self.n_outputs = spec, spec.n_outputs
        if spec.kind in CNN_LAYERS:  # conv chain -> flatten -> one hidden layer -> out
            layers, dense = CNN_LAYERS[spec.kind]
            convs, shapes, conv_values, n_patches, n_scratch = conv_layout(spec.input_shape, layers, 0)
            mlp_start = int(convs[-1, kernels.OUT_OFF])  # the MLP's input is the last conv's output
            sizes = [conv_values - mlp_start, dense]
        else:
            convs, shapes, n_patches, n_scratch = np.zeros((0, kernels.CONV_COLUMNS), dtype=np.int64), [], 0, 1
            sizes = [int(np.prod(spec.input_shape)), *spec.hidden]
            mlp_start = 0
        sizes.append(spec.n_outputs)
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            shapes += [(n_out, n_in), (n_out,)]
        self.shapes, self.convs = shapes, convs
        offsets = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        first_linear = 2 * len(convs)
        h_off = mlp_start + np.concatenate([[0], np.cumsum(sizes)])
        self.layout = kernels.pack_layout(np.array(sizes), offsets[first_linear:-1:2], offsets[first_linear + 1::2],
                                          h_off, convs, n_patches)
        self.n_parameters, self.dtype = int(offsets[-1]), np.dtype(np.float32)
        self._w = np.zeros(self.n_parameters, dtype=np.float32)
        for shape, start in zip(shapes[0::2], offsets[0::2]):  # sparse weights, zero biases
            self._w[start:start + int(np.prod(shape))] = sparse_uniform(shape, sparsity, rng).ravel()
        # The step waiting for the next pass: w += scale * direction (then direction <- 0), as
        # [what, scale] in _pending (see fused_kernels); _direction is the step rule's array.
        self._direction = np.zeros(0, dtype=np.float32)
        self._pending = np.zeros(2)
        n_values, n_normalized = int(self.layout[kernels.N_VALUES]), int(self.layout[kernels.N_NORMALIZED])
        n_inputs = int(np.prod(spec.input_shape))
        # Activations: float32 for the CNNs (speed: 131k weights for MinAtar), float64 for the small
        # MLPs, whose first layer starts at zero and whose layer norm then amplifies rounding.
        dtype = np.float32 if len(convs) else np.float64
        self._cache_sizes = (n_inputs, n_values, n_normalized, n_patches, spec.n_outputs, dtype)
        self._train, self._eval = _Cache(*self._cache_sizes), _Cache(*self._cache_sizes)
        self._work = np.zeros(n_values + n_scratch, dtype=dtype)  # the backward pass's gradients, then scratch
        self._ready = False
        self._second: _Cache | None = None  # slot 1 (made at its first use)
        self._second_ready = False

    def _run(self, x: np.ndarray, cache: _Cache) -> np.ndarray:
        x = np.asarray(x)
        if x.size != cache.x.size:
            raise ValueError(f"input has {x.size} values, this network takes {cache.x.size} ({self.spec.input_shape})")
        if x.dtype == np.float32 and x.flags.c_contiguous and x.flags.writeable:  # (one compiled signature)
            x = x.reshape(-1)  # read as it is: the pass keeps what the backward needs in its own arrays
        else:
            cache.x[:] = x.reshape(-1)
            x = cache.x
        kernels.forward(self._w, x, self.layout, cache.acts, cache.inv_out, self._direction, self._pending)
        return cache.out.copy()

    def forward(self, x: np.ndarray, slot: int = 0) -> np.ndarray:
        if slot:
            return self._forward_second(x)
        out = self._run(x, self._train)
        self._ready = True  # (only once the pass has made any pending step and filled the cache)
        return out

    def _forward_second(self, x: np.ndarray) -> np.ndarray:
        if self._second is None:
            self._second = _Cache(*self._cache_sizes)
        out = self._run(x, self._second)
        self._second_ready = True
        return out

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, self._eval)

    def accumulate(self, grad_out: np.ndarray, decay: float, trace: np.ndarray, slot: int = 0) -> float:
        if slot:
            return self._accumulate_second(grad_out, decay, trace)
        if not self._ready:
            raise RuntimeError("an update needs a forward() at the state being updated")
        grad_out = np.asarray(grad_out, dtype=np.float64)
        if not grad_out.flags.writeable:  # (a read-only array would make Numba compile the backward pass again)
            grad_out = grad_out.copy()
        if grad_out.shape != (self.n_outputs,):
            raise ValueError(f"grad_out has shape {grad_out.shape}; this network has {self.n_outputs} outputs")
        # not ready before the kernel runs: a Ctrl-C landing just after it returns must not leave a
        # second update of the same pass allowed
        c, self._ready = self._train, False
        return kernels.accumulate_trace(self._w, trace, decay, grad_out, self.layout, c.acts, c.inv_out, self._work)

    def _accumulate_second(self, grad_out: np.ndarray, decay: float, trace: np.ndarray) -> float:
        if not self._second_ready:
            raise RuntimeError("an update at a second state needs a forward(x, slot=1) there")
        grad_out = np.array(grad_out, dtype=np.float64)
        if grad_out.shape != (self.n_outputs,):
            raise ValueError(f"grad_out has shape {grad_out.shape}; this network has {self.n_outputs} outputs")
        c, self._second_ready = self._second, False
        return kernels.accumulate_trace(self._w, trace, decay, grad_out, self.layout, c.acts, c.inv_out, self._work)

    def step(self, scale: float, direction: np.ndarray, clear: bool) -> None:
        # (after accumulate(), which needed a forward pass: no earlier step is still waiting)
        self._direction = direction
        pending = self._pending
        pending[kernels.SCALE] = scale
        pending[kernels.WHAT] = kernels.STEP_THEN_CLEAR if clear else kernels.STEP  # (last: it arms the step)

    def clear(self, direction: np.ndarray) -> None:
        what = self._pending[kernels.WHAT]
        if what == kernels.STEP and direction is self._direction:
            self._pending[kernels.WHAT] = kernels.STEP_THEN_CLEAR  # the step still moves along it, then clears it
        elif what != kernels.STEP_THEN_CLEAR or direction is not self._direction:
            direction[:] = 0.0

    def settle(self) -> None:
        if self._pending[kernels.WHAT] != kernels.NO_STEP:
            kernels.apply_step(self._w, self._direction, self._pending)

    def flat_weights(self) -> np.ndarray:
        self.settle()
        return self._w

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"w": self.flat_weights().copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        w = np.asarray(state["w"], dtype=np.float32)
        if w.shape != self._w.shape:
            raise ValueError(f"saved w has shape {w.shape}, this network needs {self._w.shape}")
        self._w[:] = w
        self._ready = self._second_ready = False
        self._pending[kernels.WHAT] = kernels.NO_STEP  # the loaded state replaces the step too
