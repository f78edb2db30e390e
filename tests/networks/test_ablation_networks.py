"""The network ablations: no layer norm, and PyTorch's default initialization instead of sparse."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from streamrl.networks import LayerNorm, NetworkSpec, build_torch_network
from streamrl.networks.init import default_uniform


def leaky(x):
    return np.where(x > 0, x, 0.01 * x)


def test_layer_norm_off_mlp_is_linear_then_leaky_relu_only():
    net = build_torch_network(NetworkSpec("mlp", (3,), 2, (4, 4)), rng=np.random.default_rng(0), layer_norm=False)
    assert [type(m) for m in net] == [nn.Linear, nn.LeakyReLU, nn.Linear, nn.LeakyReLU, nn.Linear]
    w1, b1, w2, b2, w3, b3 = [p.detach().double().numpy() for p in net.parameters()]
    x = np.array([0.3, -1.2, 2.0])
    # the pre-activations go to the LeakyReLU as they are: no mean taken out, no division
    expected = w3 @ leaky(w2 @ leaky(w1 @ x + b1) + b2) + b3
    out = net(torch.tensor(x, dtype=torch.float32)[None])[0].detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    normalized = build_torch_network(NetworkSpec("mlp", (3,), 2, (4, 4)), rng=np.random.default_rng(0))
    assert sum(isinstance(m, LayerNorm) for m in normalized) == 2  # the same spec with the technique on


def test_layer_norm_off_cnn_has_no_normalization_anywhere():
    net = build_torch_network(NetworkSpec("minatar_cnn", (4, 10, 10), 3), rng=np.random.default_rng(0),
                              layer_norm=False)
    assert not any(isinstance(m, (LayerNorm, nn.LayerNorm)) for m in net.modules())
    assert [type(m) for m in net] == [nn.Conv2d, nn.LeakyReLU, nn.Flatten, nn.Linear, nn.LeakyReLU, nn.Linear]


def test_default_init_bound_is_pytorchs():
    for shape in [(256, 400), (16, 4, 3, 3)]:
        weight = torch.empty(shape)
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
        # nn.Linear / nn.Conv2d reset_parameters: kaiming_uniform_(a=sqrt(5)); bias U(+-1/sqrt(fan_in))
        torch_bound = nn.init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3.0 / fan_in)
        assert torch_bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)
        w, b = default_uniform(shape, np.random.default_rng(0))
        assert w.shape == shape and b.shape == (shape[0],) and w.dtype == b.dtype == np.float32
        assert np.abs(w).max() <= torch_bound and np.abs(b).max() <= torch_bound


def test_default_init_statistics():
    w, b = default_uniform((256, 400), np.random.default_rng(0))
    bound = 1 / 20  # 1 / sqrt(400)
    assert np.abs(w).max() == pytest.approx(bound, rel=1e-3)  # the interval is used to its ends
    assert abs(w.mean()) < 1e-3  # standard error of the mean: 0.05 / sqrt(3 * 102400) = 9e-5
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)  # U(-b, b) has variance b^2 / 3
    assert (w == 0).mean() < 1e-4  # dense: the sparse init would zero 90%
    assert np.abs(b).max() <= bound and b.std() > bound / 3  # biases are drawn too (sparse init: zeros)
    with torch.no_grad():  # and torch's own init of the same layer has the same spread
        reference = nn.Linear(400, 256).weight.numpy()
    assert reference.var() == pytest.approx(w.var(), rel=0.03)


def test_default_init_network_draws_weight_then_bias_per_layer():
    net = build_torch_network(NetworkSpec("mlp", (5,), 2, (8,)), rng=np.random.default_rng(7), sparse_init=False)
    rng = np.random.default_rng(7)
    expected = [*default_uniform((8, 5), rng), *default_uniform((2, 8), rng)]
    for p, e in zip(net.parameters(), expected):
        np.testing.assert_array_equal(p.detach().numpy(), e)
