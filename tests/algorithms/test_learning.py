"""Learning tests on CartPole-v1 (episode limit 10,000): each control agent reaches a mean return
of at least 1,000 over its last 10 episodes within 60,000 steps, for a fixed seed, on both
backends.

Measured (seed 3, mean of the last 10 episodes): torch Q(lambda) 3,853, SARSA(lambda) 4,166,
AC(lambda) 4,506; fused 4,737, 4,406, 5,081. Across seeds 0-7 on the fused backend 21 of 24
runs pass; the misses are Q/SARSA on seed 1 and Q on seed 7, whose last episodes collapsed after
reaching 10,000-step episodes (the instability the paper's curves also show on single seeds).
"""

import numpy as np
import pytest

from streamrl import StreamAC, StreamQ, StreamSARSA, make_env

SEED = 3


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["fused", "torch"])
@pytest.mark.parametrize("cls", [StreamQ, StreamSARSA, StreamAC])
def test_cartpole_within_60k_steps(cls, backend):
    agent = cls(make_env("CartPole-v1", seed=SEED), seed=SEED, backend=backend)
    episodes = agent.learn(60_000)
    last10 = float(np.mean([e.episode_return for e in episodes[-10:]]))
    assert len(episodes) >= 10 and last10 >= 1000, [e.episode_return for e in episodes[-10:]]
