"""Gymnasium wrappers for the learning-side stages, for using a stream-x pipeline without an agent.

Each wraps the same stage object the agents use (``streamrl.envs.normalization``), so the
numbers are identical. Do not give an env wrapped with these to a streamrl agent: the agent
applies the same stages inside itself and would apply them twice.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from streamrl.envs.normalization import ObservationNormalizer, ObservationTrace, RewardScaler, TimeFeature


def _float_box(shape: tuple[int, ...]) -> gym.spaces.Box:
    return gym.spaces.Box(-np.inf, np.inf, shape=shape, dtype=np.float32)


class NormalizeObservation(gym.ObservationWrapper):
    """Per-coordinate running normalization, statistics (float64) including the current
    observation. An observation holding a NaN or inf raises NonFiniteObservation (a ValueError)
    and is not taken into the statistics."""

    def __init__(self, env: gym.Env, eps: float = 1e-8) -> None:
        super().__init__(env)
        self.normalizer = ObservationNormalizer(env.observation_space.shape, eps)
        self.observation_space = _float_box(env.observation_space.shape)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.normalizer(observation).astype(np.float32)


class ScaleReward(gym.Wrapper):
    """Divides each reward by the running std of the discounted return trace (no centring)."""

    def __init__(self, env: gym.Env, gamma: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(env)
        self.scaler = RewardScaler(gamma, eps)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, self.scaler(reward, terminated or truncated), terminated, truncated, info


class AddTimeInfo(gym.Wrapper):
    """Appends the time feature: -0.5 at reset, -0.5 + k/T after k steps (T = time limit)."""

    def __init__(self, env: gym.Env, time_limit: int | None = None) -> None:
        super().__init__(env)
        time_limit = time_limit or (env.spec.max_episode_steps if env.spec else None)
        if not time_limit:
            raise ValueError("AddTimeInfo needs a time limit: pass time_limit=T or use an env with max_episode_steps")
        self.clock = TimeFeature(time_limit)
        (n,) = env.observation_space.shape
        self.observation_space = _float_box((n + 1,))

    def _with_time(self, obs: np.ndarray, t: float) -> np.ndarray:
        return np.append(np.asarray(obs, dtype=np.float32), np.float32(t))

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._with_time(obs, self.clock.reset()), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._with_time(obs, self.clock.step()), reward, terminated, truncated, info


class ObservationTraces(gym.Wrapper):
    """Replaces observations by their bias-corrected exponential average (beta = 0.999), as the
    paper smooths its time-series inputs. The average runs across episode boundaries."""

    def __init__(self, env: gym.Env, beta: float = 0.999) -> None:
        super().__init__(env)
        self.trace = ObservationTrace(env.observation_space.shape, beta)
        self.observation_space = _float_box(env.observation_space.shape)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self.trace(obs).astype(np.float32), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self.trace(obs).astype(np.float32), reward, terminated, truncated, info


LEARNING_SIDE_WRAPPERS = (NormalizeObservation, ScaleReward, AddTimeInfo)
