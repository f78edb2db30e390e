"""The paper's networks on two backends: compiled kernels (:mod:`streamrl.networks.fused`) and
torch (:mod:`streamrl.networks.torch_network`, any ``nn.Module``), both seen by the step rules as
one flat vector of weights (:class:`~streamrl.networks.base.Network`)."""

from streamrl.networks.base import Network, Parameters
from streamrl.networks.init import default_uniform, sparse_init_, sparse_uniform
from streamrl.networks.spec import CNN_LAYERS, NETWORK_KINDS, NetworkSpec

__all__ = ["Network", "Parameters", "NetworkSpec", "NETWORK_KINDS", "CNN_LAYERS", "sparse_uniform", "sparse_init_",
           "default_uniform", "build_torch_network", "LayerNorm"]


def __getattr__(name: str):
    if name in ("LayerNorm", "build_torch_network"):  # imported lazily: they need torch
        from streamrl.networks import torch_modules

        return getattr(torch_modules, name)
    raise AttributeError(name)
