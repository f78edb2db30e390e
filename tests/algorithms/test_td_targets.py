"""Each algorithm's TD error on a transition worked out by hand, on both backends.

The networks start with outputs far from zero and distinct across actions (the output biases are
set, see tests.helpers), and the expected numbers come from a float64 forward pass written in
tests.helpers, not from the agent. Each transition is taken three ways: continuing (the target
bootstraps on the next state), terminated and truncated (it does not: with the time feature a
time-limit truncation is a terminal of the time-augmented state, so stream-x treats both alike).

Mutations these catch: gamma replaced by 1 (the bootstrap differs by 0.1 * v(s') ~ 0.1), a
bootstrap through a terminal or truncated step (by gamma v(s') ~ 0.9), SARSA bootstrapping on
max q instead of q(s', a'), Q bootstrapping on q(s', a) instead of the max, the wrong action's
q(s, a).
"""

import gymnasium as gym
import numpy as np
import pytest

from streamrl import StreamAC, StreamQ, StreamSARSA, StreamTD
from tests.helpers import OBS_SPACE, PLAIN, mlp_outputs, set_output_bias

GAMMA = 0.9
REWARD = 0.3
ENDINGS = {"continuing": (False, False), "terminated": (True, False), "truncated": (False, True)}
BACKENDS = ["fused", "torch"]
Q_BIASES = [0.9, -0.6, 0.3, 1.5]  # distinct action values, far from zero


def states(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=20), rng.normal(size=20)


def bootstrap(value: float, ending: str) -> float:
    return GAMMA * value if ending == "continuing" else 0.0


def close(delta: float, expected: float) -> bool:
    # the torch backend's outputs are float32: ~1e-7 relative; a mutation moves delta by >= 0.01
    return delta == pytest.approx(expected, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ending", ENDINGS)
def test_stream_td_target(backend, ending):
    agent = StreamTD(observation_space=OBS_SPACE, preprocessing=PLAIN, gamma=GAMMA, seed=0, backend=backend)
    set_output_bias(agent.v, [0.8])
    s, s_next = states()
    v_s, v_next = mlp_outputs(agent.v, s)[0], mlp_outputs(agent.v, s_next)[0]
    assert abs(v_next) > 0.3 and abs(v_next - v_s) > 1e-3  # the target has something to get wrong
    agent.reset(s)
    info = agent.observe(REWARD, s_next, *ENDINGS[ending])
    assert close(info.delta, REWARD + bootstrap(v_next, ending) - v_s)
    assert info.value == pytest.approx(v_s, rel=1e-5)  # the prediction before the update


def q_agent(cls, backend, seed, epsilon):
    agent = cls(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(4), preprocessing=PLAIN, gamma=GAMMA,
                seed=seed, backend=backend, epsilon_start=epsilon, epsilon_end=epsilon)
    set_output_bias(agent.q, Q_BIASES)
    return agent


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ending", ENDINGS)
def test_stream_q_target_bootstraps_on_the_greedy_value(backend, ending):
    """An exploring step (the action is not the greedy one): delta = r + gamma max q(s', .) - q(s, a)."""
    s, s_next = states()
    for seed in range(50):
        agent = q_agent(StreamQ, backend, seed, epsilon=1.0)
        q_s, q_next = mlp_outputs(agent.q, s), mlp_outputs(agent.q, s_next)
        a = agent.act(s)
        if agent.nongreedy and q_next.max() - q_next[a] > 0.1:
            break
    else:
        pytest.fail("no seed explored away from the greedy action")
    assert a != int(np.argmax(q_s))
    info = agent.observe(REWARD, s_next, *ENDINGS[ending])
    assert close(info.delta, REWARD + bootstrap(q_next.max(), ending) - q_s[a])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ending", ENDINGS)
def test_stream_sarsa_target_bootstraps_on_the_action_it_then_takes(backend, ending):
    """delta = r + gamma q(s', a') with a' the next action, chosen before the update and then taken;
    the seed is one where a' is not greedy, so q(s', a') differs from max q(s', .)."""
    s, s_next = states()
    for seed in range(50):
        agent = q_agent(StreamSARSA, backend, seed, epsilon=1.0)
        q_s, q_next = mlp_outputs(agent.q, s), mlp_outputs(agent.q, s_next)
        a = agent.act(s)
        info = agent.observe(REWARD, s_next, *ENDINGS[ending])
        a_next = agent.act(s_next)  # after a terminal step this starts a new episode at s_next
        if ending != "continuing" or q_next.max() - q_next[a_next] > 0.1:
            break
    else:
        pytest.fail("no seed chose a non-greedy next action")
    expected = REWARD + bootstrap(q_next[a_next], ending) - q_s[a]
    assert close(info.delta, expected)
    if ending == "continuing":
        assert not close(info.delta, REWARD + GAMMA * q_next.max() - q_s[a])  # it is not Q-learning's target


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("action_space", [gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,))],
                         ids=["softmax", "gaussian"])
