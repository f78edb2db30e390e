"""The actor's objective f = log pi(a|s) + tau sign(delta) H: hand numbers, and torch.distributions
as an independent implementation."""

import math

import numpy as np
import pytest
import torch

from streamrl.algorithms.policies import GaussianPolicy, SoftmaxPolicy


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
        float(normal.log_prob(torch.tensor(action)).sum().detach()))


def test_softmax_sampling_frequencies():
    policy, rng = SoftmaxPolicy(2), np.random.default_rng(0)
    samples = [policy.sample(np.array([0.0, math.log(3.0)]), rng) for _ in range(20000)]
    assert np.mean(samples) == pytest.approx(0.75, abs=0.015)


def test_compiled_sum_is_numpys_to_the_last_bit():
    from streamrl.algorithms.policies import _sum

    rng = np.random.default_rng(1)
    for n in [*range(1, 140), 255, 256, 257, 1000]:  # below 8, NumPy's 8-way blocks, and its pairwise halves
        for _ in range(5):
            a = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4)
            assert _sum(a) == a.sum(), n
    for n in (3, 8, 200):  # -0.0 everywhere: NumPy's sum starts from 0.0
        assert str(_sum(np.full(n, -0.0))) == str(np.full(n, -0.0).sum()) == "0.0"


def test_compiled_policies_give_the_numpy_formulas_numbers():
    """The policies are compiled for speed; these are their formulas as plain NumPy expressions.
    Here (AVX2) both call libm's exp and log and agree to the last bit; NumPy has its own exp and
    log for AVX-512, so the comparison allows a few units in the last place."""
    def same(actual, expected):
        np.testing.assert_allclose(actual, expected, rtol=1e-13, atol=1e-15)

    rng = np.random.default_rng(2)
    for n in (2, 3, 8, 9, 18, 130):
        policy = SoftmaxPolicy(n)
        for scale in (0.1, 10.0, 100.0):
            z = rng.standard_normal(n) * scale
            action, coef = int(rng.integers(n)), float(rng.choice([0.01, -0.01]))
            e = np.exp(z - z.max())
            p = e / e.sum()
            log_p = np.log(p)
            grad = -p
            grad[action] += 1.0
            expected = grad + coef * (-p * (log_p + -(p * log_p).sum()))
            same(policy.objective_grad(z, action, coef), expected)
            sampled = policy.sample(z, np.random.default_rng(7))
            u = np.random.default_rng(7).random()
            assert sampled == min(np.searchsorted(np.cumsum(p), u, side="right"), n - 1)
    for dim in (1, 6, 17):
        policy = GaussianPolicy(dim)
        for scale in (0.1, 3.0, 60.0):
            out, action = rng.standard_normal(2 * dim) * scale, rng.standard_normal(dim) * scale
            mean, pre_std = out[:dim], out[dim:]
            std = np.logaddexp(0.0, pre_std)
            diff = action - mean
            with np.errstate(over="ignore"):  # a std of ~1e-26 at scale 60: inf, in both
                d_std = diff**2 / std**3 - 1.0 / std + 0.01 / std
            expected = np.concatenate([diff / std**2, d_std * (1.0 / (1.0 + np.exp(-pre_std)))])
            same(policy.objective_grad(out, action, 0.01), expected)
            noise = np.random.default_rng(7).standard_normal(dim)
            same(policy.sample(out, np.random.default_rng(7)), mean + std * noise)


def test_an_action_out_of_range_is_refused():
    policy = SoftmaxPolicy(3)
    assert policy.objective_grad(np.zeros(3), -1, 0.0).tolist() == pytest.approx([-1 / 3, -1 / 3, 2 / 3])  # as NumPy
    for action in (3, -4):
        with pytest.raises(IndexError, match=f"action {action} is out of range for 3 actions"):
            policy.objective_grad(np.zeros(3), action, 0.0)
