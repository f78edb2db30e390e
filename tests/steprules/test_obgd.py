"""ObGD and AdaptiveObGD against numbers worked out by hand, through their torch optimizers (the
same step-rule code the agents run, here on float64 parameters, so the hand numbers hold to 1e-12).

Setup for every case: parameters w = [0.5, -1.0], f(w) = w . x, so grad f = x;
lr = 1, gamma * lambda = 0.99 * 0.8 = 0.792, kappa = 2.
"""

import copy
import math

import pytest
import torch

from streamrl.steprules.torch_optim import AdaptiveObGD, ObGD


def make(cls, **kw):
    w = torch.nn.Parameter(torch.tensor([0.5, -1.0], dtype=torch.float64))
    return w, cls([w], lr=1.0, gamma=0.99, lamda=0.8, kappa=2.0, **kw)


def step(w, opt, x, delta, reset=False):
    opt.zero_grad()
    (-(w * torch.tensor(x, dtype=torch.float64)).sum()).backward()  # backward on -f
    opt.step(delta, reset=reset)


def trace(opt, index=0):
    return opt.traces()[index].tolist()


def test_obgd_bound_inactive():
    w, opt = make(ObGD)
    step(w, opt, [0.1, 0.2], delta=0.5)
    # z = [0.1, 0.2]; M = 1 * 2 * max(0.5, 1) * 0.3 = 0.6 <= 1, so a' = 1; w += 1 * 0.5 * z
    assert w.tolist() == pytest.approx([0.55, -0.9], abs=1e-12)
    assert trace(opt) == pytest.approx([0.1, 0.2], abs=1e-12)
    assert opt.last_step_size == 1.0 and opt.last_bound_active is False


def test_obgd_bound_active_then_reset():
    w, opt = make(ObGD)
    step(w, opt, [0.1, 0.2], delta=0.5)
    step(w, opt, [1.0, 2.0], delta=-3.0, reset=True)
    # z = 0.792 * [0.1, 0.2] + [1, 2] = [1.0792, 2.1584], |z|_1 = 3.2376
    # M = 1 * 2 * 3 * 3.2376 = 19.4256 > 1, so a' = 1 / 19.4256
    # w += a' * (-3) * z = [0.55 - 1/6, -0.9 - 1/3]
    assert opt.last_bound_active is True
    assert opt.last_step_size == pytest.approx(1 / 19.4256, rel=1e-12)
    assert w.tolist() == pytest.approx([0.55 - 1 / 6, -0.9 - 1 / 3], abs=1e-12)
    assert trace(opt) == [0.0, 0.0]  # cleared after the update, which used it


def test_obgd_without_reset_keeps_trace():
    w, opt = make(ObGD)
    step(w, opt, [0.1, 0.2], delta=0.5)
    step(w, opt, [1.0, 2.0], delta=-3.0)
    assert trace(opt) == pytest.approx([1.0792, 2.1584], abs=1e-12)


def test_adaptive_obgd_first_two_steps():
    w, opt = make(AdaptiveObGD, beta2=0.999, eps=1e-8)
    step(w, opt, [0.1, 0.2], delta=0.5)
    # t = 1: z = [0.1, 0.2]; v = 0.001 * (0.5 z)^2 = [2.5e-6, 1e-5]; v_hat = v / 0.001 = [0.0025, 0.01]
    # z_hat = z / sqrt(v_hat + 1e-8) = [0.1/sqrt(0.00250001), 0.2/sqrt(0.01000001)] ~ [2, 2]
    zhat1 = [0.1 / math.sqrt(0.0025 + 1e-8), 0.2 / math.sqrt(0.01 + 1e-8)]
    m1 = 2 * 1 * sum(zhat1)  # ~ 8 > 1: a' = 1/8
    assert opt.last_step_size == pytest.approx(1 / m1, rel=1e-12) and opt.last_bound_active
    w1 = [0.5 + 0.5 * zhat1[0] / m1, -1.0 + 0.5 * zhat1[1] / m1]
    assert w1 == pytest.approx([0.625, -0.875], abs=1e-6)
    assert w.tolist() == pytest.approx(w1, abs=1e-12)

    step(w, opt, [1.0, 2.0], delta=-3.0)
    # t = 2: z = [1.0792, 2.1584]; v = 0.999 v + 0.001 (-3 z)^2; v_hat = v / (1 - 0.999^2)
    v = [0.999 * 2.5e-6 + 0.001 * 3.2376**2, 0.999 * 1e-5 + 0.001 * 6.4752**2]
    v_hat = [vi / (1 - 0.999**2) for vi in v]
    zhat2 = [1.0792 / math.sqrt(v_hat[0] + 1e-8), 2.1584 / math.sqrt(v_hat[1] + 1e-8)]
    m2 = 2 * 3 * sum(zhat2)
    assert opt.last_step_size == pytest.approx(1 / m2, rel=1e-12)
    expected = [w1[0] - 3 * zhat2[0] / m2, w1[1] - 3 * zhat2[1] / m2]
    assert w.tolist() == pytest.approx(expected, abs=1e-12)
    assert opt.rule.v.tolist() == pytest.approx(v, rel=1e-12)
    assert opt.rule.t == 2


