"""QRC(lambda): gradient-TD Q-learning with traces (Elelimy, Daley, Patterson, Machado, White & White
2025; docs/method.md, "QRC(λ)").

A secondary network h(s, a) learns the expected TD error; the main network q follows the TDC
direction, the semi-gradient TD(lambda) term corrected by h and by the gradient through the max
target, with plain SGD steps (:mod:`streamrl.steprules.qrc`). Watkins's traces: cleared at an
episode end and after a non-greedy action. The bootstrap is masked at a termination only (the
authors' convention, ``bootstrap_truncated=True``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from streamrl.algorithms.base import StepInfo
from streamrl.algorithms.epsilon_greedy import EpsilonGreedyAgent, greedy_value
from streamrl.steprules.qrc import QRCSecondary


class QRC(EpsilonGreedyAgent):
    """QRC(lambda): ``lr`` alpha = 1e-4 for q, ``h_lr_scale`` = 0.1 of it for h, ``beta`` = 1.0 the
    secondary network's regularization (0: QC(lambda)). A custom ``network`` is
    ``{"q": module, "h": module}`` (two instances of one architecture)."""

    algorithm = "qrc"
    default_options = MappingProxyType({"step_rule": "qrc", "bootstrap_truncated": True})
    step_rules = ("qrc",)

    def __init__(self, env: gym.Env | str | None = None, **kwargs: Any) -> None:
        super().__init__(env, **self._with_defaults(kwargs))

    def _build(self, network: Any) -> None:
        if network is not None and not (isinstance(network, dict) and set(network) == {"q", "h"}):
            raise ValueError('QRC takes network={"q": module, "h": module}')
        network, n_actions, options = network or {}, int(self.action_space.n), self.step_rule_options
        self.q = self._make_learner(n_actions, network=network.get("q"))
        self.h = self._make_learner(n_actions, network=network.get("h"), rule=QRCSecondary,
                                    rule_options={"lr": options["lr"] * options["h_lr_scale"], "beta": options["beta"]})
        self._unit_vectors = np.eye(n_actions)  # one_hot's rows

    def _network_calls(self) -> Callable[[np.ndarray], None]:
        q, h, first = self.q, self.h, self.one_hot(0)

        def one_step(state: np.ndarray) -> None:  # (QRC's passes: q at S and S', h at S, two updates)
            q.forward(state)
            h.forward(state)
            q.forward(state, slot=1)
            q.rule.update_qrc(first, first, 0.0, 0.0, 0.0, self.gamma, False)
            h.rule.update_secondary(first, 0.0, 0.0, False)
        return one_step

    def act(self, obs: Any) -> Any:
        s = self._begin(obs)
        q_s = self.q.forward(s)
        self.action, self.nongreedy = self.epsilon_greedy(q_s)
        self.q_sa = q_s[self.action]
        self.h_sa = float(self.h.forward(s)[self.action])  # the expected TD error, by h
        return self._env_action(self.action)

    def observe(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> StepInfo:
        s_next, r = self._advance(reward, next_obs, terminated, truncated)
        a, h = self.action, self.h_sa
        done, bootstrap = terminated or truncated, self._bootstrap(terminated, truncated)
        q_next = self.q.forward(s_next, slot=1)  # the target, differentiated at S' as well
        delta = r + self.gamma * bootstrap * greedy_value(q_next) - self.q_sa
        reset = done or self.nongreedy
        z_h = self.h.rule.trace_output(h)
        best = self.one_hot(int(np.argmax(q_next))) if bootstrap else None
        update = self.q.rule.update_qrc(self.one_hot(a), best, delta, h, z_h, self.gamma * bootstrap, reset)
        self.h.rule.update_secondary(self.one_hot(a), delta, h, reset)
        self._finish(s_next, next_obs, done)
        return StepInfo(float(delta), update.step_size, update.bound_active)
