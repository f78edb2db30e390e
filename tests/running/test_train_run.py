"""train_run in-process, on an env that turns bad."""

import gymnasium as gym
import numpy as np
import pytest

from streamrl.running.train import train_run


class BreaksAt(gym.Wrapper):
    """CartPole that returns NaN observations from a given step on."""

    def __init__(self, env, at):
        super().__init__(env)
        self.at, self.t = at, 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        return (obs * np.nan if self.t >= self.at else obs), reward, terminated, truncated, info


def test_non_finite_observation_stops_the_run_with_its_step_and_checkpoint(tmp_path, monkeypatch):
    import streamrl.running.train as train_module

    real_make_env = train_module.make_env
    monkeypatch.setattr(train_module, "make_env", lambda env_id, seed: BreaksAt(real_make_env(env_id, seed), 900))
    with pytest.raises(ValueError) as error:
        train_run("q", "CartPole-v1", 5000, 0, tmp_path, progress=False, checkpoint_every=100)
    message = str(error.value)
    assert message.startswith("non-finite observation at step 900")
    assert "the last checkpoint is at step" in message and "--resume" in message
    assert (tmp_path / "checkpoint.safetensors").exists() and not (tmp_path / "summary.json").exists()


def test_resuming_with_fewer_steps_than_done_is_refused_and_changes_nothing(tmp_path):
    train_run("q", "CartPole-v1", 3000, 0, tmp_path, progress=False, checkpoint_every=500, tensorboard=False)
    config = (tmp_path / "config.json").read_bytes()
    with pytest.raises(ValueError, match=r"already has [\d,]+ of its 1,000 steps"):
        train_run("q", "CartPole-v1", 1000, 0, tmp_path, progress=False, resume=True, tensorboard=False)
    assert (tmp_path / "config.json").read_bytes() == config
