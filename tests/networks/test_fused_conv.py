"""The fused strided convolution against NumPy loops written out from the definition, in both of
its layouts (one unfolded row per tap, one per position): outputs, the weight and bias gradient
(as the trace after one step from zero with no decay) and the input gradient."""

import numpy as np
import pytest

from streamrl.networks import NetworkSpec
from streamrl.networks import fused_kernels as fused
from streamrl.networks.fused import FusedNetwork, conv_layout

# (C_in, H, W, C_out, k, stride). The first: 6 positions and 5 outputs, for the kernels' passes
# over four rows at a time and their remainders, with a last column that is never read. Then the
# kernel widths whose rows the unfolding moves as one vector (8 and 4: Atari's first two layers),
# and stride-1 runs of 8 values (MinAtar's layout), of 4 (the 4-wide move, both ways) and of 5
# (the plain loop).
SHAPES = [(2, 5, 8, 5, 3, 2), (2, 18, 19, 5, 8, 5), (3, 10, 11, 5, 4, 3), (2, 6, 10, 5, 3, 1), (2, 6, 6, 5, 3, 1),
          (2, 7, 7, 5, 3, 1)]


def output_size(height: int, width: int, k: int, stride: int) -> tuple[int, int]:
    return (height - k) // stride + 1, (width - k) // stride + 1  # no padding


def reference_conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    c_out, c_in, k, _ = weight.shape
    oh, ow = output_size(x.shape[1], x.shape[2], k, stride)
    out = np.zeros((c_out, oh, ow))
    for o in range(c_out):
        for i in range(oh):
            for j in range(ow):
                out[o, i, j] = bias[o]
                for c in range(c_in):
                    for ki in range(k):
                        for kj in range(k):
                            out[o, i, j] += weight[o, c, ki, kj] * x[c, i * stride + ki, j * stride + kj]
    return out


def reference_grads(x: np.ndarray, weight: np.ndarray, g: np.ndarray,
                    stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d(g . conv(x))/d(weight, bias, x)."""
    c_out, c_in, k, _ = weight.shape
    grad_w, grad_x = np.zeros_like(weight, dtype=np.float64), np.zeros_like(x, dtype=np.float64)
    for o in range(c_out):
        for i in range(g.shape[1]):
            for j in range(g.shape[2]):
                for c in range(c_in):
                    for ki in range(k):
                        for kj in range(k):
                            grad_w[o, c, ki, kj] += g[o, i, j] * x[c, i * stride + ki, j * stride + kj]
                            grad_x[c, i * stride + ki, j * stride + kj] += g[o, i, j] * weight[o, c, ki, kj]
    return grad_w, g.sum(axis=(1, 2)), grad_x


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("by_position", [False, True], ids=["rows-per-position", "rows-per-tap"])
def test_strided_conv_matches_numpy_loops(by_position, shape):
    c_in, height, width, c_out, k, stride = shape
    oh, ow = output_size(height, width, k, stride)
    convs, shapes, n_values, n_patches, n_scratch = conv_layout((c_in, height, width), [(c_out, k, stride)], 0)
    assert shapes == [(c_out, c_in, k, k), (c_out,)] and n_values == c_out * oh * ow
    assert n_patches == c_in * k * k * oh * ow
    assert convs[0, fused.BY_POSITION] == (oh * ow > c_in * k * k)  # the layout the networks get
    convs[0, fused.BY_POSITION] = by_position  # and here both, for every shape
    conv = convs[0]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(c_in, height, width)).astype(np.float32)
    weight = rng.normal(size=shapes[0]).astype(np.float32)
    bias = rng.normal(size=c_out).astype(np.float32)
    w = np.concatenate([weight.ravel(), bias])
    patches = np.zeros(n_patches, dtype=np.float32)
    if by_position:
        fused._unfold_by_position(x.ravel(), conv, patches, False)
    else:
        fused._unfold_by_tap(x.ravel(), conv, patches, False)
    out = np.zeros(n_values, dtype=np.float32)
    fused._conv_forward(w, conv, patches, out)
    np.testing.assert_allclose(out.reshape(c_out, oh, ow), reference_conv(x, weight, bias, stride), rtol=1e-5,
                               atol=1e-5)

    g = rng.normal(size=(c_out, oh, ow)).astype(np.float32)
    z = np.zeros_like(w)
    scratch = np.zeros(max(n_scratch, n_patches), dtype=np.float32)
    l1 = fused._conv_trace(w, z, np.float32(0.0), conv, patches, g.ravel(), scratch)  # z = the gradient
    grad_w, grad_b, grad_x = reference_grads(x, weight, g, stride)
    np.testing.assert_allclose(z[:weight.size].reshape(weight.shape), grad_w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(z[weight.size:], grad_b, rtol=1e-5, atol=1e-5)
    assert l1 == pytest.approx(np.abs(grad_w).sum() + np.abs(grad_b).sum(), rel=1e-5)
    g_in = np.full(c_in * height * width, np.nan, dtype=np.float32)  # every value is overwritten
    fused._conv_input_grad(w, conv, g.ravel(), g_in, scratch)
    np.testing.assert_allclose(g_in.reshape(x.shape), grad_x, rtol=1e-5, atol=1e-5)
    read = np.zeros(x.shape, dtype=bool)  # the values some window covers; the rest get no gradient
    for i in range(oh):
        for j in range(ow):
            read[:, i * stride:i * stride + k, j * stride:j * stride + k] = True
    assert not g_in.reshape(x.shape)[~read].any()


def test_atari_cnn_layout_and_too_small_input():
    network = FusedNetwork(NetworkSpec("atari_cnn", (4, 84, 84), 6), rng=np.random.default_rng(0))
    # 84x84 -> 16x16 (k 8, s 5) -> 5x5 (k 4, s 3) -> 2x2 (k 3, s 2), then 256 -> 256 -> 6
    assert [p.shape for p in network.parameters()] == [(32, 4, 8, 8), (32,), (64, 32, 4, 4), (64,), (64, 64, 3, 3),
                                                       (64,), (256, 256), (256,), (6, 256), (6,)]
    assert network.convs[:, fused.BY_POSITION].tolist() == [0, 0, 0]  # 256 positions of 256 taps, 25 of 512, 4 of 576
    with pytest.raises(ValueError, match=r"conv layer 2 \(4x4\) does not fit its 3x3 input: the network needs larger "
                                         r"inputs than \(4, 20, 20\)"):
        FusedNetwork(NetworkSpec("atari_cnn", (4, 20, 20), 6))