def test_obgd_rejects_several_groups():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError, match="single parameter group"):
        ObGD([{"params": [a]}, {"params": [b]}])


def test_bound_off_is_plain_sgd_on_the_traces():
    """The ablation: the same two steps as above with the bound off take the full step lr delta z."""
    w, opt = make(ObGD, overshoot_bound=False)
    step(w, opt, [0.1, 0.2], delta=0.5)
    step(w, opt, [1.0, 2.0], delta=-3.0)
    # step 1: w = [0.5, -1] + 1 * 0.5 * [0.1, 0.2] = [0.55, -0.9]
    # step 2: z = [1.0792, 2.1584]; w = [0.55, -0.9] + 1 * (-3) * z = [-2.6876, -7.3752]
    # (the bounded optimizer took a' = 1 / 19.4256 here)
    assert w.tolist() == pytest.approx([-2.6876, -7.3752], abs=1e-12)
    assert opt.last_step_size == 1.0 and opt.last_bound_active is False
    assert trace(opt) == pytest.approx([1.0792, 2.1584], abs=1e-12)


def test_bound_off_keeps_the_learning_rate_as_given():
    w = torch.nn.Parameter(torch.tensor([0.5, -1.0], dtype=torch.float64))
    opt = ObGD([w], lr=0.1, gamma=0.5, lamda=0.5, kappa=2.0, overshoot_bound=False)
    step(w, opt, [3.0, 4.0], delta=2.0)
    # z = [3, 4]; w += 0.1 * 2 * z (bounded: M = 0.1 * 2 * 2 * 7 = 2.8 would cut the step to 0.1 / 2.8)
    assert w.tolist() == pytest.approx([1.1, -0.2], abs=1e-12) and opt.last_step_size == 0.1


def test_adaptive_with_bound_off_takes_the_scaled_trace_step():
    w, opt = make(AdaptiveObGD, overshoot_bound=False)
    step(w, opt, [0.1, 0.2], delta=0.5)
    # z_hat as in test_adaptive_obgd_first_two_steps (~[2, 2]); no division by M = 8: w += 1 * 0.5 * z_hat
    zhat1 = [0.1 / math.sqrt(0.0025 + 1e-8), 0.2 / math.sqrt(0.01 + 1e-8)]
    assert w.tolist() == pytest.approx([0.5 + 0.5 * zhat1[0], -1.0 + 0.5 * zhat1[1]], abs=1e-12)
    assert w.tolist() == pytest.approx([1.5, 0.0], abs=1e-5)
    assert opt.last_step_size == 1.0 and opt.last_bound_active is False


def test_a_parameter_without_gradient_has_a_decaying_trace():
    w1 = torch.nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    w2 = torch.nn.Parameter(torch.tensor([-1.0], dtype=torch.float64))
    opt = ObGD([w1, w2], lr=1.0, gamma=0.99, lamda=0.8, kappa=2.0)
    opt.zero_grad()
    (-(w1 * 0.1 + w2 * 0.2).sum()).backward()
    opt.step(0.5)  # z = [0.1], [0.2]; M = 0.6: a' = 1; w = [0.55], [-0.9]
    opt.zero_grad()
    (-(w1 * 1.0).sum()).backward()  # f does not use w2 now: its gradient is None, i.e. zero
    assert w2.grad is None
    opt.step(-3.0)
    # z = [0.792 * 0.1 + 1], [0.792 * 0.2] = [1.0792], [0.1584]; |z|_1 = 1.2376; M = 2 * 3 * 1.2376 = 7.4256
    assert opt.last_step_size == pytest.approx(1 / 7.4256, rel=1e-12)
    assert w1.item() == pytest.approx(0.55 - 3 * 1.0792 / 7.4256, abs=1e-12)
    assert w2.item() == pytest.approx(-0.9 - 3 * 0.1584 / 7.4256, abs=1e-12)
    assert trace(opt, 1) == pytest.approx([0.1584], abs=1e-12)


