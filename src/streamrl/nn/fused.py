"""Compiled (Numba, nopython) kernels for the paper's standard networks and ObGD updates.

The network is an optional 3x3 stride-1 convolution (MinAtar) followed by an MLP; every hidden
layer is parameter-free layer norm then LeakyReLU(0.01). All parameters live in one flat float32
vector ``w`` (per layer: weight row-major, then bias), with one flat trace ``z`` beside it, so the
trace decay, the L1 norm and the step are single loops and nothing is allocated per step. Sums
accumulate in float64.

Layout arrays (int64): ``sizes`` = widths of the MLP part [in, h1, ..., out]; ``w_off`` /
``b_off`` = where each linear layer's weight and bias start in ``w``; ``conv`` = [C_in, H, W,
C_out, k, w_offset, b_offset] or all zeros. Activations are cached in ``h`` (inputs of each
linear layer, at ``h_off``), ``n`` (normalized hidden values), ``inv`` (1/sqrt(var + eps) per
normalized layer) and, for the conv, ``cn`` (its normalized output).

Inner loops index slices (views, no copies) from 0, so the compiler can drop negative-index
checks and vectorize them.
"""

from __future__ import annotations

import math

from numba import njit

EPS = 1e-5
SLOPE = 0.01
# Let LLVM reorder sums (so dot products and norms vectorize) and fuse multiply-adds; no
# assumptions about NaN or infinity, so a diverging run still shows up as non-finite numbers.
FAST = {"reassoc", "contract", "nsz"}


@njit(cache=True, fastmath=FAST)
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
        v = (a[i] - mean) * inv
        n[i] = v
        h[i] = v if v > 0.0 else SLOPE * v
    return inv


@njit(cache=True, fastmath=FAST)
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
    mean_g /= count
    mean_gn /= count
    for i in range(count):
        g[i] = inv * (g[i] - mean_g - n[i] * mean_gn)


@njit(cache=True, fastmath=FAST)
def _conv_dims(conv):
    c_in, height, width, c_out, k = conv[0], conv[1], conv[2], conv[3], conv[4]
    return c_in, height, width, c_out, k, height - k + 1, width - k + 1


@njit(cache=True, fastmath=FAST)
def forward(w, x, sizes, w_off, b_off, conv, h, h_off, a, n, inv, cn, out):
    """Outputs of the network at x (float32, flattened), caching what the backward pass needs."""
    if conv[3] > 0:
        c_in, height, width, c_out, k, oh, ow = _conv_dims(conv)
        cw, cb = conv[5], conv[6]
        for o in range(c_out):  # loops ordered so the innermost runs along a row of the image
            plane = a[o * oh * ow:(o + 1) * oh * ow]
            plane[:] = w[cb + o]
            for c in range(c_in):
                for ki in range(k):
                    for kj in range(k):
                        weight = w[cw + ((o * c_in + c) * k + ki) * k + kj]
                        for i in range(oh):
                            src = x[(c * height + i + ki) * width + kj:(c * height + i + ki) * width + kj + ow]
                            dst = plane[i * ow:(i + 1) * ow]
                            for j in range(ow):
                                dst[j] += weight * src[j]
        m = c_out * oh * ow
        inv[0] = _layer_norm_leaky(a[:m], cn[:m], h[:m])  # h[0:m] is the MLP's input
    else:
        h[:sizes[0]] = x[:sizes[0]]
    n_layers = len(sizes) - 1
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        h_in = h[h_off[layer]:h_off[layer] + n_in]
        target = out if layer == n_layers - 1 else a[h_off[layer + 1]:h_off[layer + 1] + n_out]
        for o in range(n_out):
            row = w[w_off[layer] + o * n_in:w_off[layer] + (o + 1) * n_in]
            s = 0.0
            for i in range(n_in):
                s += row[i] * h_in[i]
            target[o] = s + w[b_off[layer] + o]
        if layer < n_layers - 1:
            start = h_off[layer + 1]
            inv[layer + 1] = _layer_norm_leaky(target, n[start:start + n_out], h[start:start + n_out])


