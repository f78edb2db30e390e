"""A step rule is one class registered by name: the agents, saving and loading and the option
checks of the command line take it from the registry, on both backends, with no change to them."""

import gymnasium as gym
import numpy as np
import pytest

from streamrl import StreamAC, StreamAgent, StreamQ
from streamrl.steprules import STEP_RULES, PerRole, StepRule, UpdateInfo
from streamrl.steprules.base import checked_arrays
from tests.helpers import OBS_SPACE, PLAIN


class TraceSGD(StepRule):
    """Plain SGD on the trace, w <- w + lr delta z: the smallest rule there is."""

    name = "trace-sgd"
    OPTIONS = {"lr": PerRole(value=0.01, policy=0.001)}

    def __init__(self, parameters, gamma, lamda, lr=0.01):
        super().__init__(parameters, gamma, lamda)
        self.lr = lr
        self.z = np.zeros(self.n_parameters, dtype=self.dtype)

    def update(self, grad_out, delta, reset):
        self.parameters.accumulate(grad_out, self.decay, self.z)
        self.parameters.step(self.lr * delta, self.z, reset)
        return UpdateInfo(self.lr, False)

    def clear_traces(self):
        self.parameters.clear(self.z)

    def traces(self):
        self.parameters.settle()
        return self.z

    def state_dict(self):
        return {"z": self.z.copy()}

    def load_state_dict(self, state):
        self.z[:] = checked_arrays(state, {"z": self.z})["z"]


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(STEP_RULES, TraceSGD.name, TraceSGD)


@pytest.mark.parametrize("backend", ["fused", "torch"])
def test_a_new_rule_runs_in_the_agents_and_is_saved(registered, backend, tmp_path):
    agent = StreamQ(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(3), preprocessing=PLAIN, seed=0,
                    backend=backend, step_rule="trace-sgd", lr=0.05, epsilon_start=0.0, epsilon_end=0.0)  # (greedy: the
    # trace is kept, not cleared after a non-greedy action)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=20)
    agent.act(obs)
    before = [p.copy() for p in agent.q.parameters()]
    info = agent.observe(1.0, rng.normal(size=20), False, False)
    z = agent.q.traces()  # the first trace is the gradient
    for b, a, zi in zip(before, agent.q.parameters(), z):
        np.testing.assert_allclose(a, b + np.float32(0.05 * info.delta) * zi, rtol=1e-6, atol=1e-7)
    assert info.step_size == 0.05 and agent.config()["step_rule"] == "trace-sgd" and agent.config()["lr"] == 0.05
    agent.save(tmp_path / "a.safetensors")
    loaded = StreamAgent.load(tmp_path / "a.safetensors")
    assert loaded.step_rule == "trace-sgd" and loaded.q.rule.lr == 0.05
    np.testing.assert_array_equal(np.concatenate([t.ravel() for t in loaded.q.traces()]),
                                  np.concatenate([t.ravel() for t in z]))


def test_a_new_rule_s_options_per_role_and_checks(registered):
    agent = StreamAC(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(2), step_rule="trace-sgd",
                     lr_policy=0.002)
    assert (agent.critic.rule.lr, agent.actor.rule.lr) == (0.01, 0.002)
    assert StreamAC.check_options({"step_rule": "trace-sgd", "lr_policy": 0.1}) is None
    with pytest.raises(ValueError, match="unknown --set key 'kappa' for StreamQ; known keys: .*lamda, layer_norm, lr,"):
        StreamQ.check_options({"step_rule": "trace-sgd", "kappa": 3.0})  # (ObGD's, not this rule's)
    with pytest.raises(ValueError, match="unknown --set key 'lamba' for StreamQ; did you mean 'lamda'"):
        StreamQ.check_options({"lamba": 0.9})
    with pytest.raises(TypeError, match=r"StreamQ got an unexpected option 'lr_policy' \(step rule 'trace-sgd' takes "
                                        r"lr\)"):
        StreamQ(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(2), step_rule="trace-sgd",
                lr_policy=0.1)  # a Q agent has no policy network


def test_an_unknown_rule_is_named_with_those_there_are():
    with pytest.raises(ValueError, match="unknown step rule 'sgd'; choose one of obgd, adaptive"):
        StreamQ(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(2), step_rule="sgd")
