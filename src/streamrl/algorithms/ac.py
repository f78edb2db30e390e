"""Stream AC(lambda): actor-critic with one TD error driving both networks (docs/method.md,
"Stream AC(λ)")."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from streamrl.algorithms.base import StepInfo, StreamAgent
from streamrl.algorithms.policies import GaussianPolicy, SoftmaxPolicy
from streamrl.algorithms.td import td_update
from streamrl.envs.make import clip_to_box


class StreamAC(StreamAgent):
    """Stream AC(lambda). Critic: f = v(s). Actor: f = log pi(a|s) + tau sign(delta) H(pi(.|s)),
    tau = ``entropy_coef``. Softmax policy for Discrete actions, Gaussian (std = softplus) for Box.
    Both traces are cleared at an episode end. The actor is the agent's policy network: step-rule
    options with ``_policy`` set its own (ObGD: ``kappa_policy``, 3 by default; the critic's
    ``kappa`` is 2). A custom ``network`` is ``{"actor": m, "critic": m}``."""

    algorithm = "ac"
    roles = ("value", "policy")

    def __init__(self, env: gym.Env | None = None, *, entropy_coef: float = 0.01, **kwargs: Any) -> None:
        self.entropy_coef = entropy_coef
        super().__init__(env, **kwargs)

    def _build(self, network: Any) -> None:
        if isinstance(self.action_space, gym.spaces.Discrete):
            self.policy = SoftmaxPolicy(int(self.action_space.n))
        else:
            self.policy = GaussianPolicy(int(np.prod(self.action_space.shape)))
        if network is not None and not (isinstance(network, dict) and set(network) == {"actor", "critic"}):
            raise ValueError('StreamAC takes network={"actor": module, "critic": module}')
        network = network or {}
        self.critic = self._make_learner(1, "value", network.get("critic"))
        self.actor = self._make_learner(self.policy.n_outputs, "policy", network.get("actor"))

    def _env_action(self, action: Any) -> Any:
        if isinstance(self.action_space, gym.spaces.Box):  # learn from the sample, act within bounds
            return clip_to_box(action, self.action_space).reshape(self.action_space.shape)
        return super()._env_action(action)

    def act(self, obs: Any) -> Any:
        s = self._begin(obs)
        self.actor_out = self.actor.forward(s)  # remembered for the actor's gradient
        self.action = self.policy.sample(self.actor_out, self.rng)
        return self._env_action(self.action)

    def observe(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> StepInfo:
        s_next, r = self._advance(reward, next_obs, terminated, truncated)
        s = self._state
        done = terminated or truncated
        _, delta, critic, overshot = td_update(self, self.critic, s, r, s_next, done,  # the critic is Stream TD
                                               self._bootstrap(terminated, truncated))
        entropy_coef = self.entropy_coef * np.sign(delta)
        actor = self.actor.update(self.policy.objective_grad(self.actor_out, self.action, entropy_coef), delta,
                                  reset=done)
        self._finish(s_next, next_obs, done)
        return StepInfo(float(delta), critic.step_size, critic.bound_active, overshot,
                        actor_step_size=actor.step_size, actor_bound_active=actor.bound_active,
                        change_ratio=critic.change_ratio, actor_change_ratio=actor.change_ratio)

    def _predict(self, state: np.ndarray, deterministic: bool) -> Any:
        out = self.actor.evaluate(state)
        action = self.policy.mode(out) if deterministic else self.policy.sample(out, self.predict_rng)
        return self._env_action(action)

    def _algorithm_config(self) -> dict[str, Any]:
        return {"entropy_coef": self.entropy_coef}
