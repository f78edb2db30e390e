"""Stream Q(lambda): Watkins's Q(lambda) with eligibility traces (docs/method.md, "Stream Q(λ)")."""

from __future__ import annotations

from typing import Any

from streamrl.algorithms.base import StepInfo
from streamrl.algorithms.epsilon_greedy import EpsilonGreedyAgent, greedy_value


class StreamQ(EpsilonGreedyAgent):
    """Stream Q(lambda): delta = r + gamma b max_a' q(s', a') - q(s, a), with b = 0 at a terminal (see
    ``bootstrap_truncated``), else 1; f = q(s, a); traces cleared after the update at an episode end
    or after a non-greedy action."""

    algorithm = "q"

    def act(self, obs: Any) -> Any:
        s = self._begin(obs)
        q_s = self.q.forward(s)  # q(s, .), remembered for the update's gradient
        self.action, self.nongreedy = self.epsilon_greedy(q_s)
        self.q_sa = q_s[self.action]
        return self._env_action(self.action)

    def observe(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> StepInfo:
        s_next, r = self._advance(reward, next_obs, terminated, truncated)
        s, a = self._state, self.action
        done, bootstrap = terminated or truncated, self._bootstrap(terminated, truncated)
        delta = r + self.gamma * bootstrap * greedy_value(self.q.evaluate(s_next)) - self.q_sa
        update = self.q.update(self.one_hot(a), delta, reset=done or self.nongreedy)
        overshot = None
        if self.track_overshoot:
            delta_after = r + self.gamma * bootstrap * greedy_value(self.q.evaluate(s_next)) - self.q.evaluate(s)[a]
            overshot = self._overshot(delta, delta_after)
        self._finish(s_next, next_obs, done)
        return StepInfo(float(delta), update.step_size, update.bound_active, overshot,
                        change_ratio=update.change_ratio)
