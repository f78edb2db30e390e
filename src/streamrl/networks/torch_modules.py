"""The paper's networks as torch modules (the torch backend, and for custom networks built from
the same pieces): parameter-free layer norm, and the MLP and CNNs of :mod:`streamrl.networks.spec`
initialized from a NumPy generator, so both backends start from the same numbers for a seed."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from streamrl.networks.init import default_uniform, sparse_uniform
from streamrl.networks.spec import CNN_LAYERS, NetworkSpec


class LayerNorm(nn.Module):
    """Normalizes each sample over all of its features (C x H x W together for a conv output).
    It has no parameters, by design: the method uses none."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[1:], eps=self.eps)


def build_torch_network(spec: NetworkSpec, sparsity: float = 0.9, rng: np.random.Generator | None = None,
                        layer_norm: bool = True, sparse_init: bool = True):
    """A torch ``nn.Sequential`` for ``spec``: every hidden layer is LayerNorm then LeakyReLU.

    The ablations: ``layer_norm=False`` leaves the normalization out (layer then LeakyReLU);
    ``sparse_init=False`` gives PyTorch's default initialization instead of the sparse one."""
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
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.copy_(torch.from_numpy(sparse_uniform(tuple(m.weight.shape), sparsity, rng)))
                if m.bias is not None:
                    m.bias.zero_()


def initialize_default(module, rng: np.random.Generator) -> None:
    """PyTorch's default init (:func:`~streamrl.networks.init.default_uniform`) for every linear and conv
    layer, in module order, weight then bias."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                weight, bias = default_uniform(tuple(m.weight.shape), rng)
                m.weight.copy_(torch.from_numpy(weight))
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(bias))
