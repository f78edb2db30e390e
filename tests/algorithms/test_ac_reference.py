"""Stream AC(lambda) with its whole MuJoCo pipeline, step for step against a second implementation
written here from the method's description (docs/method.md) alone, in the shape of the authors' code: Gymnasium wrappers for the
pipeline, torch autograd for the gradients, ObGD as a loop over parameter tensors.

Both start from the same weights and draw the same standard-normal noise (the reference from a
copy of streamrl's generator). Both envs take streamrl's clipped action, once it is checked
against the reference's, so the raw trajectories are identical: any difference in delta or in
the weights is a difference in the method, not chaos in the simulator. The one-update tests check
each formula; this checks that they compose over thousands of steps, episode ends and time-limit
truncations. (StreamAC is built with its defaults, so this also pins them to the constants here.)
"""

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from streamrl import StreamAC
from streamrl.envs import make_env

GAMMA, LAMBDA, TAU = 0.99, 0.8, 0.01
ENV_ID, TIME_LIMIT, STEPS = "Walker2d-v5", 50, 2000  # a short limit so that episodes also end by truncation


class Welford:
    """Running mean and sample variance in float64; the variance is 1 until two samples exist."""

    def __init__(self):
        self.n, self.mean, self.p = 0, 0.0, 0.0

    def update(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.n += 1
        previous = self.mean
        self.mean = previous + (x - previous) / self.n
        self.p = self.p + (x - previous) * (x - self.mean)

    def scale(self):
        return np.sqrt((1.0 if self.n < 2 else self.p / (self.n - 1)) + 1e-8)


class ScaleReward(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.u, self.stats = 0.0, Welford()

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.u = GAMMA * (1.0 - (terminated or truncated)) * self.u + reward
        self.stats.update(self.u)
        return obs, reward / self.stats.scale(), terminated, truncated, info


class NormalizeObservation(gym.ObservationWrapper):
    def __init__(self, env):
        super().__init__(env)
        self.stats = Welford()

    def observation(self, obs):
        self.stats.update(obs)
        return (obs - self.stats.mean) / self.stats.scale()


class AddTime(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        (n,) = env.observation_space.shape
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n + 1,))

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.k = 0
        return np.append(obs, -0.5), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.k += 1
        return np.append(obs, -0.5 + self.k / TIME_LIMIT), reward, terminated, truncated, info


def forward(layers, x):
    for layer in layers[:-1]:
        x = F.leaky_relu(F.layer_norm(layer(x), (layer.out_features,)), 0.01)
    return layers[-1](x)


class ObGD:
    """z <- gamma lambda z + grad f; M = alpha kappa max(|delta|, 1) ||z||_1; alpha' = alpha / M if
    M > 1; w <- w + alpha' delta z; z <- 0 after the update at an episode end (alpha = 1)."""

    def __init__(self, params, kappa):
        self.params, self.kappa = params, kappa
        self.traces = [torch.zeros_like(p) for p in params]

    def step(self, f, delta, reset):
        for z, g in zip(self.traces, torch.autograd.grad(f, self.params)):
            z.mul_(GAMMA * LAMBDA).add_(g)
        bound = self.kappa * max(abs(delta), 1.0) * sum(float(z.abs().sum()) for z in self.traces)
        step_size = 1.0 / bound if bound > 1.0 else 1.0
        with torch.no_grad():
            for p, z in zip(self.params, self.traces):
                p.add_(step_size * delta * z)
                if reset:
                    z.zero_()


def copy_of(learner, sizes):
    """torch layers holding the learner's current weights (sparse init is tested on its own)."""
    layers = [torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    params = [p for layer in layers for p in (layer.weight, layer.bias)]
    with torch.no_grad():
        for p, w in zip(params, learner.parameters(), strict=True):
            assert p.shape == w.shape
            p.copy_(torch.as_tensor(w))
    return layers, params


@pytest.mark.slow  # ~15 s of CPU: scheduled first, with the learning tests
def test_stream_ac_matches_an_independent_implementation_on_walker2d():
    env = make_env(ENV_ID, max_episode_steps=TIME_LIMIT)
    agent = StreamAC(env, seed=0)
    reference_env = gym.wrappers.ClipAction(gym.wrappers.RecordEpisodeStatistics(  # (the pipeline's shape;
        gym.make(ENV_ID, max_episode_steps=TIME_LIMIT)))  # both envs get the action checked against a clip below)
    reference_env = AddTime(NormalizeObservation(ScaleReward(reference_env)))
    n_in, n_act = reference_env.observation_space.shape[0], reference_env.action_space.shape[0]
    actor, actor_params = copy_of(agent.actor, [n_in, 128, 128, 2 * n_act])
    critic, critic_params = copy_of(agent.critic, [n_in, 128, 128, 1])
    initial = [p.detach().clone() for p in actor_params + critic_params]
    actor_opt, critic_opt = ObGD(actor_params, kappa=3.0), ObGD(critic_params, kappa=2.0)
    noise_rng = copy.deepcopy(agent.rng)  # the actor's sampling is its only use of the generator

    # obs: raw observation (streamrl's side); s: the reference's processed state, x: as a tensor
    obs, _ = env.reset(seed=0)
    s, _ = reference_env.reset(seed=0)
    ends = {"terminated": 0, "truncated": 0}
    for _ in range(STEPS):
        env_action = agent.act(obs)
        x = torch.as_tensor(s, dtype=torch.float32)
        out = forward(actor, x)
        policy = torch.distributions.Normal(out[:n_act], F.softplus(out[n_act:]))
        noise = torch.as_tensor(noise_rng.standard_normal(n_act), dtype=torch.float32)
        action = (policy.mean + policy.stddev * noise).detach()  # the actor learns from it unclipped
        np.testing.assert_allclose(agent.action, action.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(env_action, np.clip(action.numpy(), -1.0, 1.0), rtol=1e-4, atol=1e-5)

        next_obs, reward, terminated, truncated, _ = env.step(env_action)
        s_next, r, ref_terminated, ref_truncated, _ = reference_env.step(env_action)
        assert (ref_terminated, ref_truncated) == (terminated, truncated)
        info = agent.observe(float(reward), next_obs, terminated, truncated)

        done = terminated or truncated  # a truncation is a terminal of the time-augmented state
        v = forward(critic, x)[0]
        with torch.no_grad():
            v_next = forward(critic, torch.as_tensor(s_next, dtype=torch.float32))[0]
        delta = float(r + GAMMA * (1.0 - done) * v_next - v.detach())
        assert info.delta == pytest.approx(delta, rel=1e-4, abs=1e-5)
        critic_opt.step(v, delta, reset=done)
        actor_opt.step(policy.log_prob(action).sum() + TAU * np.sign(delta) * policy.entropy().sum(), delta,
                       reset=done)
        if done:
            ends["terminated" if terminated else "truncated"] += 1
            (obs, _), (s, _) = env.reset(), reference_env.reset()
        else:
            obs, s = next_obs, s_next

    assert ends["terminated"] > 5 and ends["truncated"] > 5  # both kinds of episode end were crossed
    # what was learned, weight by weight, within 1e-3 of each tensor's largest change (seen: at most
    # 2e-5, from float32 sums taken in another order); a wrong update would differ at order one
    learned = agent.actor.parameters() + agent.critic.parameters()
    for p, w, p0 in zip(actor_params + critic_params, learned, initial, strict=True):
        change, reference_change = w - p0.numpy(), (p.detach() - p0).numpy()
        assert np.abs(reference_change).max() > 1e-3  # every tensor learned something
        np.testing.assert_allclose(change, reference_change, rtol=0, atol=1e-3 * np.abs(reference_change).max())
