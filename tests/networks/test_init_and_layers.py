"""Sparse initialization, parameter-free layer norm, and the paper's network shapes."""

import math

import numpy as np
import pytest
import torch

from streamrl.networks import LayerNorm, NetworkSpec, build_torch_network, sparse_init_


@pytest.mark.parametrize("shape", [(20, 50), (32, 5), (16, 4, 3, 3), (8, 7)])
def test_sparse_init_zeros_per_output_unit_and_range(shape):
    w = torch.empty(shape)
    sparse_init_(w, sparsity=0.9, rng=np.random.default_rng(0))
    fan_in = int(np.prod(shape[1:]))
    rows = w.reshape(shape[0], fan_in)
    n_zeros = math.ceil(0.9 * fan_in)  # ceil, not round: 50 -> 45, 5 -> 5, 36 -> 33, 7 -> 7
    assert ((rows == 0).sum(dim=1) == n_zeros).all()
    assert rows.abs().max() <= 1 / math.sqrt(fan_in)
    if n_zeros < fan_in:
        assert (rows != 0).any()


def test_networks_have_zero_biases_and_sparse_weights():
    net = build_torch_network(NetworkSpec("minatar_cnn", (4, 10, 10), 3), rng=np.random.default_rng(1))
    for m in net.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            assert (m.bias == 0).all()
            fan_in = m.weight[0].numel()
            assert ((m.weight.reshape(len(m.weight), -1) == 0).sum(1) == math.ceil(0.9 * fan_in)).all()


def test_same_seed_same_weights():
    a = build_torch_network(NetworkSpec("mlp", (5,), 2), rng=np.random.default_rng(3))
    b = build_torch_network(NetworkSpec("mlp", (5,), 2), rng=np.random.default_rng(3))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_layer_norm_has_no_parameters_and_normalizes_each_sample():
    ln = LayerNorm()
    assert list(ln.parameters()) == []
    out = ln(torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]]))
    # [1, 2, 3]: mean 2, biased var 2/3 -> +-1/sqrt(2/3 + 1e-5)
    s = 1 / math.sqrt(2 / 3 + 1e-5)
    assert out[0].tolist() == pytest.approx([-s, 0.0, s], rel=1e-6)
    # [0, 0, 6]: mean 2, var 8 -> [-2, -2, 4] / sqrt(8 + 1e-5)
    assert out[1].tolist() == pytest.approx([v / math.sqrt(8 + 1e-5) for v in (-2, -2, 4)], rel=1e-6)


def test_layer_norm_on_conv_output_uses_c_h_w_together():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])  # (1, 2, 2, 2)
    out = LayerNorm()(x)
    values = np.arange(1.0, 9.0)
    expected = (values - values.mean()) / math.sqrt(values.var() + 1e-5)
    assert out.flatten().tolist() == pytest.approx(expected.tolist(), rel=1e-6)


@pytest.mark.parametrize("spec, n_params", [
    (NetworkSpec("mlp", (5,), 2, (32, 32)), 5 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2),
    (NetworkSpec("minatar_cnn", (4, 10, 10), 3), 16 * 4 * 9 + 16 + 1024 * 128 + 128 + 128 * 3 + 3),
    (NetworkSpec("atari_cnn", (4, 84, 84), 4),
     32 * 4 * 64 + 32 + 64 * 32 * 16 + 64 + 64 * 64 * 9 + 64 + 256 * 256 + 256 + 256 * 4 + 4),
])
def test_paper_network_sizes(spec, n_params):
    net = build_torch_network(spec, rng=np.random.default_rng(0))
    assert sum(p.numel() for p in net.parameters()) == n_params  # layer norms add none
    assert net(torch.zeros(2, *spec.input_shape)).shape == (2, spec.n_outputs)
