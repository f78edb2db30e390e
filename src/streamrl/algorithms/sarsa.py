"""Stream SARSA(lambda) with eligibility traces (docs/method.md, "Stream SARSA(λ)")."""

from __future__ import annotations

from typing import Any

from streamrl.algorithms.base import StepInfo
from streamrl.algorithms.epsilon_greedy import EpsilonGreedyAgent


class StreamSARSA(EpsilonGreedyAgent):
    """Stream SARSA(lambda). The next action a' is chosen from s' before the update, the update
    bootstraps on q(s', a'), and a' is the action taken next; f = q(s, a); traces cleared only at
    an episode end."""

    algorithm = "sarsa"
    next_action: int | None = None

    def _on_episode_start(self) -> None:
        super()._on_episode_start()
        self.next_action = None  # an action chosen in another episode's last state is not taken

    def act(self, obs: Any) -> Any:
        s = self._begin(obs)
        q_s = self.q.forward(s)  # with the updated weights, remembered for the next gradient
        if self.next_action is None:  # first step of an episode
            self.next_action = self.epsilon_greedy(q_s)[0]
        self.action, self.next_action = self.next_action, None
        self.q_sa = q_s[self.action]
        return self._env_action(self.action)

    def observe(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> StepInfo:
        s_next, r = self._advance(reward, next_obs, terminated, truncated)
        s, a = self._state, self.action
        done, bootstrap = terminated or truncated, self._bootstrap(terminated, truncated)
        q_next = self.q.evaluate(s_next)
        a_next = self.epsilon_greedy(q_next)[0] if bootstrap else None  # (after a truncation, not taken)
        q_next_a = q_next[a_next] if bootstrap else 0.0
        delta = r + self.gamma * bootstrap * q_next_a - self.q_sa
        update = self.q.update(self.one_hot(a), delta, reset=done)
        overshot = None
        if self.track_overshoot:
            q_after = self.q.evaluate(s_next)[a_next] if bootstrap else 0.0
            overshot = self._overshot(delta, r + self.gamma * bootstrap * q_after - self.q.evaluate(s)[a])
        self.next_action = None if done else a_next
        self._finish(s_next, next_obs, done)
        return StepInfo(float(delta), update.step_size, update.bound_active, overshot,
                        change_ratio=update.change_ratio)