@pytest.mark.parametrize("cls", [ObGD, AdaptiveObGD])
@pytest.mark.parametrize("into", ["a new optimizer", "the same optimizer, rolled back"])
def test_loaded_state_continues_like_an_uninterrupted_run(cls, into):
    w, opt = make(cls)
    step(w, opt, [0.1, 0.2], delta=0.5)
    saved_w, saved_state = w.detach().clone(), copy.deepcopy(opt.state_dict())  # the optimizer updates in place
    step(w, opt, [1.0, 2.0], delta=-3.0)
    step(w, opt, [0.3, -0.4], delta=0.7)
    expected_w, expected_trace = w.tolist(), trace(opt)
    # torch's load_state_dict replaces the state tensors the optimizer updates in place: an
    # optimizer that has updated already must take the loaded numbers, not keep its own
    w2, opt2 = make(cls) if into == "a new optimizer" else (w, opt)
    with torch.no_grad():
        w2.copy_(saved_w)
    opt2.load_state_dict(saved_state)
    step(w2, opt2, [1.0, 2.0], delta=-3.0)
    step(w2, opt2, [0.3, -0.4], delta=0.7)
    assert w2.tolist() == expected_w and trace(opt2) == expected_trace


@pytest.mark.parametrize("cls", [ObGD, AdaptiveObGD])
def test_a_deep_copy_continues_like_the_original_and_apart_from_it(cls):
    w, opt = make(cls, overshoot_bound=False)
    step(w, opt, [0.1, 0.2], delta=0.5)
    w_copy, opt_copy = copy.deepcopy((w, opt))  # (one memo: the copy's optimizer moves the copy's w)
    assert opt_copy.param_groups[0]["params"][0] is w_copy and not opt_copy.rule.overshoot_bound
    for params, optimizer in ((w, opt), (w_copy, opt_copy)):
        step(params, optimizer, [1.0, 2.0], delta=-3.0)
    assert w_copy.tolist() == w.tolist() and trace(opt_copy) == trace(opt)
    assert opt_copy.last_step_size == opt.last_step_size
    step(w_copy, opt_copy, [0.3, -0.4], delta=0.7)  # the copy's traces are its own
    assert trace(opt_copy) != trace(opt) and w_copy.tolist() != w.tolist()


def test_state_of_another_shape_or_rule_is_refused():
    w, opt = make(ObGD)
    step(w, opt, [0.1, 0.2], delta=0.5)
    bigger = ObGD([torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))])
    with pytest.raises(ValueError, match=r"saved z has shape \(3,\), this network needs \(2,\)"):
        opt.load_state_dict(bigger.state_dict())
    with pytest.raises(ValueError, match="the state is of step rule 'adaptive', not 'obgd'"):
        opt.load_state_dict(make(AdaptiveObGD)[1].state_dict())
    assert trace(opt) == pytest.approx([0.1, 0.2], abs=1e-12)  # nothing was applied


def test_frozen_parameters_are_never_moved():
    frozen = torch.nn.Parameter(torch.tensor([2.0], dtype=torch.float64), requires_grad=False)
    w = torch.nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    opt = ObGD([frozen, w], lr=1.0, gamma=0.99, lamda=0.8, kappa=2.0)
    opt.zero_grad()
    (-(w * 0.1 + frozen).sum()).backward()
    opt.step(float("nan"))  # a diverging delta must not reach a frozen parameter
    assert frozen.item() == 2.0 and math.isnan(w.item())
    assert len(opt.traces()) == 1  # (no trace for it)


def test_mixed_dtypes_are_refused_in_one_line():
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(2, dtype=torch.float32))
    with pytest.raises(ValueError, match=r"several dtypes \(torch.float32, torch.float64\); one flat vector holds "
                                         r"them all: convert the module to one"):
        ObGD([a, b])
