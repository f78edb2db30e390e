"""Networks of the stream-x method: sparse init, parameter-free layer norm, the paper's networks."""

from streamrl.nn.init import sparse_init_, sparse_uniform
from streamrl.nn.learner import Learner, UpdateInfo
from streamrl.nn.networks import NetworkSpec, build_torch_network, initialize

__all__ = ["sparse_init_", "sparse_uniform", "Learner", "UpdateInfo", "NetworkSpec", "build_torch_network",
           "initialize", "LayerNorm"]


def __getattr__(name: str):
    if name == "LayerNorm":  # imported lazily: it needs torch
        from streamrl.nn.layers import LayerNorm
        return LayerNorm
    raise AttributeError(name)
