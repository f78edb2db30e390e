"""Learning tests on CartPole-v1 (episode limit 10,000): each control agent reaches a mean return
of at least 1,000 over its last 10 episodes within 60,000 steps, for a fixed seed.

Measured with the torch backend (seed 2): Q(lambda) 4,186, SARSA(lambda) 2,241, AC(lambda) 4,848.
Other seeds (0, 1, 5) reach 10,000-step episodes as well; Q(lambda) is the least steady of the
three (last-10 means of 1,162 and 1,213 on seeds 0 and 1).
"""

import numpy as np
import pytest

from streamrl import StreamAC, StreamQ, StreamSARSA, make_env

SEED = 2


@pytest.mark.slow
@pytest.mark.parametrize("cls", [StreamQ, StreamSARSA, StreamAC])
def test_cartpole_within_60k_steps(cls):
    agent = cls(make_env("CartPole-v1", seed=SEED), seed=SEED)
    episodes = agent.learn(60_000)
    last10 = float(np.mean([e.episode_return for e in episodes[-10:]]))
    assert len(episodes) >= 10 and last10 >= 1000, [e.episode_return for e in episodes[-10:]]
