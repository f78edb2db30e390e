"""Intentional updates against numbers worked out by hand, through the torch optimizer (the same
step-rule code the agents run; float64 parameters, so the hand numbers hold to 1e-12).

Setup: parameters w = [0.5, -1.0], f(w) = w . x, so grad f = x; gamma lambda = 0.99 * 0.8 = 0.792,
eta = 0.5, beta2 = 0.999, eps = 1e-8, C = 20, beta_c = 0.9998.
"""

import math

import numpy as np
import pytest
import torch

from streamrl.steprules.torch_optim import Intentional

EPS, GL = 1e-8, 0.99 * 0.8


def make(**options):
    w = torch.nn.Parameter(torch.tensor([0.5, -1.0], dtype=torch.float64))
    return w, Intentional([w], gamma=0.99, lamda=0.8, **options)


def step(w, opt, x, delta, reset=False):
    opt.zero_grad()
    (-(w * torch.tensor(x, dtype=torch.float64)).sum()).backward()  # backward on -f
    opt.step(delta, reset=reset)


def test_first_step_by_hand():
    w, opt = make()
    step(w, opt, [0.1, 0.2], delta=0.5)
    # t = 1: nu = 0.001 g^2, so nu / (1 - 0.999) = g^2 and d = |g| + eps
    d = [0.1 + EPS, 0.2 + EPS]
    n = 0.01 / d[0] + 0.04 / d[1]  # |g|^2 in the metric, ~0.3
    assert opt.rule.nu.tolist() == pytest.approx([0.001 * 0.01, 0.001 * 0.04], rel=1e-12)
    # z = g; sigma = (1 - 0.792) n, bias-corrected by 1 - 0.792: sigma_hat = n; u = sqrt(n * n) = n
    assert opt.rule.sigma == pytest.approx((1 - GL) * n, rel=1e-12)
    assert opt.last_step_size == pytest.approx(0.5 / n, rel=1e-12)
    # the clip average starts at 1: m_c = 0.9998 + 0.0002 * 0.25; cap = 20 sqrt(m_c / 0.0002), far above 0.5
    assert opt.rule.cap == pytest.approx(20 * math.sqrt((0.9998 + 0.0002 * 0.25) / 0.0002), rel=1e-12)
    assert opt.last_bound_active is False
    # w += alpha * 0.5 * z / d
    assert w.tolist() == pytest.approx([0.5 + 0.5 / n * 0.5 * 0.1 / d[0], -1.0 + 0.5 / n * 0.5 * 0.2 / d[1]],
                                       rel=1e-12)
    # the output at x moved by eta delta = 0.25, exactly (lambda = 0 in effect at the first step)
    assert float((w.detach() * torch.tensor([0.1, 0.2], dtype=torch.float64)).sum()) == pytest.approx(
        0.5 * 0.1 - 1.0 * 0.2 + 0.25, rel=1e-12)


def test_the_first_cap_is_twenty_times_sqrt_4999_plus_delta_squared():
    for delta in (0.0, 3.0):
        w, opt = make()
        step(w, opt, [0.1, 0.2], delta=delta)
        # (0.9998 + 0.0002 delta^2) / 0.0002 = 4999 + delta^2: no clipping to speak of at first
        assert opt.rule.cap == pytest.approx(20 * math.sqrt(4999 + delta**2), rel=1e-12)
    w, opt = make()
    step(w, opt, [0.1, 0.2], delta=0.0)
    assert opt.rule.cap == pytest.approx(1414.07, abs=0.01)


def test_second_step_by_hand():
    w, opt = make()
    step(w, opt, [0.1, 0.2], delta=0.5)
    w1, sigma1 = np.array(w.tolist()), opt.rule.sigma
    step(w, opt, [1.0, 2.0], delta=-3.0)
    nu = [0.999 * 0.001 * 0.01 + 0.001 * 1.0, 0.999 * 0.001 * 0.04 + 0.001 * 4.0]
    d = [math.sqrt(v / (1 - 0.999**2)) + EPS for v in nu]
    g, z = [1.0, 2.0], [GL * 0.1 + 1.0, GL * 0.2 + 2.0]
    n = sum(gi * gi / di for gi, di in zip(g, d))
    q = sum(zi * zi / di for zi, di in zip(z, d))
    sigma = sigma1 + (1 - GL) * (n - sigma1)
    sigma_hat = sigma / (1 - GL**2)
    alpha = 0.5 / math.sqrt(sigma_hat * q)
    assert opt.rule.sigma == pytest.approx(sigma, rel=1e-12)
    assert opt.last_step_size == pytest.approx(alpha, rel=1e-12)
    np.testing.assert_allclose(w.tolist(), w1 + alpha * -3.0 * np.array(z) / np.array(d), rtol=1e-12)
    assert opt.traces()[0].tolist() == pytest.approx(z, rel=1e-12)
    assert opt.rule.cap == pytest.approx(20 * math.sqrt((0.9998 * (0.9998 + 0.0002 * 0.25) + 0.0002 * 9.0)
                                                        / (1 - 0.9998**2)), rel=1e-12)


