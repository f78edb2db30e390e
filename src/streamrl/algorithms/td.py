"""Stream TD(lambda): prediction of the discounted sum of a cumulant (docs/method.md, "Stream TD(λ)")."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from streamrl.algorithms.base import StepInfo, StreamAgent
from streamrl.envs.preprocessing import PreprocessingConfig
from streamrl.learners import Learner
from streamrl.steprules import UpdateInfo

ONE = np.ones(1)  # df/dv for f = v(s); learners only read grad_out


def td_update(agent: StreamAgent, v: Learner, s: np.ndarray, c: float, s_next: np.ndarray,
              done: bool, bootstrap: float) -> tuple[float, float, UpdateInfo, bool | None]:
    """One Stream TD(lambda) step of a state-value learner (also Stream AC's critic): ``bootstrap``
    1 or 0 (a terminal), ``done`` the episode's end. Returns v(s) before the update, delta, what
    the update did, and whether it overshot."""
    v_s = v.forward(s)[0]
    delta = c + agent.gamma * bootstrap * v.evaluate(s_next)[0] - v_s
    update = v.update(ONE, delta, reset=done)  # f = v(s); traces cleared at an episode end
    overshot = None
    if agent.track_overshoot:
        delta_after = c + agent.gamma * bootstrap * v.evaluate(s_next)[0] - v.evaluate(s)[0]
        overshot = agent._overshot(delta, delta_after)
    return v_s, delta, update, overshot


class StreamTD(StreamAgent):
    """Stream TD(lambda): delta = c + gamma b v(s') - v(s), b = 0 at a terminal (see
    ``bootstrap_truncated``), else 1; f = v(s); traces cleared at an episode end. Network obs -> 128 -> 128 -> 1 on vector inputs.

    On an env it follows ``policy`` (a function of the raw observation; uniform random when None)
    and predicts the discounted return of the env's reward. On a stream of rows, call
    ``reset(first_row)`` then ``observe(cumulant, next_row, False, False)`` for each row.
    Predictions are in the cumulant's own units: reward scaling is off unless ``preprocessing``
    turns it on.
    """

    algorithm = "td"
    needs_action = False

    default_options = MappingProxyType({"hidden": (128, 128)})

    def __init__(self, env: gym.Env | str | None = None, *, policy: Callable[[Any], Any] | None = None,
                 **kwargs: Any) -> None:
        self.policy = policy
        if env is None:
            kwargs.setdefault("action_space", gym.spaces.Discrete(1))  # a prediction stream has no actions
        super().__init__(env, **self._with_defaults(kwargs))

    def _default_preprocessing(self, env: gym.Env | None, domain: str) -> PreprocessingConfig:
        return replace(super()._default_preprocessing(env, domain), scale_reward=False)

    def _not_copied(self) -> tuple[Any, ...]:
        return (*super()._not_copied(), self.policy)  # (a user's object, perhaps a robot's client)

    def _build(self, network: Any) -> None:
        self.v = self._make_learner(1, network=network)

    def act(self, obs: Any) -> Any:
        self._begin(obs)
        if self.policy is not None:
            return self.policy(obs)
        if isinstance(self.action_space, gym.spaces.Discrete):
            return self._env_action(int(self.rng.integers(self.action_space.n)))
        return self.rng.uniform(self.action_space.low, self.action_space.high).astype(self.action_space.dtype)

    def observe(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> StepInfo:
        s_next, c = self._advance(reward, next_obs, terminated, truncated)
        s = self._state
        done = terminated or truncated
        v_s, delta, update, overshot = td_update(self, self.v, s, c, s_next, done, self._bootstrap(terminated, truncated))
        self._finish(s_next, next_obs, done)
        return StepInfo(float(delta), update.step_size, update.bound_active, overshot, value=float(v_s),
                        change_ratio=update.change_ratio)

    def _predict(self, state: np.ndarray, deterministic: bool) -> float:
        return float(self.v.evaluate(state)[0])
