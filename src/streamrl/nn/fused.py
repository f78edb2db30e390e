"""Compiled (Numba, nopython) kernels for the paper's standard networks and ObGD updates.

The network is an optional 3x3 stride-1 convolution (MinAtar) followed by an MLP; every hidden
layer is parameter-free layer norm then LeakyReLU(0.01). All parameters live in one flat float32
vector ``w`` (per layer: weight row-major, then bias), with one flat trace ``z`` beside it.

Weights and traces are float32 as in the torch path. Activations and their gradients are
float32 for the CNN (so its inner loops vectorize without conversions) and float64 for the small
MLPs (FusedLearner picks); layer-norm statistics and the trace's L1 norm always accumulate in
float64 (the L1 norm of a 131k-weight trace summed in float32 is visibly off, see
``streamrl.optim``). An update is two passes over the parameters: ``accumulate_trace`` decays
the trace, adds the gradient and sums |z| in one pass; ``obgd_step`` (or
``adaptive_obgd_step``) moves the weights.

Helpers are inlined into the kernels at Numba's level (``inline="always"``): with reassociation
allowed, a kernel that calls a separately compiled helper computed slightly different numbers
when freshly compiled than when loaded from Numba's on-disk cache, so the first run on a machine
disagreed with every later one. One function per kernel gives the same machine code both ways
(tests/nn/test_fused_determinism.py).

Layout arrays (int64): ``sizes`` = widths of the MLP part [in, h1, ..., out]; ``w_off`` /
``b_off`` = where each linear layer's weight and bias start in ``w``; ``conv`` = [C_in, H, W,
C_out, k, w_offset, b_offset] or all zeros. A forward pass caches, per network input: ``h``
(inputs of each linear layer, at ``h_off``), ``n`` (normalized hidden values), ``inv``
(1/sqrt(var + eps) per normalized layer) and, for the conv, ``patches`` (the input unfolded to
[C_in k k, positions]) and ``cn`` (its normalized output). Inner loops index slices (views) from
0, so the compiler can drop negative-index checks and vectorize them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

EPS = 1e-5
SLOPE = np.float32(0.01)
# Let LLVM reorder sums (so dot products and norms vectorize) and fuse multiply-adds; no
# assumptions about NaN or infinity, so a diverging run still shows up as non-finite numbers.
FAST = {"reassoc", "contract", "nsz"}


@njit(cache=True, fastmath=FAST, inline="always")
def _layer_norm_leaky(a, n, h):
    """n = (a - mean) / sqrt(var + eps) (biased variance); h = leaky(n); returns 1/sqrt(var + eps)."""
    count = len(a)
    mean = 0.0
    for i in range(count):
        mean += a[i]
    mean /= count
    var = 0.0
    for i in range(count):
        d = a[i] - mean
        var += d * d
    inv = 1.0 / math.sqrt(var / count + EPS)
    for i in range(count):
        v = n.dtype.type((a[i] - mean) * inv)
        n[i] = v
        h[i] = v if v > 0.0 else SLOPE * v
    return inv


@njit(cache=True, fastmath=FAST, inline="always")
def _layer_norm_leaky_backward(g, n, inv):
    """In place: g (gradient w.r.t. h) becomes the gradient w.r.t. the pre-normalization values."""
    count = len(g)
    mean_g = 0.0
    mean_gn = 0.0
    for i in range(count):
        gi = g[i] if n[i] > 0.0 else SLOPE * g[i]
        g[i] = gi
        mean_g += gi
        mean_gn += gi * n[i]
    mean_g, mean_gn, inv = g.dtype.type(mean_g / count), g.dtype.type(mean_gn / count), g.dtype.type(inv)
    for i in range(count):
        g[i] = inv * (g[i] - mean_g - n[i] * mean_gn)


@njit(cache=True, fastmath=FAST, inline="always")
def _conv_dims(conv):
    c_in, height, width, c_out, k = conv[0], conv[1], conv[2], conv[3], conv[4]
    return c_in, height, width, c_out, k, (height - k + 1) * (width - k + 1)


@njit(cache=True, fastmath=FAST, inline="always")
def _unfold(x, conv, patches):
    """patches[(c k + ki) k + kj, i ow + j] = x[c, i + ki, j + kj] (im2col, stride 1)."""
    c_in, height, width, _, k, _ = _conv_dims(conv)
    oh, ow = height - k + 1, width - k + 1
    for c in range(c_in):
        for ki in range(k):
            for kj in range(k):
                row = patches[(c * k + ki) * k + kj]
                for i in range(oh):
                    start = (c * height + i + ki) * width + kj
                    row[i * ow:(i + 1) * ow] = x[start:start + ow]


@njit(cache=True, fastmath=FAST)
def forward(w, x, sizes, w_off, b_off, conv, h, h_off, a, n, inv, patches, cn, out):
    """Outputs of the network at x (float32, flattened), caching what the backward pass needs."""
    if conv[3] > 0:
        _, _, _, c_out, _, positions = _conv_dims(conv)
        _unfold(x, conv, patches)
        cw, cb = conv[5], conv[6]
        taps = patches.shape[0]
        for o in range(c_out):  # plane = bias + sum over taps of weight * unfolded row
            plane = a[o * positions:(o + 1) * positions]
            plane[:] = w[cb + o]
            for t in range(taps):
                weight = w[cw + o * taps + t]
                row = patches[t]
                for p in range(positions):
                    plane[p] += weight * row[p]
        m = c_out * positions
        inv[0] = _layer_norm_leaky(a[:m], cn[:m], h[:m])  # h[0:m] is the MLP's input
    else:
        h[:sizes[0]] = x[:sizes[0]]
    n_layers = len(sizes) - 1
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        h_in = h[h_off[layer]:h_off[layer] + n_in]
        target = a[h_off[layer + 1]:h_off[layer + 1] + n_out]
        for o in range(n_out):
            row = w[w_off[layer] + o * n_in:w_off[layer] + (o + 1) * n_in]
            s = h_in.dtype.type(0.0)
            for i in range(n_in):
                s += row[i] * h_in[i]
            target[o] = s + w[b_off[layer] + o]
        if layer < n_layers - 1:
            start = h_off[layer + 1]
            inv[layer + 1] = _layer_norm_leaky(target, n[start:start + n_out], h[start:start + n_out])
        else:
            for o in range(n_out):
                out[o] = target[o]


@njit(cache=True, fastmath=FAST, inline="always")
def _decay_add(z, decay, grad):
    """z <- decay z + grad (a scalar); returns |z| after."""
    zi = decay * z + grad
    return zi, abs(zi)


@njit(cache=True, fastmath=FAST)
def accumulate_trace(w, z, decay, g_out, sizes, w_off, b_off, conv, h, h_off, n, inv, patches, cn, g):
    """z <- decay z + d(g_out . outputs)/dw at the cached state, in one pass over z (g is scratch
    space). Returns |z|_1 after the update, summed in float64."""
    decay = g.dtype.type(decay)  # the activations' precision (see FusedLearner)
    l1 = 0.0
    n_layers = len(sizes) - 1
    g[h_off[n_layers]:h_off[n_layers] + sizes[n_layers]] = g_out
    for layer in range(n_layers - 1, -1, -1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        src, dst = h_off[layer], h_off[layer + 1]
        h_in, g_in, g_o = h[src:src + n_in], g[src:src + n_in], g[dst:dst + n_out]
        backprop = layer > 0 or conv[3] > 0  # the input layer's gradient is not needed
        g_in[:] = 0.0
        for o in range(n_out):
            go = g_o[o]
            z[b_off[layer] + o], size = _decay_add(z[b_off[layer] + o], decay, go)
            l1 += size
            start = w_off[layer] + o * n_in
            z_row, w_row = z[start:start + n_in], w[start:start + n_in]
            row_l1 = 0.0
            for i in range(n_in):
                zi = decay * z_row[i] + go * h_in[i]
                z_row[i] = zi
                row_l1 += abs(zi)
            l1 += row_l1
            if backprop and go != 0.0:
                for i in range(n_in):
                    g_in[i] += go * w_row[i]
        if layer > 0:
            _layer_norm_leaky_backward(g_in, n[src:src + n_in], inv[layer])
    if conv[3] > 0:
        _, _, _, c_out, _, positions = _conv_dims(conv)
        cw, cb = conv[5], conv[6]
        taps = patches.shape[0]
        m = c_out * positions
        _layer_norm_leaky_backward(g[:m], cn[:m], inv[0])
        for o in range(c_out):
            plane = g[o * positions:(o + 1) * positions]
            bias_grad = plane.dtype.type(0.0)
            for p in range(positions):
                bias_grad += plane[p]
            z[cb + o], size = _decay_add(z[cb + o], decay, bias_grad)
            l1 += size
            for t in range(taps):
                row = patches[t]
                s = plane.dtype.type(0.0)
                for p in range(positions):
                    s += plane[p] * row[p]
                z[cw + o * taps + t], size = _decay_add(z[cw + o * taps + t], decay, s)
                l1 += size
    return l1


@njit(cache=True, fastmath=FAST, inline="always")
def _bounded_step(l1, delta, lr, kappa):
    """ObGD's bound: M = lr kappa max(|delta|, 1) |z|_1; the step is lr / M if M > 1, else lr."""
    bound = lr * kappa * max(abs(delta), 1.0) * l1
    return lr / bound if bound > 1.0 else lr


