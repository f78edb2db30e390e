"""AVG, Action Value Gradient (Vasan, Elsayed, Azimi, He, Shahriar, Bellinger, White & Mahmood 2024,
"Deep Policy Gradient Methods Without Batch Updates, Target Networks, or Replay Buffers", arXiv
2411.15370): a soft actor-critic that learns from each transition once, as it arrives, with no
replay buffer, no target network and one critic Q(s, a); in the paper's order:

1. Networks (:mod:`streamrl.networks.pnorm`): two 256-unit LeakyReLU layers, penultimate
   normalization, orthogonal init; observations normalized by Gymnasium's running statistics, as
   the authors' wrapper does, and rewards not scaled (:mod:`streamrl.envs.avg_preprocessing`).
2. Actor: A = tanh(mu + sigma eps), its second head a log-variance (sigma = exp(l / 2)), clipped
   to the env's bounds, not rescaled.
3. TD error with a fresh A' ~ pi(.|S'), b = 0 at a termination only (a truncation bootstraps):
   delta = (R + gamma b (Q(S', A') - alpha log pi(A'|S')) - Q(S, A)) / sigma_delta, the scale from
   :class:`~streamrl.envs.normalization.TDErrorScaler`, which first takes in r - alpha log pi(A|S).
4. Updates, both from the networks before them, by Adam (:mod:`streamrl.steprules.adam`): the
   actor on alpha log pi(A|S) - Q(S, A) through A (the reparameterization gradient), then the
   critic on delta^2.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import parse_env_id

from streamrl.algorithms.base import StepInfo, StreamAgent, as_env
from streamrl.envs.make import clip_to_box

# The authors' hyperparameters (their README's table) by environment name, any version of the id:
# the actor's and the critic's Adam step sizes, beta1, alpha and gamma. Their DM Control wrapper
# ends an episode at the time limit, so those rows do not bootstrap there.
MUJOCO_ROWS = ((("Hopper", "Walker2d"), 1.1e-5, 7.7e-5, 0.0, 0.3, 0.99),
               (("Ant", "HalfCheetah", "Humanoid"), 6.3e-3, 8.7e-3, 0.0, 0.07, 0.99))
DMC_ROWS = ((("reacher-hard",), 3e-6, 4.9e-3, 0.0, 0.05, 0.97),
            (("dog-walk", "dog-trot", "dog-stand"), 6e-6, 8e-5, 0.0, 0.009, 0.95),
            (("finger-spin",), 3.8e-4, 8.7e-5, 0.9, 0.006, 0.95), (("dog-run",), 1.8e-5, 4.8e-5, 0.0, 0.007, 0.97))
PRESETS = MappingProxyType({name: {"lr_policy": lr_policy, "lr": lr, "beta1": beta1, "alpha": alpha, "gamma": gamma,
                                   **({"bootstrap_truncated": False} if rows is DMC_ROWS else {})}
                            for rows in (MUJOCO_ROWS, DMC_ROWS) for names, lr_policy, lr, beta1, alpha, gamma in rows
                            for name in names})


class AVG(StreamAgent):
    """AVG: ``alpha`` the entropy coefficient, Adam's ``lr`` the critic's step size and ``lr_policy``
    the actor's. On an env of ``PRESETS`` (Hopper, Ant, ..., any version) the authors' row for it is
    the default, otherwise their avg.py's (Ant, HalfCheetah and Humanoid's); options override it."""

    algorithm = "avg"
    roles = ("value", "policy")
    default_options = MappingProxyType({"step_rule": "adam", "alpha": 0.07, "lamda": 0.0, "hidden": (256, 256),
                                        "sparse_init": False, "layer_norm": False, "normalize_observation": True,
                                        "scale_reward": False, "time_info": False, "bootstrap_truncated": True})
    step_rules = ("adam",)  # (as its authors)

    def __init__(self, env: gym.Env | str | None = None, *, alpha: float | None = None, **kwargs: Any) -> None:
        env = as_env(env, kwargs.get("seed")) if env is not None else None
        name = parse_env_id(env.spec.id)[1] if env is not None and env.spec is not None else None
        options = self._with_defaults({**PRESETS.get(name, {}), **({} if alpha is None else {"alpha": alpha}),
                                       **kwargs})
        self.alpha = options.pop("alpha")
        super().__init__(env, **options)

    def _check_action_space(self, space: gym.Space) -> None:
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
            raise ValueError(f"AVG acts in continuous (Box, one axis) action spaces only, not {space}")

    def _build(self, network: Any) -> None:
        if self.backend == "fused":
            raise ValueError("AVG runs on the torch backend only: its actor learns through the critic's gradient "
                             "with respect to the action; use backend='torch' (or 'auto')")
        for option, fixed in (("lamda", 0.0), ("sparse_init", False), ("layer_norm", False),
                              ("track_overshoot", False), ("network", None)):
            if (network if option == "network" else getattr(self, option)) != fixed:
                raise ValueError(f"AVG's networks and updates are the authors': {option} must be {fixed}")
        from streamrl.envs.avg_preprocessing import AVGPreprocessor
        from streamrl.networks.pnorm import PenultimateNormMLP

        self.preprocessor = AVGPreprocessor(self.observation_space.shape, self.gamma, self.preprocessing)
        n_inputs, k = self.preprocessor.output_shape[0], self.action_space.shape[0]
        self.n_actions = k
        self.actor = self._make_learner(2 * k, "policy", PenultimateNormMLP(n_inputs, self.hidden, (k, k), self.rng))
        self.critic = self._make_learner(1, "value", PenultimateNormMLP(n_inputs + k, self.hidden, (1,), self.rng))

    def _not_copied(self) -> tuple[Any, ...]:  # (a step's autograd graph cannot be copied: a twin starts without)
        return (*super()._not_copied(), *(getattr(self, name, None) for name in ("head", "action", "log_prob")))

    def _noise(self, rng: np.random.Generator) -> np.ndarray:
        """eps ~ N(0, I) of one action (float32, as the networks compute)."""
        return rng.standard_normal(self.n_actions).astype(np.float32)

    def act(self, obs: Any) -> Any:
        import torch

        from streamrl.networks.pnorm import squashed_gaussian

        s = self._begin(obs)
        self.head = torch.tensor(self.actor.forward(s), requires_grad=True)  # the actor's outputs, for its gradient
        self.action, self.log_prob = squashed_gaussian(self.head, torch.from_numpy(self._noise(self.rng)))
        return clip_to_box(self.action.detach().numpy(), self.action_space)

    def observe(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> StepInfo:
        import torch

        from streamrl.networks.pnorm import squashed_gaussian

        s, (s_next, r) = self._state, self._advance(reward, next_obs, terminated, truncated)
        bootstrap = self._bootstrap(terminated, truncated)
        sigma = np.float32(self.preprocessor.scale_step(r - self.alpha * self.log_prob.item(), self.gamma,
                                                        bootstrap == 0.0))
        with torch.no_grad():  # the soft target, at a fresh action of the actor before its update
            next_action, next_log_prob = squashed_gaussian(torch.from_numpy(self.actor.evaluate(s_next)),
                                                           torch.from_numpy(self._noise(self.rng)))
        v_next = self.critic.evaluate(np.concatenate([s_next, next_action.numpy()])) - self.alpha * next_log_prob.numpy()
        q_sa = self.critic.forward(np.concatenate([s, self.action.detach().numpy()]))  # float32, as torch rounds
        delta = (np.float32(r) + np.float32(self.gamma * bootstrap) * v_next - q_sa) / sigma
        q = self.critic.module(torch.cat([torch.from_numpy(s), self.action]).unsqueeze(0))[0]
        (objective_grad,) = torch.autograd.grad(q - self.alpha * self.log_prob, self.head)
        actor = self.actor.update(objective_grad.numpy(), 1.0, False)  # ascent on Q - alpha log pi
        critic = self.critic.update(2.0 * delta / sigma, 1.0, False)  # descent on delta^2, f = (2 delta / sigma) Q
        self._finish(s_next, next_obs, terminated or truncated)
        return StepInfo(float(delta[0]), critic.step_size, False, actor_step_size=actor.step_size,
                        actor_bound_active=False)

    def _predict(self, state: np.ndarray, deterministic: bool) -> Any:
        import torch

        from streamrl.networks.pnorm import squashed_gaussian

        head = torch.from_numpy(self.actor.evaluate(state))
        noise = torch.zeros(self.n_actions) if deterministic else torch.from_numpy(self._noise(self.predict_rng))
        return clip_to_box(squashed_gaussian(head, noise)[0].numpy(), self.action_space)

    def _algorithm_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}
