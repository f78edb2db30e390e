"""What every step rule is: how one network's weights move, given the TD error of one transition.

A step rule owns its state as flat float32 arrays beside the network's flat weights (the trace,
second moments, ...) and works on them the same way whatever computes the gradients: the fused
kernels or torch (:class:`streamrl.networks.Network`). So its arithmetic is written once, for
both backends, and an algorithm only names the rule (``step_rule="obgd"``).

A rule's hyperparameters are declared in ``OPTIONS`` with their defaults. An option marked
:class:`PerRole` has one value for value networks (critics, Q and TD networks) and another for
policies: the agents' option ``name`` sets the first, ``name_policy`` the second (``kappa`` and
``kappa_policy`` for ObGD).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from streamrl.networks.base import Parameters

ROLES = ("value", "policy")


class UpdateInfo(NamedTuple):  # (one per update: a tuple is made in a third of a frozen dataclass's time)
    step_size: float  # the effective step size
    bound_active: bool  # whether the rule cut the step (ObGD: the overshoot bound; Intentional: the TD-error clip)
    change_ratio: float | None = None  # Intentional: the output's first-order change over the intended one


@dataclass(frozen=True)
class PerRole:
    """An option's default for value networks and for policies."""

    value: Any
    policy: Any


class StepRule(ABC):
    """A step rule moving the weights ``parameters`` (a network's, or a torch optimizer's group)."""

    name: ClassVar[str]
    OPTIONS: ClassVar[dict[str, Any]]  # option -> default (or PerRole defaults)
    OPTION_HELP: ClassVar[dict[str, str]] = {}  # option -> its meaning in a line (streamrl options)
    for_algorithms: ClassVar[tuple[str, ...] | None] = None  # a rule only these algorithms drive (None: any)

    def __init__(self, parameters: Parameters, gamma: float, lamda: float) -> None:
        self.parameters = parameters
        self.n_parameters, self.dtype = parameters.n_parameters, parameters.dtype  # (its arrays' length and dtype)
        self.decay = gamma * lamda  # the trace's decay per step

    @classmethod
    def option_names(cls, roles: tuple[str, ...] = ROLES) -> list[str]:
        """The agent options of this rule for agents with networks in ``roles``."""
        names = []
        for name, default in cls.OPTIONS.items():
            names.append(name)
            if isinstance(default, PerRole) and "policy" in roles:
                names.append(f"{name}_policy")
        return names

    @classmethod
    def options_for(cls, role: str, given: dict[str, Any]) -> dict[str, Any]:
        """This rule's options for a network of ``role``, from the agent's options ``given``."""
        options = {}
        for name, default in cls.OPTIONS.items():
            if isinstance(default, PerRole):
                key = name if role == "value" else f"{name}_policy"
                options[name] = given.get(key, getattr(default, role))
            else:
                options[name] = given.get(name, default)
        return options

    @classmethod
    def defaults(cls, roles: tuple[str, ...]) -> dict[str, Any]:
        """Every option of the rule with its default, for agents with networks in ``roles``."""
        values = {}
        for name, default in cls.OPTIONS.items():
            if isinstance(default, PerRole):
                values[name] = default.value
                if "policy" in roles:
                    values[f"{name}_policy"] = default.policy
            else:
                values[name] = default
        return values

    @abstractmethod
    def update(self, grad_out: np.ndarray | None, delta: float, reset: bool) -> UpdateInfo:
        """One update with the gradient of ``f`` (given as ``grad_out`` = df/d(outputs) at the
        network's last forward state) and the TD error ``delta``; ``reset`` clears the traces after it."""

    @abstractmethod
    def clear_traces(self) -> None:
        """``z <- 0`` (an episode cut short, or a loaded agent starting a new one)."""

    @abstractmethod
    def traces(self) -> np.ndarray:
        """The trace ``z``, flat, as every update left it."""

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """The rule's state as named arrays."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Replaces the rule's state; every array is checked before any is applied."""


def checked_arrays(state: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of ``state`` named in ``expected``, as float32 of the expected shapes (one-line
    errors otherwise; nothing is applied here)."""
    arrays = {}
    for key, target in expected.items():
        if key not in state:
            raise ValueError(f"the saved step-rule state has no {key!r}")
        value = np.asarray(state[key], dtype=target.dtype)
        if value.shape != target.shape:
            raise ValueError(f"saved {key} has shape {value.shape}, this network needs {target.shape}")
        arrays[key] = value
    return arrays
