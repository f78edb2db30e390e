"""Each stream-x technique switched off on its own (and all together: the classic baseline)."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from streamrl.algorithms import StreamAC, StreamAgent, StreamQ, StreamTD
from streamrl.algorithms.techniques import PRESETS, TECHNIQUES
from streamrl.envs import make_env
from tests.helpers import OBS_SPACE, PLAIN, output_grads, params

SPACES = dict(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(2))


def test_every_switch_is_saved_and_rebuilt_by_load(tmp_path):
    switches = {"overshoot_bound": False, "sparse_init": False, "layer_norm": True, "normalize_observation": False,
                "scale_reward": True, "time_info": False}
    agent = StreamQ(make_env("CartPole-v1"), seed=3, **switches)
    assert agent.techniques() == switches and set(switches) == set(TECHNIQUES)
    assert {k: agent.config()[k] for k in switches} == switches
    agent.learn(50)
    agent.save(tmp_path / "a.safetensors")
    loaded = StreamAgent.load(tmp_path / "a.safetensors")
    assert loaded.techniques() == switches and loaded.preprocessing == agent.preprocessing
    assert loaded.q.backend == "fused" and loaded.q.rule.overshoot_bound is False
    x = np.linspace(-1, 1, 4)
    np.testing.assert_array_equal(loaded.predict(x)[0], agent.predict(x)[0])


def test_auto_backend_falls_back_to_torch_only_for_what_the_fused_kernels_lack():
    assert StreamQ(seed=0, **SPACES).q.backend == "fused"
    assert StreamQ(seed=0, overshoot_bound=False, **SPACES).q.backend == "fused"  # (the step rule's switch)
    no_norm = StreamQ(seed=0, layer_norm=False, **SPACES)
    assert no_norm.q.backend == "torch" and "LayerNorm" not in repr(no_norm.q.module)
    # default init runs fused, from the same numbers as on torch
    fused, reference = (StreamQ(seed=5, sparse_init=False, backend=b, **SPACES) for b in ("auto", "torch"))
    assert fused.q.backend == "fused"
    for a, b in zip(fused.q.parameters(), reference.q.parameters()):
        np.testing.assert_array_equal(a, b)
    assert np.count_nonzero(fused.q.parameters()[1]) == 32  # biases drawn, not zero


@pytest.mark.parametrize("switches", [{"layer_norm": False}, {"overshoot_bound": False, "layer_norm": False}])
def test_fused_backend_refuses_what_it_cannot_switch_off(switches):
    with pytest.raises(ValueError, match="backend='fused' always applies layer_norm; with layer_norm=False use "
                                         "backend='torch'"):
        StreamQ(seed=0, backend="fused", **switches, **SPACES)


def test_bound_off_agent_update_is_plain_sgd_on_the_trace():
    agent = StreamTD(seed=0, preprocessing=PLAIN, overshoot_bound=False, lr=0.01, gamma=0.9, backend="torch",
                     observation_space=OBS_SPACE)
    module = agent.v.module
    rng = np.random.default_rng(0)
    s0, s1 = rng.normal(size=20), rng.normal(size=20)
    agent.reset(s0)
    before, grad = params(module), output_grads(module, s0, lambda out: out[0])
    with torch.no_grad():
        v0, v1 = (float(module(torch.tensor(s, dtype=torch.float32)[None])[0, 0]) for s in (s0, s1))
    info = agent.observe(50.0, s1, False, False)
    delta = 50.0 + 0.9 * v1 - v0
    assert info.delta == pytest.approx(delta, rel=1e-5)
    # the first trace is grad v(s0); the step is lr * delta * z with no bound (it would be active: |delta| = 50)
    assert info.step_size == 0.01 and info.bound_active is False
    for b, a, g in zip(before, params(module), grad):
        np.testing.assert_allclose(a.numpy(), (b + 0.01 * delta * g).numpy(), rtol=1e-5, atol=1e-6)
    bounded = StreamTD(seed=0, preprocessing=PLAIN, lr=0.01, gamma=0.9, backend="torch", observation_space=OBS_SPACE)
    bounded.reset(s0)
    assert bounded.observe(50.0, s1, False, False).bound_active  # the same step with the technique on


def test_preprocessing_switches_on_a_real_env():
    env = make_env("CartPole-v1", seed=0)
    obs, _ = env.reset(seed=0)
    states = {}
    for name, switches in [("stream-x", {}), ("raw", {"normalize_observation": False}),
                           ("no time", {"time_info": False}), ("classic", PRESETS["classic"])]:
        agent = StreamQ(env, seed=0, **switches)
        agent.reset(obs)
        states[name] = agent._state
    # the first observation normalized with itself is 0; the time feature starts at -0.5
    np.testing.assert_array_equal(states["stream-x"], [0, 0, 0, 0, -0.5])
    np.testing.assert_array_equal(states["raw"], [*obs.astype(np.float32), -0.5])
    np.testing.assert_array_equal(states["no time"], [0, 0, 0, 0])
    np.testing.assert_array_equal(states["classic"], obs.astype(np.float32))


def test_reward_scaling_switch():
    scaled, raw = (StreamQ(seed=0, scale_reward=s, **SPACES) for s in (None, False))
    x = np.zeros(20)
    # one return sample: its variance is taken as 1, so r / sqrt(1 + 1e-8)
    assert scaled.preprocessor.step(x, 2.5, False, False)[1] == pytest.approx(2.5 / np.sqrt(1 + 1e-8), rel=1e-15)
    assert raw.preprocessor.step(x, 2.5, False, False)[1] == 2.5 and raw.preprocessor.reward_scaler is None
    # Stream TD predicts in the cumulant's units unless asked to scale
    assert StreamTD(seed=0, observation_space=OBS_SPACE).techniques()["scale_reward"] is False
    assert StreamTD(seed=0, observation_space=OBS_SPACE, scale_reward=True).techniques()["scale_reward"] is True


def test_switch_errors():
    with pytest.raises(ValueError, match="time_info=True needs an episode time limit, and the minatar pipeline"):
        StreamQ(observation_space=gym.spaces.Box(0, 1, (10, 10, 4)), action_space=gym.spaces.Discrete(3),
                domain="minatar", time_info=True)
    with pytest.raises(ValueError, match="layer_norm must be True or False, got 'no'"):
        StreamQ(layer_norm="no", **SPACES)
    with pytest.raises(ValueError, match=r"scale_reward must be True, False or None \(the domain's default\)"):
        StreamQ(scale_reward=1, **SPACES)


def test_classic_agent_diverges_on_pendulum_and_says_so():
    """The classic baseline (every technique off, lr = 1 as stream-x) on a real env: the unbounded
    steps blow the weights up within a few steps; the run stops there naming the cause."""
    agent = StreamAC(make_env("Pendulum-v1", seed=0), seed=0, **PRESETS["classic"])
    assert agent.actor.backend == "torch" and agent.step_rule_options["lr"] == 1.0
    with pytest.raises(ValueError, match=r"non-finite reward nan at step \d+; .*the agent diverged before that "
                                         r"\(non-finite weights in critic and actor\).*with overshoot_bound=False "
                                         r"try a smaller lr"):
        agent.learn(200)


def test_classic_agent_learns_stably_with_a_small_step_on_cartpole():
    agent = StreamQ(make_env("CartPole-v1", seed=0), seed=0, lr=1e-3, **PRESETS["classic"])
    episodes = agent.learn(2000)
    assert len(episodes) > 20 and all(np.isfinite(p).all() for p in agent.q.parameters())
    assert agent.preprocessor.obs_norm is None and agent.preprocessor.reward_scaler is None
