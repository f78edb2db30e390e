"""Learning tests on CartPole-v1 (episode limit 10,000): a control agent "learns" when the mean
return of its last 10 episodes within 60,000 steps is at least 1,000. The same threshold holds
for both backends.

Single runs of Q(lambda) on CartPole are volatile: most seeds reach 10,000-step episodes and
some then collapse for a while (the instability the paper's single-seed curves also show), so
one seed's last 10 episodes say little. On the fused backend each agent therefore runs seeds 3,
4 and 5 and at least two of the three must learn. The torch backend is ten times slower, so it
runs seed 3 only, as a check that the reference path learns too.

Measured at this commit (last-10 means; fused seeds 3 / 4 / 5, torch seed 3):
Q(lambda) 879 / 4,894 / 4,300, torch 3,853; SARSA(lambda) 4,054 / 4,048 / 2,296, torch 4,166;
AC(lambda) 3,061 / 5,362 / 2,670, torch 4,506. Fused Q(lambda) over seeds 0-7: 49, 1,321, 5,121, 879, 4,894,
4,300, 3,494, 1,295, and every seed had at least one episode of 9,906 or more. Before the kernels
moved to one pass per update (a different rounding order) the same 8 seeds also gave 6 passes:
then seeds 1 and 7 missed, now 0 and 3.
"""

import numpy as np
import pytest

from streamrl import StreamAC, StreamQ, StreamSARSA, make_env

THRESHOLD = 1000
STEPS = 60_000


def last10(cls, backend: str, seed: int) -> float:
    agent = cls(make_env("CartPole-v1", seed=seed), seed=seed, backend=backend)
    episodes = agent.learn(STEPS)
    assert len(episodes) >= 10
    return float(np.mean([e.episode_return for e in episodes[-10:]]))


@pytest.mark.slow
@pytest.mark.parametrize("cls", [StreamQ, StreamSARSA, StreamAC])
def test_fused_agents_learn_cartpole_on_most_seeds(cls):
    results = [last10(cls, "fused", seed) for seed in (3, 4, 5)]
    assert sum(r >= THRESHOLD for r in results) >= 2, results


@pytest.mark.slow
@pytest.mark.parametrize("cls", [StreamQ, StreamSARSA, StreamAC])
def test_torch_agents_learn_cartpole(cls):
    result = last10(cls, "torch", 3)
    assert result >= THRESHOLD, result