@njit(cache=True, fastmath=FAST)
def accumulate_trace(w, z, decay, g_out, x, sizes, w_off, b_off, conv, h, h_off, n, inv, cn, g):
    """z <- decay * z + d(g_out . outputs)/dw at the cached state (g is scratch space)."""
    for i in range(len(z)):
        z[i] *= decay
    n_layers = len(sizes) - 1
    g[h_off[n_layers]:h_off[n_layers] + sizes[n_layers]] = g_out
    for layer in range(n_layers - 1, -1, -1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        src, dst = h_off[layer], h_off[layer + 1]
        h_in, g_in, g_o = h[src:src + n_in], g[src:src + n_in], g[dst:dst + n_out]
        g_in[:] = 0.0
        for o in range(n_out):
            go = g_o[o]
            if go == 0.0:
                continue
            z[b_off[layer] + o] += go
            start = w_off[layer] + o * n_in
            z_row, w_row = z[start:start + n_in], w[start:start + n_in]
            for i in range(n_in):
                z_row[i] += go * h_in[i]
                g_in[i] += go * w_row[i]
        if layer > 0:
            _layer_norm_leaky_backward(g_in, n[src:src + n_in], inv[layer])
    if conv[3] > 0:
        c_in, height, width, c_out, k, oh, ow = _conv_dims(conv)
        cw, cb = conv[5], conv[6]
        m = c_out * oh * ow
        _layer_norm_leaky_backward(g[:m], cn[:m], inv[0])
        for o in range(c_out):
            plane = g[o * oh * ow:(o + 1) * oh * ow]
            bias_grad = 0.0
            for p in range(oh * ow):
                bias_grad += plane[p]
            z[cb + o] += bias_grad
            for c in range(c_in):
                for ki in range(k):
                    for kj in range(k):
                        s = 0.0
                        for i in range(oh):
                            src = x[(c * height + i + ki) * width + kj:(c * height + i + ki) * width + kj + ow]
                            row = plane[i * ow:(i + 1) * ow]
                            for j in range(ow):
                                s += row[j] * src[j]
                        z[cw + ((o * c_in + c) * k + ki) * k + kj] += s


@njit(cache=True, fastmath=FAST)
def _bounded_step(l1, delta, lr, kappa):
    """ObGD's bound: M = lr kappa max(|delta|, 1) |z|_1; the step is lr / M if M > 1, else lr."""
    bound = lr * kappa * max(abs(delta), 1.0) * l1
    return lr / bound if bound > 1.0 else lr


@njit(cache=True, fastmath=FAST)
def _step_along(w, direction, z, l1, delta, lr, kappa, reset):
    """w += step * delta * direction with ObGD's bounded step; then z <- 0 if reset."""
    step = _bounded_step(l1, delta, lr, kappa)
    scale = step * delta
    for i in range(len(w)):
        w[i] += scale * direction[i]
    if reset:
        z[:] = 0.0
    return step


@njit(cache=True, fastmath=FAST)
def obgd_step(w, z, delta, lr, kappa, reset):
    """ObGD: w += step * delta * z; then z <- 0 if reset. Returns the step size."""
    l1 = 0.0
    for i in range(len(z)):
        l1 += abs(z[i])
    return _step_along(w, z, z, l1, delta, lr, kappa, reset)


@njit(cache=True, fastmath=FAST)
def adaptive_obgd_step(w, z, v, t, delta, lr, kappa, beta2, eps, reset, zhat):
    """AdaptiveObGD at update t: v <- b2 v + (1-b2)(delta z)^2; z_hat = z / sqrt(v / (1-b2^t) + eps)."""
    correction = 1.0 - beta2**t
    l1 = 0.0
    for i in range(len(z)):
        dz = delta * z[i]
        v[i] = beta2 * v[i] + (1.0 - beta2) * dz * dz
        zh = z[i] / math.sqrt(v[i] / correction + eps)
        zhat[i] = zh
        l1 += abs(zh)
    return _step_along(w, zhat, z, l1, delta, lr, kappa, reset)
