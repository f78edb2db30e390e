"""The actor's objective f = log pi(a|s) + tau sign(delta) H: hand numbers, and torch.distributions
as an independent implementation."""

import math

import numpy as np
import pytest
import torch

from streamrl.nn.policies import GaussianPolicy, SoftmaxPolicy


def test_softmax_objective_gradient_by_hand():
    policy = SoftmaxPolicy(2)
    logits = np.array([0.0, math.log(3.0)])  # p = [0.25, 0.75]
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))  # 0.5623351
    dh = [-0.25 * (math.log(0.25) + h), -0.75 * (math.log(0.75) + h)]  # [0.2059898, -0.2059898]
    assert policy.entropy(logits) == pytest.approx(h)
    assert policy.objective_grad(logits, 0, 0.0).tolist() == pytest.approx([0.75, -0.75])
    # the entropy term follows the sign of delta
    assert policy.objective_grad(logits, 0, +0.01).tolist() == pytest.approx([0.75 + 0.01 * dh[0], -0.75 + 0.01 * dh[1]])
    assert policy.objective_grad(logits, 0, -0.01).tolist() == pytest.approx([0.75 - 0.01 * dh[0], -0.75 - 0.01 * dh[1]])
    assert dh[0] == pytest.approx(0.2059898, abs=1e-7)


def test_gaussian_objective_gradient_by_hand():
    policy = GaussianPolicy(1)
    pre_std = math.log(math.e - 1)  # softplus = 1
    out = np.array([0.0, pre_std])
    assert policy.log_prob(out, np.array([0.5])) == pytest.approx(-0.125 - 0.5 * math.log(2 * math.pi))
    sig = 1 - 1 / math.e  # d softplus at pre_std
    for c in (0.01, -0.01):
        # d/dmean = (a - mu)/std^2 = 0.5; d/dstd = (a-mu)^2/std^3 - 1/std + c/std = -0.75 + c
        assert policy.objective_grad(out, np.array([0.5]), c).tolist() == pytest.approx([0.5, (-0.75 + c) * sig])


@pytest.mark.parametrize("coef", [0.01, -0.01, 0.0])
def test_policy_gradients_match_torch_distributions(coef):
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=4), requires_grad=True)
    dist = torch.distributions.Categorical(logits=logits)
    (dist.log_prob(torch.tensor(2)) + coef * dist.entropy()).backward()
    assert SoftmaxPolicy(4).objective_grad(logits.detach().numpy(), 2, coef) == pytest.approx(logits.grad.numpy())

    out = torch.tensor(rng.normal(size=6), requires_grad=True)
    action = rng.normal(size=3)
    normal = torch.distributions.Normal(out[:3], torch.nn.functional.softplus(out[3:]))
    f = normal.log_prob(torch.tensor(action)).sum() + coef * normal.entropy().sum()
    f.backward()
    policy = GaussianPolicy(3)
    assert policy.objective_grad(out.detach().numpy(), action, coef) == pytest.approx(out.grad.numpy())
    assert policy.log_prob(out.detach().numpy(), action) == pytest.approx(
        float(normal.log_prob(torch.tensor(action)).sum()))


def test_softmax_sampling_frequencies():
    policy, rng = SoftmaxPolicy(2), np.random.default_rng(0)
    samples = [policy.sample(np.array([0.0, math.log(3.0)]), rng) for _ in range(20000)]
    assert np.mean(samples) == pytest.approx(0.75, abs=0.015)