@njit(cache=True, fastmath=FAST, inline="always")
def _step_along(w, direction, z, l1, delta, lr, kappa, reset):
    """w += step * delta * direction with ObGD's bounded step; then z <- 0 if reset."""
    step = _bounded_step(l1, delta, lr, kappa)
    scale = np.float32(step * delta)
    for i in range(len(w)):
        w[i] += scale * direction[i]
    if reset:
        z[:] = 0.0
    return step


@njit(cache=True, fastmath=FAST)
def obgd_step(w, z, l1, delta, lr, kappa, reset):
    """ObGD, given l1 = |z|_1: w += step * delta * z; then z <- 0 if reset. Returns the step size."""
    return _step_along(w, z, z, l1, delta, lr, kappa, reset)


@njit(cache=True, fastmath=FAST)
def adaptive_obgd_step(w, z, v, t, delta, lr, kappa, beta2, eps, reset, zhat):
    """AdaptiveObGD at update t: v <- b2 v + (1-b2)(delta z)^2; z_hat = z / sqrt(v / (1-b2^t) + eps).
    Elementwise in float32, as torch does it; the L1 norm of z_hat in float64."""
    delta32, beta32, rest32 = np.float32(delta), np.float32(beta2), np.float32(1.0 - beta2)
    correction, eps32 = np.float32(1.0 - beta2**t), np.float32(eps)
    l1 = 0.0
    for i in range(len(z)):
        dz = delta32 * z[i]
        v[i] = beta32 * v[i] + rest32 * dz * dz
        zh = z[i] / np.sqrt(v[i] / correction + eps32)
        zhat[i] = zh
        l1 += abs(zh)
    return _step_along(w, zhat, z, l1, delta, lr, kappa, reset)
