"""The step rules as ``torch.optim`` optimizers, for your own PyTorch training loop. They run the
same arithmetic as the agents (:mod:`streamrl.steprules.obgd`) and keep the calling convention of
the stream-x authors' code::

    optimizer = ObGD(model.parameters(), lr=1.0, gamma=0.99, lamda=0.8, kappa=2.0)
    optimizer.zero_grad()
    (-f).backward()                      # f: v(s), q(s, a) or the actor's objective
    optimizer.step(delta, reset=done)    # w <- w + lr' delta z; z <- 0 after it if reset

The trainable parameters become views of one flat vector (so a step is one pass over it), and
the optimizer keeps the trace ``z`` itself, in the parameters' dtype. Needs PyTorch
(``pip install "streamrl[torch]"``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from streamrl.networks.torch_network import FlatParameters
from streamrl.steprules.base import StepRule
from streamrl.steprules.intentional import Intentional as IntentionalRule
from streamrl.steprules.obgd import AdaptiveObGD as AdaptiveObGDRule
from streamrl.steprules.obgd import ObGD as ObGDRule


class StepRuleOptimizer(torch.optim.Optimizer):
    """A step rule over one group of torch parameters (gradients from a backward pass on ``-f``)."""

    rule_class: ClassVar[type[StepRule]]

    def __init__(self, params, gamma: float = 0.99, lamda: float = 0.8, **options: Any) -> None:
        super().__init__(params, dict(gamma=gamma, lamda=lamda, **options))
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} steps one flat vector of a whole network: pass a single "
                             "parameter group")
        self.flat = FlatParameters(self.param_groups[0]["params"], sign=-1.0)
        self.rule = self.rule_class(self.flat, gamma, lamda, **options)
        self.last_step_size = getattr(self.rule, "lr", 0.0)  # the effective step size of the last step
        self.last_bound_active = False  # whether the rule cut it

    def __getstate__(self) -> dict:
        # torch's optimizer keeps only defaults, state and param_groups: a copy would lose the rest
        return dict(vars(self))

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)

    def step(self, delta: float, reset: bool = False) -> None:  # type: ignore[override]
        """One update with TD error ``delta``; ``reset`` clears the traces after it."""
        info = self.rule.update(None, float(delta), reset)
        self.last_step_size, self.last_bound_active = info.step_size, info.bound_active

    def traces(self) -> list[torch.Tensor]:
        """The trace ``z``, one tensor per trainable parameter (copies)."""
        flat = torch.from_numpy(self.rule.traces().copy())
        return [view.view(shape) for view, shape in zip(flat.split([int(np.prod(s)) for s in self.flat.shapes]),
                                                       self.flat.shapes)]

    def state_dict(self) -> dict[str, Any]:
        return {"step_rule": self.rule.name,
                "state": {k: torch.from_numpy(np.array(v)) for k, v in self.rule.state_dict().items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict.get("step_rule") != self.rule.name:
            raise ValueError(f"the state is of step rule {state_dict.get('step_rule')!r}, not {self.rule.name!r}")
        self.rule.load_state_dict({k: np.asarray(v) for k, v in state_dict["state"].items()})


class ObGD(StepRuleOptimizer):
    """Overshoot-bounded gradient descent with eligibility traces (:class:`streamrl.steprules.obgd.ObGD`):
    ``ObGD(params, lr=1.0, gamma=0.99, lamda=0.8, kappa=2.0, overshoot_bound=True)``."""

    rule_class = ObGDRule


class AdaptiveObGD(StepRuleOptimizer):
    """ObGD on the trace scaled by a running RMS of ``delta z``
    (:class:`streamrl.steprules.obgd.AdaptiveObGD`): also ``beta2=0.999, eps=1e-8``."""

    rule_class = AdaptiveObGDRule


class Intentional(StepRuleOptimizer):
    """Intentional updates (:class:`streamrl.steprules.intentional.Intentional`):
    ``Intentional(params, gamma=0.99, lamda=0.8, eta=0.5, ...)``; ``normalize=True`` for a policy."""

    rule_class = IntentionalRule
