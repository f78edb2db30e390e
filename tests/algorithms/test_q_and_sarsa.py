"""Stream Q(lambda) and SARSA(lambda) traces, step by step: cleared after a non-greedy action (Q)
and at an episode end, kept otherwise. (Their TD targets: test_td_targets.py.)"""

import gymnasium as gym
import numpy as np
import pytest
import torch

from streamrl import StreamQ, StreamSARSA
from tests.helpers import OBS_SPACE, PLAIN, assert_update, output_grads, params, set_output_bias

GAMMA_LAMBDA = 0.99 * 0.8


def q_agent(seed, cls=StreamQ, epsilon=0.0):
    agent = cls(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(4), preprocessing=PLAIN, seed=seed,
                epsilon_start=epsilon, epsilon_end=epsilon, backend="torch")  # autograd gives the expectations
    set_output_bias(agent.q, [0.9, -0.6, 0.3, 1.5])  # action values far apart from the first step
    return agent


def first_greedy_step(agent, observations):
    agent.act(observations[0])
    assert agent.nongreedy is False
    agent.observe(1.0, observations[1], False, False)
    return [torch.from_numpy(z.copy()) for z in agent.q.traces()]


def exploring_step(seed, observations, want_nongreedy):
    """A greedy step, then a random step whose action is (or is not) the greedy one."""
    agent = q_agent(seed)
    z1 = first_greedy_step(agent, observations)
    agent.epsilon_start = agent.epsilon_end = 1.0
    s1 = agent._state
    q1 = agent.q.evaluate(s1)
    a1 = agent.act(observations[1])
    return (agent, z1, s1, q1, a1) if agent.nongreedy == want_nongreedy else None


def find(observations, want_nongreedy):
    return next(r for seed in range(50) if (r := exploring_step(seed, observations, want_nongreedy)))


def test_q_clears_traces_after_a_nongreedy_update(observations):
    agent, z1, s1, q1, a1 = find(observations, want_nongreedy=True)
    assert a1 != int(np.argmax(q1))
    module = agent.q.module
    g2, before = output_grads(module, s1, lambda out: out[a1]), params(module)
    max_q2 = module(torch.as_tensor(observations[2], dtype=torch.float32)[None])[0].max().item()
    info = agent.observe(0.5, observations[2], False, False)
    assert abs(info.delta - (0.5 + 0.99 * max_q2 - q1[a1])) < 1e-5  # Watkins: bootstrap on the max
    # the update used the full trace (cleared after, not before) ...
    trace = [GAMMA_LAMBDA * z + g for z, g in zip(z1, g2)]
    assert_update(before, params(module), info.step_size * info.delta, trace)
    # ... and then the trace is zero
    assert all((z == 0).all() for z in agent.q.traces())


def test_q_keeps_traces_when_the_random_action_is_the_greedy_one(observations):
    agent, z1, s1, q1, a1 = find(observations, want_nongreedy=False)
    assert a1 == int(np.argmax(q1))
    g2 = output_grads(agent.q.module, s1, lambda out: out[a1])
    agent.observe(0.5, observations[2], False, False)
    for z, expected in zip(agent.q.traces(), [GAMMA_LAMBDA * z + g for z, g in zip(z1, g2)]):
        torch.testing.assert_close(torch.from_numpy(z.copy()), expected, rtol=1e-5, atol=1e-7)


def test_q_clears_traces_at_episode_end_and_does_not_bootstrap(observations):
    agent = q_agent(0)
    agent.act(observations[0])
    q_sa = agent.q_sa
    info = agent.observe(2.0, observations[1], True, False)
    assert abs(info.delta - (2.0 - q_sa)) < 1e-6
    assert all((z == 0).all() for z in agent.q.traces())


def test_sarsa_keeps_traces_after_nongreedy_actions(observations):
    agent = q_agent(0, StreamSARSA, epsilon=1.0)
    obs = observations[0]
    for t in range(1, 30):
        agent.act(obs)
        obs = observations[t]
        agent.observe(0.1, obs, False, False)
    assert all((z != 0).any() for z in agent.q.traces()[0::2])  # every weight tensor's trace survives


@pytest.mark.parametrize("values, expected", [([1.0, 3.0, 2.0], 3.0), ([-2.0, -0.5], -0.5), ([np.inf, -np.inf], np.inf),
                                              ([np.nan, 1.0], np.nan), ([1.0, 5.0, np.nan], np.nan)])
def test_the_greedy_value_is_max_over_actions_as_numpy_gives_it(values, expected):
    from streamrl.algorithms.epsilon_greedy import greedy_value

    for dtype in (np.float64, np.float32):  # the fused backend's outputs, and torch's
        q_values = np.array(values, dtype=dtype)
        value = greedy_value(q_values)
        assert type(value) is dtype  # so a TD error computed from it has the precision np.max would give
        np.testing.assert_equal(value, dtype(expected))
        np.testing.assert_equal(value, np.max(q_values))  # NaN anywhere gives NaN, as np.max
