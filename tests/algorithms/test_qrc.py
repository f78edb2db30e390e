"""QRC(lambda) against its equations worked out by hand, on linear networks (q(s, a) = W_a . s + b_a,
so grad q(s, a) is s in row a and 1 in bias a), and on both backends."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from streamrl.algorithms.qrc import QRC
from tests.helpers import PLAIN

GAMMA, LR, SCALE, BETA = 0.9, 0.1, 0.5, 0.3
N_IN, N_ACTIONS = 3, 2


def linear(weights: np.ndarray) -> torch.nn.Linear:
    module = torch.nn.Linear(N_IN, N_ACTIONS).double()
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(weights[:, :N_IN]))
        module.bias.copy_(torch.as_tensor(weights[:, N_IN]))
    return module


def agent(lamda: float, epsilon: float = 0.0, seed: int = 0) -> tuple[QRC, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w, theta = rng.normal(size=(N_ACTIONS, N_IN + 1)), rng.normal(size=(N_ACTIONS, N_IN + 1)) * 0.1
    qrc = QRC(observation_space=gym.spaces.Box(-5, 5, (N_IN,), np.float64), action_space=gym.spaces.Discrete(N_ACTIONS),
              preprocessing=PLAIN, gamma=GAMMA, lamda=lamda, lr=LR, h_lr_scale=SCALE, beta=BETA, seed=seed,
              epsilon_start=epsilon, epsilon_end=epsilon, network={"q": linear(w), "h": linear(theta)})
    return qrc, w, theta


def features(s: np.ndarray, a: int) -> np.ndarray:
    """grad of q(s, a) (or h(s, a)) for the linear networks: (W | b) with s, 1 in row a."""
    g = np.zeros((N_ACTIONS, N_IN + 1))
    g[a, :N_IN], g[a, N_IN] = s, 1.0
    return g


def q(w: np.ndarray, s: np.ndarray) -> np.ndarray:
    return w[:, :N_IN] @ s + w[:, N_IN]


def weights(learner) -> np.ndarray:
    weight, bias = learner.parameters()
    return np.concatenate([weight, bias[:, None]], axis=1)


# states exact in float32 (the agent's states are float32), so float64 arithmetic here is the agent's
S, S_NEXT = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75])


@pytest.mark.parametrize("ending, b", [("continuing", 1.0), ("truncated", 1.0), ("terminated", 0.0)])
def test_at_lambda_zero_it_is_the_one_step_tdc_rule(ending, b):
    """With lambda = 0 the traces are the current gradients, and QRC is TDC/QC(0):
    w += alpha (delta g_q - gamma b h g'), theta += alpha_h ((delta - h) g_h - beta theta), g' the
    gradient of q(S', a*) with a* greedy: the gradient through the max target. A truncation
    bootstraps (only a termination is a terminal for QRC)."""
    qrc, w, theta = agent(lamda=0.0)
    a = qrc.act(S)
    assert not qrc.nongreedy
    h = q(theta, S)[a]
    best = int(np.argmax(q(w, S_NEXT)))
    delta = 0.7 + GAMMA * b * q(w, S_NEXT).max() - q(w, S)[a]
    info = qrc.observe(0.7, S_NEXT, ending == "terminated", ending == "truncated")
    assert info.delta == pytest.approx(delta, rel=1e-12)
    expected_w = w + LR * (delta * features(S, a) - GAMMA * b * h * features(S_NEXT, best))
    expected_theta = theta + LR * SCALE * ((delta - h) * features(S, a) - BETA * theta)
    np.testing.assert_allclose(weights(qrc.q), expected_w, rtol=1e-12)
    np.testing.assert_allclose(weights(qrc.h), expected_theta, rtol=1e-12)


def test_with_traces_two_steps_by_hand():
    """lambda = 0.8: the traces decay by gamma lambda and take the new gradient (or h) before the
    update, and the main update is delta z_w - h g_q - z_h (gamma g' - g_q)."""
    qrc, w, theta = agent(lamda=0.8)
    decay = GAMMA * 0.8
    s0, s1, s2 = S, S_NEXT, np.array([-0.375, 0.875, 0.125])
    a0 = qrc.act(s0)
    h0, g0 = q(theta, s0)[a0], features(s0, a0)
    qrc.observe(0.2, s1, False, False)
    w1, theta1 = weights(qrc.q), weights(qrc.h)
    a1 = qrc.act(s1)
    h1, g1 = q(theta1, s1)[a1], features(s1, a1)
    best = int(np.argmax(q(w1, s2)))
    delta = -0.4 + GAMMA * q(w1, s2).max() - q(w1, s1)[a1]
    info = qrc.observe(-0.4, s2, False, False)
    assert info.delta == pytest.approx(delta, rel=1e-12)
    z_w, z_h, z_theta = decay * g0 + g1, decay * h0 + h1, decay * g0 + g1  # (h and q share the features here)
    expected_w = w1 + LR * (delta * z_w - h1 * g1 - z_h * (GAMMA * features(s2, best) - g1))
    expected_theta = theta1 + LR * SCALE * (delta * z_theta - h1 * g1 - BETA * theta1)
    np.testing.assert_allclose(weights(qrc.q), expected_w, rtol=1e-12)
    np.testing.assert_allclose(weights(qrc.h), expected_theta, rtol=1e-12)
    as_parameters = np.concatenate([z_w[:, :N_IN].ravel(), z_w[:, N_IN]])  # (the weight, then the bias)
    np.testing.assert_allclose(np.concatenate([t.ravel() for t in qrc.q.traces()]), as_parameters, rtol=1e-12)
    assert qrc.h.rule.z_h == pytest.approx(z_h, rel=1e-12)


@pytest.mark.parametrize("how", ["terminated", "truncated", "non-greedy"])
def test_all_three_traces_clear_after_an_episode_end_or_a_nongreedy_action(how):
    for seed in range(50):
        qrc, _, _ = agent(lamda=0.8, epsilon=1.0 if how == "non-greedy" else 0.0, seed=seed)
        qrc.act(S)
        if how != "non-greedy" or qrc.nongreedy:
            break
    qrc.observe(1.0, S_NEXT, how == "terminated", how == "truncated")
    assert not np.concatenate([t.ravel() for t in qrc.q.traces()]).any()
    assert not np.concatenate([t.ravel() for t in qrc.h.traces()]).any() and qrc.h.rule.z_h == 0.0


def test_the_qrc_rules_are_refused_by_other_agents():
    from streamrl import StreamQ

    with pytest.raises(ValueError, match="step rule 'qrc' is QRC's own"):
        StreamQ(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2), step_rule="qrc")


@pytest.mark.parametrize("option, value, says", [("lr", 0.0, "lr must be positive"),
                                                 ("h_lr_scale", -0.1, "h_lr_scale must be 0 or more"),
                                                 ("beta", -1.0, "beta must be 0 or more")])
def test_step_sizes_and_beta_of_the_wrong_sign_are_refused(option, value, says):
    with pytest.raises(ValueError, match=says):
        QRC(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2), **{option: value})


@pytest.mark.parametrize("algorithm", ["qrc", "avg"])
def test_an_algorithm_with_a_rule_of_its_own_refuses_another(algorithm):
    """QRC(lambda)'s updates are its rule's (update_qrc), AVG's are Adam's: another rule is one line,
    at construction, not a failure at the first update; `streamrl options` offers no other."""
    from streamrl.algorithms import ALGORITHMS
    from tests.helpers import streamrl as run

    cls = ALGORITHMS[algorithm]
    space = gym.spaces.Box(-1.0, 1.0, (1,)) if algorithm == "avg" else gym.spaces.Discrete(2)
    with pytest.raises(ValueError, match=f"{cls.__name__} learns with the step rule {cls.step_rules[0]} only, not 'obgd'"):
        cls(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=space, step_rule="obgd")
    listed = run("options", algorithm)
    assert listed.returncode == 0 and f"step rule {cls.step_rules[0]}'s options\n" in listed.stdout