def test_a_large_delta_after_small_ones_is_clipped():
    """The average includes the current delta^2 (as released), so a delta is clipped only once
    the average has forgotten its start: cap / |delta| >= C sqrt((1 - beta_c) / (1 - beta_c^t))."""
    w, opt = make(clip=1.0, clip_beta=0.9)  # a short average, so 100 steps make the cap small
    for _ in range(100):
        step(w, opt, [0.1, 0.2], delta=0.01)
    before = np.array(w.tolist())
    step(w, opt, [0.1, 0.2], delta=100.0)
    m = opt.rule.clip_average
    assert m == pytest.approx(0.9**101 + sum(0.1 * 0.9**k * 1e-4 for k in range(1, 101)) + 0.1 * 1e4, rel=1e-9)
    cap = 1.0 * math.sqrt(m / (1 - 0.9**101))
    assert opt.rule.cap == pytest.approx(cap, rel=1e-12) and cap < 100 and opt.last_bound_active
    direction = np.array(opt.rule.direction)
    np.testing.assert_allclose(np.array(w.tolist()) - before, opt.last_step_size * cap * direction, rtol=1e-12)


def test_policy_mode_divides_by_the_running_mean_magnitude():
    w, opt = make(eta=0.05, normalize=True)
    step(w, opt, [0.1, 0.2], delta=-4.0)
    # m_a = 0.0002 * 4; A = m_a / (1 - 0.9998) = 4: the signal is -4 / 4 = -1
    assert opt.rule.delta_average == pytest.approx(0.0002 * 4.0, rel=1e-12)
    f_change = float((w.detach() * torch.tensor([0.1, 0.2], dtype=torch.float64)).sum()) - (0.05 - 0.2)
    assert f_change == pytest.approx(0.05 * -1.0, rel=1e-12)  # eta times the normalized signal
    step(w, opt, [0.1, 0.2], delta=2.0)
    m_a = 0.9998 * 0.0008 + 0.0002 * 2.0
    assert opt.rule.delta_average == pytest.approx(m_a, rel=1e-12)


def test_the_trace_is_cleared_after_the_step_that_used_it():
    w, opt = make()
    step(w, opt, [0.1, 0.2], delta=0.5)
    w1 = np.array(w.tolist())
    step(w, opt, [1.0, 2.0], delta=-3.0, reset=True)
    z = np.array([GL * 0.1 + 1.0, GL * 0.2 + 2.0])
    assert not opt.traces()[0].any()
    moved = np.array(w.tolist()) - w1
    assert np.all(np.sign(moved) == -np.sign(z))  # the step went along z / d, then z went


def test_lambda_zero_linear_output_moves_by_eta_times_the_clipped_error():
    """The defining property: with lambda = 0 and a linear output, each update moves the output at
    the current input by exactly eta delta~ (normalized LMS in the RMSProp metric)."""
    rng = np.random.default_rng(0)
    w = torch.nn.Parameter(torch.tensor(rng.normal(size=6), dtype=torch.float64))
    opt = Intentional([w], gamma=0.99, lamda=0.0, eta=0.5)
    ratios = []
    for _ in range(300):
        x = torch.tensor(rng.normal(size=6) * rng.uniform(0.1, 10), dtype=torch.float64)
        before = float(w.detach() @ x)
        delta = float(rng.normal() * 3)
        step(w, opt, x.tolist(), delta)
        signal = max(min(delta, opt.rule.cap), -opt.rule.cap)
        ratios.append((float(w.detach() @ x) - before) / (0.5 * signal))
    np.testing.assert_allclose(ratios, 1.0, atol=1e-6)


def test_policy_mode_lambda_zero_moves_log_pi_by_about_eta_over_the_mean_magnitude():
    """A Gaussian policy with a linear mean and unit std, no entropy term, lambda = 0: log pi(A|S)
    moves by about eta delta~ / mean|delta~| (to first order: log pi is quadratic in the mean)."""
    rng = np.random.default_rng(1)
    theta = torch.nn.Parameter(torch.tensor(rng.normal(size=4) * 0.1, dtype=torch.float64))
    opt = Intentional([theta], gamma=0.99, lamda=0.0, eta=0.05, normalize=True)
    ratios = []
    for _ in range(300):
        s, a = torch.tensor(rng.normal(size=4), dtype=torch.float64), float(rng.normal())
        log_pi = lambda: torch.distributions.Normal(theta @ s, 1.0).log_prob(torch.tensor(a, dtype=torch.float64))
        before = float(log_pi().detach())
        delta = float(rng.normal())
        opt.zero_grad()
        (-log_pi()).backward()
        opt.step(delta)
        mean_magnitude = opt.rule.delta_average / (1 - 0.9998**opt.rule.delta_t)
        ratios.append((float(log_pi().detach()) - before) / (0.05 * delta / mean_magnitude))
    assert np.median(ratios) == pytest.approx(1.0, abs=0.01)
    assert np.percentile(ratios, 5) > 0.9 and np.percentile(ratios, 95) < 1.1
