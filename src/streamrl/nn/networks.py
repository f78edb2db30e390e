"""The paper's networks (STREAM_X.md, "Networks"), built from a plain description.

A :class:`NetworkSpec` says what the network is; :func:`build_torch_network` makes the torch
module and :func:`initialize` gives it the sparse initialization from a NumPy generator, so
every implementation of a network starts from the same numbers for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamrl.nn.init import default_uniform, sparse_uniform

NETWORK_KINDS = ("mlp", "minatar_cnn", "atari_cnn")
# The CNNs (STREAM_X.md, "Networks"): (C_out, kernel, stride) of each conv layer, no padding, then
# the width of the one hidden dense layer before the output layer.
CNN_LAYERS = {"minatar_cnn": ([(16, 3, 1)], 128),
              "atari_cnn": ([(32, 8, 5), (64, 4, 3), (64, 3, 2)], 256)}


@dataclass(frozen=True)
class NetworkSpec:
    kind: str  # one of NETWORK_KINDS
    input_shape: tuple[int, ...]
    n_outputs: int
    hidden: tuple[int, ...] = (32, 32)  # MLP hidden widths; the CNNs' dense widths are fixed

    def __post_init__(self) -> None:
        if self.kind not in NETWORK_KINDS:
            raise ValueError(f"unknown network kind {self.kind!r}; choose one of {NETWORK_KINDS}")


def _torch():
    from streamrl.envs.make import require

    return require("torch", "torch", "the torch backend")


def build_torch_network(spec: NetworkSpec, sparsity: float = 0.9, rng: np.random.Generator | None = None,
                        layer_norm: bool = True, sparse_init: bool = True):
    """A torch ``nn.Sequential`` for ``spec``: every hidden layer is LayerNorm then LeakyReLU.

    The ablations: ``layer_norm=False`` leaves the normalization out (layer then LeakyReLU);
    ``sparse_init=False`` gives PyTorch's default initialization instead of the sparse one."""
    torch = _torch()
    from torch import nn

    from streamrl.nn.layers import LayerNorm

    def hidden_block(layer: nn.Module) -> list[nn.Module]:
        return [layer, LayerNorm(), nn.LeakyReLU(0.01)] if layer_norm else [layer, nn.LeakyReLU(0.01)]

    layers: list[nn.Module] = []
    if spec.kind == "mlp":
        width = int(np.prod(spec.input_shape))
        for h in spec.hidden:
            layers += hidden_block(nn.Linear(width, h))
            width = h
    else:  # minatar_cnn: Conv(C->16, 3x3) -> 1024 -> 128 -> out; atari_cnn: Conv(4->32, 8, s5) ->
        # Conv(32->64, 4, s3) -> Conv(64->64, 3, s2) -> 256 -> 256 -> out
        convs, dense = CNN_LAYERS[spec.kind]
        channels = spec.input_shape[0]
        for c_out, k, stride in convs:
            layers += hidden_block(nn.Conv2d(channels, c_out, k, stride=stride))
            channels = c_out
        with torch.no_grad():
            width = int(nn.Sequential(*layers)(torch.zeros(1, *spec.input_shape)).numel())
        layers += [nn.Flatten(), *hidden_block(nn.Linear(width, dense))]
        width = dense
    layers.append(nn.Linear(width, spec.n_outputs))
    network = nn.Sequential(*layers)
    rng = rng if rng is not None else np.random.default_rng()
    if sparse_init:
        initialize(network, sparsity, rng)
    else:
        initialize_default(network, rng)
    return network


def initialize(module, sparsity: float, rng: np.random.Generator) -> None:
    """Sparse weights and zero biases for every linear and conv layer, in module order."""
    torch = _torch()
    from torch import nn

    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.copy_(torch.from_numpy(sparse_uniform(tuple(m.weight.shape), sparsity, rng)))
                if m.bias is not None:
                    m.bias.zero_()


def initialize_default(module, rng: np.random.Generator) -> None:
    """PyTorch's default init (:func:`~streamrl.nn.init.default_uniform`) for every linear and conv
    layer, in module order, weight then bias."""
    torch = _torch()
    from torch import nn

    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                weight, bias = default_uniform(tuple(m.weight.shape), rng)
                m.weight.copy_(torch.from_numpy(weight))
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(bias))
