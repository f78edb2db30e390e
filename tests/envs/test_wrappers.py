"""The Gymnasium wrappers share the agents' stage objects; check them on a real env."""

import gymnasium as gym
import numpy as np
import pytest

from streamrl.envs import AddTimeInfo, NormalizeObservation, ObservationTraces, ScaleReward


def cartpole():
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    return env


def test_normalize_observation_first_observation_is_zero_and_float64_stats():
    env = NormalizeObservation(cartpole())
    obs, _ = env.reset(seed=0)
    assert np.array_equal(obs, np.zeros(4, dtype=np.float32)) and obs.dtype == np.float32
    assert env.normalizer.stats.mean.dtype == np.float64 and env.normalizer.stats.count == 1


def test_scale_reward_divides_by_return_std():
    env = ScaleReward(cartpole(), gamma=0.5)
    env.reset(seed=0)
    rewards = [env.step(0)[1] for _ in range(3)]
    # CartPole gives 1 per step: u = 1, 1.5, 1.75; variances 1 (one sample), 0.125, 7/48
    assert rewards == pytest.approx([1 / np.sqrt(1 + 1e-8), 1 / np.sqrt(0.125 + 1e-8), 1 / np.sqrt(7 / 48 + 1e-8)])


def test_add_time_info_reads_the_time_limit():
    env = AddTimeInfo(gym.make("CartPole-v1", max_episode_steps=8))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (5,) and obs[-1] == -0.5
    assert env.step(0)[0][-1] == pytest.approx(-0.375) and env.step(0)[0][-1] == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="needs a time limit"):
        AddTimeInfo(gym.make("CartPole-v1", max_episode_steps=None).unwrapped)


def test_observation_traces_smooth_with_bias_correction():
    env = ObservationTraces(cartpole(), beta=0.5)
    first, _ = env.reset(seed=1)
    raw = env.unwrapped.state.copy()
    assert first == pytest.approx(raw, rel=1e-6)  # bias-corrected: the first average is the input
    second = env.step(1)[0]
    new = env.unwrapped.state
    # z = 0.5 * 0.5 raw + 0.5 new; corrected by 1 - 0.25
    assert second == pytest.approx((0.25 * raw + 0.5 * new) / 0.75, rel=1e-5)
