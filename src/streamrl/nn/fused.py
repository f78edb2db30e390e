"""Compiled (Numba, nopython) kernels for the paper's standard networks and ObGD updates.

The network is an optional 3x3 stride-1 convolution (MinAtar) followed by an MLP; every hidden
layer is parameter-free layer norm then LeakyReLU(0.01). All parameters live in one flat float32
vector ``w`` (per layer: weight row-major, then bias), with one flat trace ``z`` beside it, so the
trace decay, the L1 norm and the step are single loops and nothing is allocated per step.

Layout arrays (int64): ``sizes`` = widths of the MLP part [in, h1, ..., out]; ``w_off`` /
``b_off`` = where each linear layer's weight and bias start in ``w``; ``conv`` = [C_in, H, W,
C_out, k, w_offset, b_offset] or all zeros. Activations are cached in ``h`` (inputs of each
linear layer), ``n`` (normalized hidden values), ``inv`` (1/sqrt(var + eps) per normalized layer)
and, for the conv, ``cn`` (its normalized output).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

EPS = 1e-5
SLOPE = 0.01


@njit(cache=True)
def _layer_norm_leaky(a, n, h, start, count):
    """n = (a - mean) / sqrt(var + eps) over a[start:start+count]; h = leaky(n); returns 1/sqrt."""
    mean = 0.0
    for i in range(count):
        mean += a[start + i]
    mean /= count
    var = 0.0
    for i in range(count):
        d = a[start + i] - mean
        var += d * d
    var /= count
    inv = 1.0 / math.sqrt(var + EPS)
    for i in range(count):
        v = (a[start + i] - mean) * inv
        n[start + i] = v
        h[start + i] = v if v > 0.0 else SLOPE * v
    return inv


@njit(cache=True)
def _layer_norm_leaky_backward(g, n, inv, start, count):
    """In place: g (w.r.t. h) becomes the gradient w.r.t. the pre-normalization values."""
    for i in range(count):
        if not n[start + i] > 0.0:
            g[start + i] *= SLOPE
    mean_g = 0.0
    mean_gn = 0.0
    for i in range(count):
        mean_g += g[start + i]
        mean_gn += g[start + i] * n[start + i]
    mean_g /= count
    mean_gn /= count
    for i in range(count):
        g[start + i] = inv * (g[start + i] - mean_g - n[start + i] * mean_gn)


@njit(cache=True)
def forward(w, x, sizes, w_off, b_off, conv, h, h_off, a, n, inv, cn, out):
    """Outputs of the network at x (float32 input, flattened), caching what backward needs."""
    if conv[3] > 0:
        c_in, height, width, c_out, k, cw, cb = conv[0], conv[1], conv[2], conv[3], conv[4], conv[5], conv[6]
        oh, ow = height - k + 1, width - k + 1
        for o in range(c_out):
            for i in range(oh):
                for j in range(ow):
                    s = w[cb + o]
                    for c in range(c_in):
                        for ki in range(k):
                            row = (c * height + i + ki) * width + j
                            base = cw + ((o * c_in + c) * k + ki) * k
                            for kj in range(k):
                                s += w[base + kj] * x[row + kj]
                    a[(o * oh + i) * ow + j] = s
        inv[0] = _layer_norm_leaky(a, cn, h, 0, c_out * oh * ow)  # h[0:] = the MLP's input
    else:
        for i in range(sizes[0]):
            h[i] = x[i]
    n_layers = len(sizes) - 1
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        src, wo, bo = h_off[layer], w_off[layer], b_off[layer]
        last = layer == n_layers - 1
        dst = h_off[layer + 1]
        for o in range(n_out):
            s = w[bo + o]
            row = wo + o * n_in
            for i in range(n_in):
                s += w[row + i] * h[src + i]
            if last:
                out[o] = s
            else:
                a[dst + o] = s
        if not last:
            inv[layer + 1] = _layer_norm_leaky(a, n, h, dst, n_out)


@njit(cache=True)
def accumulate_trace(w, z, decay, g_out, x, sizes, w_off, b_off, conv, h, h_off, n, inv, cn, g):
    """z <- decay * z + d(g_out . outputs)/dw at the cached state (g is scratch space)."""
    for i in range(len(z)):
        z[i] *= decay
    n_layers = len(sizes) - 1
    for o in range(sizes[n_layers]):
        g[h_off[n_layers] + o] = g_out[o]
    for layer in range(n_layers - 1, -1, -1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        src, dst, wo, bo = h_off[layer], h_off[layer + 1], w_off[layer], b_off[layer]
        for i in range(n_in):
            g[src + i] = 0.0
        for o in range(n_out):
            go = g[dst + o]
            if go == 0.0:
                continue
            z[bo + o] += go
            row = wo + o * n_in
            for i in range(n_in):
                z[row + i] += go * h[src + i]
                g[src + i] += go * w[row + i]
        if layer > 0:
            _layer_norm_leaky_backward(g, n, inv[layer], src, n_in)
    if conv[3] > 0:
        c_in, height, width, c_out, k, cw, cb = conv[0], conv[1], conv[2], conv[3], conv[4], conv[5], conv[6]
        oh, ow = height - k + 1, width - k + 1
        _layer_norm_leaky_backward(g, cn, inv[0], 0, c_out * oh * ow)
        for o in range(c_out):
            for i in range(oh):
                for j in range(ow):
                    go = g[(o * oh + i) * ow + j]
                    if go == 0.0:
                        continue
                    z[cb + o] += go
                    for c in range(c_in):
                        for ki in range(k):
                            row = (c * height + i + ki) * width + j
                            base = cw + ((o * c_in + c) * k + ki) * k
                            for kj in range(k):
                                z[base + kj] += go * x[row + kj]


@njit(cache=True)
def obgd_step(w, z, delta, lr, kappa, reset):
    """ObGD: M = lr kappa max(|delta|, 1) |z|_1; step lr / M if M > 1; w += step delta z."""
    l1 = 0.0
    for i in range(len(z)):
        l1 += abs(z[i])
    bound = lr * kappa * max(abs(delta), 1.0) * l1
    step = lr / bound if bound > 1.0 else lr
    scale = step * delta
    for i in range(len(z)):
        w[i] += scale * z[i]
        if reset:
            z[i] = 0.0
    return step


@njit(cache=True)
def adaptive_obgd_step(w, z, v, t, delta, lr, kappa, beta2, eps, reset, zhat):
    """AdaptiveObGD at update number t: v <- b2 v + (1-b2)(delta z)^2, z_hat = z / sqrt(v_hat + eps)."""
    correction = 1.0 - beta2**t
    l1 = 0.0
    for i in range(len(z)):
        dz = delta * z[i]
        v[i] = beta2 * v[i] + (1.0 - beta2) * dz * dz
        zh = z[i] / math.sqrt(v[i] / correction + eps)
        zhat[i] = zh
        l1 += abs(zh)
    bound = lr * kappa * max(abs(delta), 1.0) * l1
    step = lr / bound if bound > 1.0 else lr
    scale = step * delta
    for i in range(len(z)):
        w[i] += scale * zhat[i]
        if reset:
            z[i] = 0.0
    return step
