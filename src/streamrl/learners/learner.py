"""The learner (a network and its step rule) and the choice of backend."""

from __future__ import annotations

from typing import Any

import numpy as np

from streamrl.core.extras import require
from streamrl.networks.base import Network
from streamrl.networks.spec import NetworkSpec
from streamrl.steprules import UpdateInfo, step_rule_class
from streamrl.steprules.base import StepRule

BACKENDS = ("auto", "fused", "torch")


class Learner:
    """A network with its own trace and step rule: outputs at a state, and one update of the weights
    from the gradient of the algorithm's scalar ``f`` there (given as ``grad_out = df/d(outputs)``)
    and the TD error."""

    def __init__(self, network: Network, rule: StepRule) -> None:
        self.network, self.rule = network, rule
        self.n_outputs = network.n_outputs

    @property
    def backend(self) -> str:
        from streamrl.networks.fused import FusedNetwork

        return "fused" if isinstance(self.network, FusedNetwork) else "torch"

    @property
    def module(self) -> Any:
        """The torch module the network runs (the torch backend: a custom network, say)."""
        if self.backend != "torch":
            raise AttributeError("a fused learner has no torch module; make the agent with backend='torch'")
        return self.network.module

    def forward(self, x: np.ndarray, slot: int = 0) -> np.ndarray:
        """Outputs at ``x``; ``x`` becomes the state that the next :meth:`update` differentiates at
        (``slot`` 1: a second state, for a rule with gradients at two)."""
        return self.network.forward(x, slot) if slot else self.network.forward(x)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Outputs at ``x`` with no side effect."""
        return self.network.evaluate(x)

    def update(self, grad_out: np.ndarray, delta: float, reset: bool) -> UpdateInfo:
        """The step rule's update at the last forward state, then ``z <- 0`` if ``reset``. A Ctrl-C
        in the middle loses at most this update's step; it never makes a step twice."""
        return self.rule.update(grad_out, delta, reset)

    def clear_traces(self) -> None:
        """``z <- 0`` (e.g. when a loaded agent starts a new episode)."""
        self.rule.clear_traces()

    def parameters(self) -> list[np.ndarray]:
        """Views of each parameter in the torch module's order and shape, with every step made (ask
        again after an update rather than keep them)."""
        return self.network.parameters()

    def traces(self) -> list[np.ndarray]:
        """The trace ``z`` per parameter (views), as every update left it."""
        return self.network.split(self.rule.traces())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Weights, then the step rule's state (its trace among it), as named arrays."""
        self.network.settle()
        return {**self.network.state_dict(), **self.rule.state_dict()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.network.load_state_dict(state)
        self.rule.load_state_dict(state)


def make_learner(spec: NetworkSpec, step_rule: str | type[StepRule] = "obgd",
                 rule_options: dict[str, Any] | None = None, *,
                 gamma: float = 0.99, lamda: float = 0.8, backend: str = "auto", sparsity: float = 0.9,
                 sparse_init: bool = True, layer_norm: bool = True, rng: np.random.Generator | None = None,
                 module: Any = None, torch_threads: int | None = 1) -> Learner:
    """A learner for the network ``spec`` (or the torch ``module`` given) with the step rule
    ``step_rule`` (a name, or the class). ``backend``: 'fused' (the compiled kernels: the paper's
    networks, with layer norm), 'torch' (any module; the ablations the kernels lack), or 'auto'
    (fused where it can)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose 'auto', 'fused' or 'torch'")
    rule_class = step_rule if isinstance(step_rule, type) else step_rule_class(step_rule)
    rng = rng if rng is not None else np.random.default_rng()
    network = _fused_network(spec, backend, sparsity, sparse_init, layer_norm, rng) if module is None else None
    if network is None:
        network = _torch_network(spec, backend, sparsity, sparse_init, layer_norm, rng, module, torch_threads)
    return Learner(network, rule_class(network, gamma, lamda, **(rule_options or {})))


def _fused_network(spec: NetworkSpec, backend: str, sparsity: float, sparse_init: bool, layer_norm: bool,
                   rng: np.random.Generator) -> Network | None:
    """The fused network for ``spec``, or None where only torch can run it (refused for 'fused')."""
    from streamrl.networks.fused import FUSED_KINDS, FusedNetwork

    if backend == "torch":
        return None
    if not layer_norm or spec.kind not in FUSED_KINDS:
        if backend == "fused" and not layer_norm:
            raise ValueError("backend='fused' always applies layer_norm; with layer_norm=False use backend='torch' "
                             "(or 'auto')")
        if backend == "fused":
            raise ValueError(f"backend='fused' cannot run the {spec.kind} network; use backend='torch' (or 'auto')")
        return None
    if sparse_init:
        return FusedNetwork(spec, sparsity, rng)
    # default init: the sparse weights drawn are replaced by the same numbers the torch path draws,
    # so both backends start equal for a seed
    from streamrl.networks.init import default_uniform

    network = FusedNetwork(spec, rng=np.random.default_rng(0))
    parameters = network.parameters()
    for weight, bias in zip(parameters[0::2], parameters[1::2]):
        weight[...], bias[...] = default_uniform(weight.shape, rng)
    return network


def _torch_network(spec: NetworkSpec, backend: str, sparsity: float, sparse_init: bool, layer_norm: bool,
                   rng: np.random.Generator, module: Any, torch_threads: int | None) -> Network:
    if backend == "fused":
        raise ValueError("backend='fused' cannot run a custom network; use backend='torch' (or 'auto')")
    what = "a custom network" if module is not None else f"the {spec.kind} network on torch"
    torch = require("torch", "torch", what)
    from streamrl.networks.torch_modules import build_torch_network
    from streamrl.networks.torch_network import TorchNetwork

    if torch_threads:
        torch.set_num_threads(torch_threads)  # tiny networks: threads only add overhead
    if module is None:
        module = build_torch_network(spec, sparsity, rng, layer_norm=layer_norm, sparse_init=sparse_init)
    return TorchNetwork(module, spec.n_outputs)
