"""evaluate_run() (streamrl eval) in-process: it refuses an env the agent was not made for."""

import gymnasium as gym
import pytest

from streamrl import StreamQ
from streamrl.running.evaluate import evaluate_run


def test_evaluate_refuses_an_env_with_other_spaces():
    agent = StreamQ(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2), seed=0)
    with pytest.raises(ValueError) as error:
        evaluate_run(agent, "CartPole-v1", episodes=1)
    assert str(error.value) == ("the StreamQ agent has the observation space Box(3,) float32, but CartPole-v1 has "
                                "Box(4,) float32; use it with the environment it was trained on")
