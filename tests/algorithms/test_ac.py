"""Stream AC(lambda): one critic delta drives both networks; the actor's entropy term follows
sign(delta). Expected updates are computed with torch.distributions, independently of streamrl.
The networks start with a non-uniform policy and a critic far from zero (their output biases are
set), so the entropy gradient and the bootstrap are not zero: deleting the entropy term, flipping
its sign or dropping kappa fails these tests."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from streamrl import StreamAC
from tests.helpers import OBS_SPACE, PLAIN, assert_update, output_grads, params, set_output_bias

TAU = 0.01
ACTOR_BIAS = {3: [0.5, -0.3, 0.9], 4: [0.2, -0.4, 0.3, -0.2]}  # logits; or means then std heads


def ac_agent(action_space, seed=0):
    agent = StreamAC(observation_space=OBS_SPACE, action_space=action_space, preprocessing=PLAIN, seed=seed,
                     backend="torch")
    set_output_bias(agent.critic, [0.8])
    set_output_bias(agent.actor, ACTOR_BIAS[agent.policy.n_outputs])
    return agent


def distribution(out: torch.Tensor, action_space):
    if isinstance(action_space, gym.spaces.Discrete):
        return torch.distributions.Categorical(logits=out)
    n = out.shape[0] // 2
    return torch.distributions.Normal(out[:n], torch.nn.functional.softplus(out[n:]))


@pytest.mark.parametrize("action_space", [gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,))])
@pytest.mark.parametrize("reward", [25.0, -25.0])  # a positive and a negative delta
def test_one_update_of_both_networks(action_space, reward, observations):
    agent = ac_agent(action_space)
    env_action = agent.act(observations[0])
    action = torch.as_tensor(agent.action)
    s0 = agent._state
    actor, critic = agent.actor.module, agent.critic.module
    v0 = critic(torch.as_tensor(s0, dtype=torch.float32)[None])[0, 0].item()
    v1 = critic(torch.as_tensor(observations[1], dtype=torch.float32)[None])[0, 0].item()
    expected_delta = reward + 0.99 * v1 - v0
    sign = float(np.sign(expected_delta))

    def actor_objective(out):
        dist = distribution(out, action_space)
        log_prob = dist.log_prob(action).sum()
        return log_prob + TAU * sign * dist.entropy().sum()

    g_actor = output_grads(actor, s0, actor_objective)
    g_critic = output_grads(critic, s0, lambda out: out[0])
    actor_before, critic_before = params(actor), params(critic)
    info = agent.observe(reward, observations[1], False, False)

    assert info.delta == pytest.approx(expected_delta, rel=1e-5)
    # ObGD's bound with kappa = 2 for the critic and 3 for the actor, on the first trace z = grad f
    for step, kappa, grads in ((info.step_size, 2.0, g_critic), (info.actor_step_size, 3.0, g_actor)):
        bound = kappa * max(abs(expected_delta), 1.0) * sum(float(g.abs().sum()) for g in grads)
        assert step == pytest.approx(1.0 / bound if bound > 1 else 1.0, rel=1e-4)
    assert np.sign(info.delta) == sign
    assert_update(critic_before, params(critic), info.step_size * info.delta, g_critic)
    assert_update(actor_before, params(actor), info.actor_step_size * info.delta, g_actor)
    if isinstance(action_space, gym.spaces.Box):
        assert np.all(np.abs(env_action) <= 1.0)  # the env gets a clipped action, learning the raw sample


def test_entropy_term_changes_sign_with_delta(observations):
    """Same state, same action: the actor's update differs between delta > 0 and delta < 0 only
    through the entropy term's sign."""
    updates = {}
    for reward in (25.0, -25.0):
        agent = ac_agent(gym.spaces.Discrete(3))
        agent.act(observations[0])
        before = params(agent.actor.module)
        info = agent.observe(reward, observations[1], False, False)
        updates[reward] = [(a - b) / (info.actor_step_size * info.delta) for a, b in
                           zip(params(agent.actor.module), before)]  # = the trace used
    agent = ac_agent(gym.spaces.Discrete(3))
    agent.act(observations[0])
    grad_entropy = output_grads(agent.actor.module, agent._state,
                                lambda out: torch.distributions.Categorical(logits=out).entropy())
    largest = max(float(h.abs().max()) for h in grad_entropy)
    assert largest > 0.01  # a non-uniform policy: the term is not zero
    # (each side is a weight change divided by step * delta: float32 rounding of the weights, ~1e-6 here)
    for up, down, h in zip(updates[25.0], updates[-25.0], grad_entropy):
        torch.testing.assert_close(up - down, 2 * TAU * h, rtol=1e-3, atol=1e-2 * 2 * TAU * largest)


def test_traces_cleared_at_episode_end(observations):
    agent = StreamAC(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(3), preprocessing=PLAIN, seed=0,
                     backend="torch")
    agent.act(observations[0])
    agent.observe(1.0, observations[1], False, True)  # truncation ends the episode too
    assert all((z == 0).all() for z in agent.actor.traces() + agent.critic.traces())