@pytest.mark.parametrize("ending", ENDINGS)
def test_stream_ac_target_is_the_critic_s(backend, action_space, ending):
    agent = StreamAC(observation_space=OBS_SPACE, action_space=action_space, preprocessing=PLAIN, gamma=GAMMA,
                     seed=0, backend=backend)
    set_output_bias(agent.critic, [0.8])
    s, s_next = states()
    v_s, v_next = mlp_outputs(agent.critic, s)[0], mlp_outputs(agent.critic, s_next)[0]
    assert abs(v_next) > 0.3 and abs(v_next - v_s) > 1e-3
    agent.act(s)
    info = agent.observe(REWARD, s_next, *ENDINGS[ending])
    assert close(info.delta, REWARD + bootstrap(v_next, ending) - v_s)


@pytest.mark.parametrize("cls", [StreamQ, StreamSARSA])
def test_epsilon_falls_linearly_over_the_schedule_then_stays(cls):
    """epsilon_t = max(1 + (0.01 - 1) t / (fraction T), 0.01), t = steps learned from; the first
    learn() fixes T. On classic control the fraction is 0.05: 2,000 steps give a 100-step schedule."""
    from streamrl import make_env

    agent = cls(make_env("CartPole-v1", seed=0), seed=0)
    seen = {}
    agent.learn(2000, callback=lambda agent, info, episode: seen.setdefault(agent.num_steps, agent.epsilon))
    for step, expected in ((1, 1 - 0.99 / 100), (25, 0.7525), (50, 0.505), (99, 1 - 0.99 * 0.99), (100, 0.01),
                           (2000, 0.01)):
        assert seen[step] == pytest.approx(expected, rel=1e-12), step
    agent.learn(100)  # a later learn() continues the schedule: epsilon never rises again
    assert agent.epsilon == 0.01
    fixed = cls(make_env("CartPole-v1"), seed=0, exploration_steps=400, epsilon_start=0.5, epsilon_end=0.1)
    fixed.learn(100)  # exploration_steps fixes the schedule's length whatever the budget
    assert fixed.epsilon == pytest.approx(0.5 + (0.1 - 0.5) * 100 / 400, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ending", ENDINGS)
def test_intentional_ac_bootstraps_through_a_truncation(backend, ending):
    """Without the time feature (the Intentional-AC release's convention, bootstrap_truncated),
    a time-limit truncation is not a terminal: only a termination stops the bootstrap."""
    from streamrl import IntentionalAC

    agent = IntentionalAC(observation_space=OBS_SPACE, action_space=gym.spaces.Box(-1.0, 1.0, (2,)),
                          preprocessing=PLAIN, gamma=GAMMA, seed=0, backend=backend)
    assert agent.bootstrap_truncated and agent.preprocessing.time_limit is None
    set_output_bias(agent.critic, [0.8])
    s, s_next = states()
    v_s, v_next = mlp_outputs(agent.critic, s)[0], mlp_outputs(agent.critic, s_next)[0]
    agent.act(s)
    info = agent.observe(REWARD, s_next, *ENDINGS[ending])
    bootstrap = 0.0 if ending == "terminated" else GAMMA * v_next
    assert close(info.delta, REWARD + bootstrap - v_s)
    assert agent._state is None if ending != "continuing" else agent._state is not None  # the episode ended


@pytest.mark.parametrize("reset, expected", [("episode_end", 2.0), ("termination", GAMMA * 1.0 + 2.0)])
def test_the_reward_trace_restarts_at_an_episode_end_or_only_at_a_termination(reset, expected):
    """Reward scaling's discounted return u <- gamma (1 - end) u + r, with ``end`` the step's own:
    stream-x restarts it at every episode end; the Intentional-updates release only at a termination."""
    from streamrl.envs import PreprocessingConfig, Preprocessor

    pre = Preprocessor((3,), GAMMA, PreprocessingConfig(normalize_observation=False, time_limit=None,
                                                        reward_trace_reset=reset))
    x = np.zeros(3)
    pre.reset(x)
    pre.step(x, 1.0, False, False)
    pre.step(x, 2.0, False, True)  # a truncation
    assert pre.reward_scaler.trace == pytest.approx(expected)
    pre.step(x, 3.0, True, False)  # a termination restarts it either way
    assert pre.reward_scaler.trace == pytest.approx(3.0)
