"""What Stream Q(lambda) and Stream SARSA(lambda) share: one Q network and epsilon-greedy
action choice with epsilon linear from 1.0 to 0.01 over a fraction of the step budget."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from streamrl.algorithms.base import StreamAgent
from streamrl.envs.make import DOMAINS


def greedy_value(q_values: np.ndarray) -> np.generic:
    """max_a q(s, a), exactly as np.max returns it (the array's dtype; NaN if any value is NaN),
    found in Python floats: NumPy's reduction machinery, run once a step, made the whole training
    loop (the env's own step included) about a third slower on these machines."""
    values = q_values.tolist()
    if math.isnan(sum(values)):  # a NaN, or inf - inf
        first_nan = next((i for i, v in enumerate(values) if math.isnan(v)), None)
        if first_nan is not None:
            return q_values[first_nan]
    return q_values[values.index(max(values))]


class EpsilonGreedyAgent(StreamAgent):
    def __init__(self, env: gym.Env | None = None, *, epsilon_start: float = 1.0, epsilon_end: float = 0.01,
                 exploration_fraction: float | None = None, exploration_steps: int | None = None,
                 **kwargs: Any) -> None:
        self.epsilon_start, self.epsilon_end = epsilon_start, epsilon_end
        self.exploration_fraction = exploration_fraction
        self.exploration_steps = exploration_steps  # None: the fraction of the first learn() budget
        super().__init__(env, **kwargs)
        if self.exploration_fraction is None:
            self.exploration_fraction = DOMAINS[self.domain].exploration_fraction
        # Until learn() says how long the run is, step-by-step use assumes the paper's budget.
        self._schedule_steps = exploration_steps or int(
            self.exploration_fraction * DOMAINS[self.domain].reference_steps)
        self._schedule_fixed = exploration_steps is not None

    def _check_action_space(self, space: gym.Space) -> None:
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(f"{type(self).__name__} needs a Discrete action space, got {type(space).__name__}; "
                             "for continuous actions use StreamAC")

    def _build(self, network: Any) -> None:
        self.q = self._make_learner(int(self.action_space.n), network=network)
        self._unit_vectors = np.eye(self.q.n_outputs)  # one_hot's rows, made once (learners only read grad_out)

    def _on_learn_start(self, total_steps: int) -> None:
        """The first learn() fixes the schedule's length; later calls continue it (epsilon never rises)."""
        if not self._schedule_fixed:
            self._schedule_steps = max(1, int(self.exploration_fraction * (self.num_steps + total_steps)))
            self._schedule_fixed = True

    @property
    def epsilon(self) -> float:
        slope = (self.epsilon_end - self.epsilon_start) / max(self._schedule_steps, 1)
        return max(self.epsilon_start + slope * self.num_steps, self.epsilon_end)

    def epsilon_greedy(self, q_values: np.ndarray, rng: np.random.Generator | None = None) -> tuple[int, bool]:
        """An action and whether it is non-greedy (a random action equal to the greedy one is greedy)."""
        rng = rng or self.rng
        greedy = int(np.asarray(q_values).argmax())
        if rng.random() < self.epsilon:
            action = int(rng.integers(len(q_values)))
            return action, action != greedy
        return greedy, False

    def one_hot(self, action: int) -> np.ndarray:
        """Output-gradient of f = q(s, a): a shared row, to be read, not written."""
        return self._unit_vectors[action]

    def _predict(self, state: np.ndarray, deterministic: bool) -> Any:
        q_values = self.q.evaluate(state)
        action = int(np.argmax(q_values)) if deterministic else self.epsilon_greedy(q_values, self.predict_rng)[0]
        return self._env_action(action)

    def _algorithm_config(self) -> dict[str, Any]:
        return {"epsilon_start": self.epsilon_start, "epsilon_end": self.epsilon_end,
                "exploration_fraction": self.exploration_fraction, "exploration_steps": self.exploration_steps}

    def counters(self) -> dict[str, Any]:
        return {**super().counters(), "_schedule_steps": self._schedule_steps,
                "_schedule_fixed": self._schedule_fixed}
