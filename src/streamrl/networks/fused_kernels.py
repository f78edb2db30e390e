"""Compiled (Numba, nopython) kernels for the paper's standard networks: the forward pass, the
backward pass into a trace, and the step.

The network is a chain of convolutions (none for an MLP, one 3x3 stride-1 for MinAtar, three
strided ones for Atari; no padding, as ``nn.Conv2d(c_in, c_out, k, stride=s)``) followed by an
MLP; every hidden layer is parameter-free layer norm over all of its values then LeakyReLU(0.01).
All parameters live in one flat float32 vector ``w`` (per layer: weight row-major, then bias),
with one flat trace ``z`` beside it.

Weights and traces are float32 as in the torch path. Activations and their gradients are
float32 for the CNNs (so their inner loops vectorize without conversions) and float64 for the
small MLPs (FusedNetwork picks); layer-norm statistics and the trace's L1 norm accumulate in
float64 (the L1 norm of a 131k-weight trace summed in float32 is visibly off), except each dense
weight row's share of the norm, summed in the activations' precision (a float32 row of MinAtar's
is 1,024 values, summed in vector lanes, then added in float64; converting every value to float64
made that pass twice as slow).

An update is ``accumulate_trace`` (the backward pass: it decays a trace, adds the gradient and
sums |z| in one pass over the parameters), then the step rule's own arithmetic
(:mod:`streamrl.steprules`), then a step that the next forward pass makes on its way (see
``forward``).

Helpers are inlined into the kernels at Numba's level (``inline="always"``): with reassociation
allowed, a kernel that calls a separately compiled helper computed slightly different numbers
when freshly compiled than when loaded from Numba's on-disk cache, so the first run on a machine
disagreed with every later one. One function per kernel gives the same machine code both ways
(tests/nn/test_fused_determinism.py).

Layout arrays (int64; the kernels take them packed into one, see ``pack_layout``): ``sizes`` =
widths of the MLP part [in, h1, ..., out]; ``w_off`` / ``b_off`` = where each linear layer's
weight and bias start in ``w``; ``convs`` = one row per conv layer (columns C_IN ... BY_POSITION
below; zero rows for an MLP). All of a network's values share one index space: each conv
layer's outputs start at its OUT_OFF, the MLP's input (the last conv's output, or a copy of x) at
``h_off[0]``, each linear layer's outputs at the next ``h_off``.
A forward pass caches, per network input (in ``acts`` and ``inv_out``, see ``_unpack_cache``):
``h`` (values after the activation, i.e. each layer's input), ``n`` (normalized values) and
``inv`` (1/sqrt(var + eps) per normalized layer: conv layers first, then the MLP's hidden
layers), and ``patches`` (each conv layer's input unfolded, at its PATCH_OFF). A conv layer with
more output positions than taps (C_in k k) is unfolded as one row per tap and its loops run along
positions (MinAtar Breakout: 64 positions, 36 taps; 10-channel Seaquest's 90 taps go the other
way); otherwise as one row per position and its loops run along taps, four rows (and two weight
rows) per pass so each load serves several products (Atari: 256 positions of 256 taps, 25 of
512, 4 of 576; at the tie this measured faster than rows per tap), so the vector units see long
rows either way. Inner loops index slices (views) from 0, so the compiler can drop
negative-index checks and vectorize them; unfolding moves kernel rows of 8 or 4 values (and
stride-1 runs) as single vectors (see ``_copy_into``).
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


# Columns of one row of ``convs`` (one convolution layer).
C_IN, HEIGHT, WIDTH, C_OUT, KERNEL, STRIDE, W_OFF, B_OFF, OUT_OFF, PATCH_OFF, BY_POSITION = range(11)
CONV_COLUMNS = 11


@njit(cache=True, fastmath=FAST, inline="always")
def _conv_dims(conv):
    """(C_in, H, W, C_out, k, stride, output height, output width) of one ``convs`` row."""
    c_in, height, width, c_out = conv[C_IN], conv[HEIGHT], conv[WIDTH], conv[C_OUT]
    k, stride = conv[KERNEL], conv[STRIDE]
    return c_in, height, width, c_out, k, stride, (height - k) // stride + 1, (width - k) // stride + 1


# Unfolding moves a few values at a time between the image and its unfolded copy: one kernel
# row (k values) or, at stride 1, a run of an image row across the output columns. Eight or four
# values are written out, every load before any store, so the compiler moves them as one vector
# with no overlap check; as loops these moves took ~5x as long, about half of the Atari forward
# pass. Adding back (col2im) has only the 4-wide case: the 8-wide layers (Atari's first, MinAtar's
# conv) are first layers, whose input gradient is never computed. Keep the parameter names
# ``dst`` / ``src``: named ``row`` / ``image`` (the callers' names), the same code ran ~10x
# slower, not vectorized (measured; the cause inside Numba's inlining is not understood).
@njit(cache=True, fastmath=FAST, inline="always")
def _copy_into(dst, src, count):
    """dst[:count] = src[:count]."""
    if count == 8:
        v0, v1, v2, v3, v4, v5, v6, v7 = src[0], src[1], src[2], src[3], src[4], src[5], src[6], src[7]
        dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6], dst[7] = v0, v1, v2, v3, v4, v5, v6, v7
    elif count == 4:
        v0, v1, v2, v3 = src[0], src[1], src[2], src[3]
        dst[0], dst[1], dst[2], dst[3] = v0, v1, v2, v3
    else:
        for e in range(count):
            dst[e] = src[e]


@njit(cache=True, fastmath=FAST, inline="always")
def _add_into(dst, src, count):
    """dst[:count] += src[:count]."""
    if count == 4:
        v0, v1, v2, v3 = dst[0], dst[1], dst[2], dst[3]
        u0, u1, u2, u3 = src[0], src[1], src[2], src[3]
        dst[0], dst[1], dst[2], dst[3] = v0 + u0, v1 + u1, v2 + u2, v3 + u3
    else:
        for e in range(count):
            dst[e] += src[e]


@njit(cache=True, fastmath=FAST, inline="always")
def _move(unfolded, image, count, adjoint):
    """unfolded[:count] = image[:count], or with ``adjoint`` image[:count] += unfolded[:count]."""
    if adjoint:
        _add_into(image, unfolded, count)
    else:
        _copy_into(unfolded, image, count)


@njit(cache=True, fastmath=FAST, inline="always")
def _unfold_by_position(x, conv, patches, adjoint):
    """im2col with one row per tap: patches[((c k + ki) k + kj) P + i ow + j] = x[c, i s + ki, j s + kj].
    With ``adjoint``, its transpose instead (col2im): those x values += those patch values."""
    c_in, height, width, _, k, stride, oh, ow = _conv_dims(conv)
    positions = oh * ow
    for c in range(c_in):
        for ki in range(k):
            for kj in range(k):
                tap = (c * k + ki) * k + kj
                row = patches[tap * positions:(tap + 1) * positions]
                for i in range(oh):
                    start = (c * height + i * stride + ki) * width + kj
                    if stride == 1:  # a contiguous run of ow values (MinAtar's conv, for up to 7 channels)
                        _move(row[i * ow:(i + 1) * ow], x[start:start + ow], ow, adjoint)
                    else:
                        for j in range(ow):
                            if adjoint:
                                x[start + j * stride] += row[i * ow + j]
                            else:
                                row[i * ow + j] = x[start + j * stride]


@njit(cache=True, fastmath=FAST, inline="always")
def _unfold_by_tap(x, conv, patches, adjoint):
    """im2col with one row per position: patches[(i ow + j) T + (c k + ki) k + kj] = x[c, i s + ki, j s + kj].
    With ``adjoint``, its transpose instead (col2im): those x values += those patch values."""
    c_in, height, width, _, k, stride, oh, ow = _conv_dims(conv)
    taps = c_in * k * k
    for i in range(oh):
        for j in range(ow):
            row = patches[(i * ow + j) * taps:(i * ow + j + 1) * taps]
            for c in range(c_in):
                for ki in range(k):
                    start = (c * height + i * stride + ki) * width + j * stride
                    base = (c * k + ki) * k
                    _move(row[base:base + k], x[start:start + k], k, adjoint)


@njit(cache=True, fastmath=FAST, inline="always")
def _unfold(x, conv, patches, adjoint):
    """im2col (or, with ``adjoint``, col2im) in the layer's layout."""
    if conv[BY_POSITION]:
        _unfold_by_position(x, conv, patches, adjoint)
    else:
        _unfold_by_tap(x, conv, patches, adjoint)


@njit(cache=True, fastmath=FAST, inline="always")
def _four_rows(patches, p, taps):
    """Unfolded rows p to p + 3 of a layer unfolded one row per position."""
    return (patches[p * taps:(p + 1) * taps], patches[(p + 1) * taps:(p + 2) * taps],
            patches[(p + 2) * taps:(p + 3) * taps], patches[(p + 3) * taps:(p + 4) * taps])


@njit(cache=True, fastmath=FAST, inline="always")
def _conv_forward(w, conv, patches, a):
    """a = bias + W patches for one conv layer, its input already unfolded into ``patches``."""
    _, _, _, c_out, k, _, oh, ow = _conv_dims(conv)
    taps, positions = conv[C_IN] * k * k, oh * ow
    cw, cb = conv[W_OFF], conv[B_OFF]
    if conv[BY_POSITION]:  # long rows of positions: plane += weight * unfolded row
        for o in range(c_out):
            plane = a[o * positions:(o + 1) * positions]
            plane[:] = w[cb + o]
            for t in range(taps):
                weight = w[cw + o * taps + t]
                row = patches[t * positions:(t + 1) * positions]
                for p in range(positions):
                    plane[p] += weight * row[p]
    else:  # long rows of taps: dot products, two weight rows with four unfolded rows per pass
        # (positions outside, outputs inside: the four rows stay in L1 while the weights pass by)
        zero = a.dtype.type(0.0)
        p = 0
        while p < positions:
            first_single, block = 0, 1  # what the plain loop below does: outputs from, positions
            if p + 4 <= positions:
                r0, r1, r2, r3 = _four_rows(patches, p, taps)
                o = 0
                while o + 2 <= c_out:
                    wa, wb = w[cw + o * taps:cw + (o + 1) * taps], w[cw + (o + 1) * taps:cw + (o + 2) * taps]
                    a0, a1, a2, a3, b0, b1, b2, b3 = zero, zero, zero, zero, zero, zero, zero, zero
                    for t in range(taps):
                        x0, x1, x2, x3, u, v = r0[t], r1[t], r2[t], r3[t], wa[t], wb[t]
                        a0 += u * x0
                        a1 += u * x1
                        a2 += u * x2
                        a3 += u * x3
                        b0 += v * x0
                        b1 += v * x1
                        b2 += v * x2
                        b3 += v * x3
                    bias_a, bias_b = w[cb + o], w[cb + o + 1]
                    plane_a = a[o * positions + p:o * positions + p + 4]
                    plane_b = a[(o + 1) * positions + p:(o + 1) * positions + p + 4]
                    plane_a[0], plane_a[1], plane_a[2], plane_a[3] = a0 + bias_a, a1 + bias_a, a2 + bias_a, a3 + bias_a
                    plane_b[0], plane_b[1], plane_b[2], plane_b[3] = b0 + bias_b, b1 + bias_b, b2 + bias_b, b3 + bias_b
                    o += 2
                first_single, block = o, 4  # an odd output left over
            for q in range(p, p + block):
                row = patches[q * taps:(q + 1) * taps]
                for o in range(first_single, c_out):
                    w_row = w[cw + o * taps:cw + (o + 1) * taps]
                    s = zero
                    for t in range(taps):
                        s += w_row[t] * row[t]
                    a[o * positions + q] = s + w[cb + o]
            p += block


# A network's layout arrays travel to the kernels packed into one int64 array, and a forward
# pass's caches into one array of the activations' dtype (``acts``: h, a, n, patches) plus one
# float64 array (``inv_out``: each normalized layer's inv, then the outputs): Numba's dispatch
# costs ~0.15 us per argument, and a step makes three to five kernel calls.
N_CONV, N_SIZES, N_VALUES, N_PATCHES, N_NORMALIZED = range(5)  # the header's fields
HEADER_LENGTH = N_NORMALIZED + 1


def pack_layout(sizes: np.ndarray, w_off: np.ndarray, b_off: np.ndarray, h_off: np.ndarray, convs: np.ndarray,
                n_patches: int) -> np.ndarray:
    """One int64 array: a header (the counts above), then convs (row-major), sizes, w_off, b_off, h_off."""
    n_normalized = len(convs) + len(sizes) - 2
    header = [len(convs), len(sizes), int(h_off[-1]), n_patches, n_normalized]
    return np.concatenate([header, convs.ravel(), sizes, w_off, b_off, h_off]).astype(np.int64)


@njit(cache=True, fastmath=FAST, inline="always")
def _unpack_layout(layout):
    """(sizes, w_off, b_off, h_off, convs) from a packed layout."""
    n_conv, n_sizes = layout[N_CONV], layout[N_SIZES]
    start = HEADER_LENGTH + n_conv * CONV_COLUMNS
    convs = layout[HEADER_LENGTH:start].reshape((n_conv, CONV_COLUMNS))
    n_linear = n_sizes - 1  # one weight offset and one bias offset per linear layer
    sizes = layout[start:start + n_sizes]
    w_off = layout[start + n_sizes:start + n_sizes + n_linear]
    b_off = layout[start + n_sizes + n_linear:start + n_sizes + 2 * n_linear]
    h_off = layout[start + n_sizes + 2 * n_linear:start + 2 * n_sizes + 2 * n_linear + 1]
    return sizes, w_off, b_off, h_off, convs


@njit(cache=True, fastmath=FAST, inline="always")
def _unpack_cache(layout, acts, inv_out):
    """(h, a, n, patches, inv, out) of one forward pass's cache."""
    m, n_normalized = layout[N_VALUES], max(layout[N_NORMALIZED], 1)
    patches = acts[3 * m:3 * m + layout[N_PATCHES]]
    return acts[:m], acts[m:2 * m], acts[2 * m:3 * m], patches, inv_out[:n_normalized], inv_out[n_normalized:]


# The step an update leaves for the next forward pass (see ``forward``) lives in a float64 array
# ``pending`` = [what, scale]: set by FusedNetwork.step, cleared by the kernel that makes the step,
# so no Ctrl-C between that kernel's return and the next Python line can make a step twice.
NO_STEP, STEP, STEP_THEN_CLEAR = range(3)  # what: nothing; w += scale direction; that, then direction <- 0
WHAT, SCALE = range(2)


@njit(cache=True, fastmath=FAST, inline="always")
def _step_along(w, direction, scale, clear):
    """w += scale direction (float32, elementwise); then direction <- 0 if ``clear``."""
    for i in range(len(w)):
        w[i] += scale * direction[i]
    if clear:
        direction[:] = 0.0


@njit(cache=True, fastmath=FAST)
def apply_step(w, direction, pending):
    """Makes the pending step, if any, on every parameter at once."""
    what = int(pending[WHAT])
    if what != NO_STEP:
        _step_along(w, direction, np.float32(pending[SCALE]), what == STEP_THEN_CLEAR)
        pending[WHAT] = NO_STEP


@njit(cache=True, fastmath=FAST)
def forward(w, x, layout, acts, inv_out, direction, pending):
    """Outputs of the network at x (float32, flattened), caching what the backward pass needs in
    ``acts`` and ``inv_out`` (see _unpack_cache); the outputs are the end of ``inv_out``.

    On the way it makes the step the last update left ``pending``: w += scale direction (then
    direction <- 0 for STEP_THEN_CLEAR), each conv layer's weights and biases just before its
    convolution, each dense layer's biases and then each weight row just before the row's dot
    product. So each row is read from memory once for both the step and the pass (MinAtar's
    528 KB of weights and 528 KB of trace do not fit in L2); the pass then reads the row again
    from L1 with the very loop it runs without a step, so the outputs are the same to the bit as
    after ``apply_step`` and a plain pass."""
    what = int(pending[WHAT])
    step_now, scale32, clear = what != NO_STEP, np.float32(pending[SCALE]), what == STEP_THEN_CLEAR
    sizes, w_off, b_off, h_off, convs = _unpack_layout(layout)
    h, a, n, patches, inv, out = _unpack_cache(layout, acts, inv_out)
    n_conv = len(convs)
    for layer in range(n_conv):
        conv = convs[layer]
        c_in, height, width, c_out, k, _, oh, ow = _conv_dims(conv)
        size = c_in * k * k * oh * ow
        layer_patches = patches[conv[PATCH_OFF]:conv[PATCH_OFF] + size]
        if layer == 0:  # two calls: x is float32, h can be float64, and one variable has one type
            _unfold(x[:c_in * height * width], conv, layer_patches, False)
        else:
            start = convs[layer - 1, OUT_OFF]
            _unfold(h[start:start + c_in * height * width], conv, layer_patches, False)
        start, m = conv[OUT_OFF], c_out * oh * ow
        if step_now:  # its weights, then its biases (they follow them)
            first, end = conv[W_OFF], conv[B_OFF] + c_out
            _step_along(w[first:end], direction[first:end], scale32, clear)
        _conv_forward(w, conv, layer_patches, a[start:start + m])
        inv[layer] = _layer_norm_leaky(a[start:start + m], n[start:start + m], h[start:start + m])
    if n_conv == 0:
        h[:sizes[0]] = x[:sizes[0]]
    n_layers = len(sizes) - 1
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        h_in = h[h_off[layer]:h_off[layer] + n_in]
        target = a[h_off[layer + 1]:h_off[layer + 1] + n_out]
        if step_now:
            first = b_off[layer]
            _step_along(w[first:first + n_out], direction[first:first + n_out], scale32, clear)
        for o in range(n_out):
            start = w_off[layer] + o * n_in
            row = w[start:start + n_in]
            if step_now:
                _step_along(row, direction[start:start + n_in], scale32, clear)
            s = h_in.dtype.type(0.0)
            for i in range(n_in):
                s += row[i] * h_in[i]
            target[o] = s + w[b_off[layer] + o]
        if layer < n_layers - 1:
            start = h_off[layer + 1]
            inv[n_conv + layer] = _layer_norm_leaky(target, n[start:start + n_out], h[start:start + n_out])
        else:
            for o in range(n_out):
                out[o] = target[o]
    pending[WHAT] = NO_STEP


@njit(cache=True, fastmath=FAST, inline="always")
def _decay_add(z, decay, grad):
    """z <- decay z + grad (a scalar); returns |z| after."""
    zi = decay * z + grad
    return zi, abs(zi)


@njit(cache=True, fastmath=FAST, inline="always")
def _conv_trace(w, z, decay, conv, patches, g, grads):
    """z <- decay z + dL/dw for one conv layer's weights and biases, given g = dL/d(its outputs);
    returns the added |z|_1 (float64). ``grads`` is scratch space of at least C_out taps values."""
    _, _, _, c_out, k, _, oh, ow = _conv_dims(conv)
    taps, positions = conv[C_IN] * k * k, oh * ow
    cw, cb = conv[W_OFF], conv[B_OFF]
    l1 = 0.0
    for o in range(c_out):
        plane = g[o * positions:(o + 1) * positions]
        bias_grad = plane.dtype.type(0.0)
        for p in range(positions):
            bias_grad += plane[p]
        z[cb + o], size = _decay_add(z[cb + o], decay, bias_grad)
        l1 += size
        if conv[BY_POSITION]:  # one dot product over positions per weight
            for t in range(taps):
                row = patches[t * positions:(t + 1) * positions]
                s = plane.dtype.type(0.0)
                for p in range(positions):
                    s += plane[p] * row[p]
                z[cw + o * taps + t], size = _decay_add(z[cw + o * taps + t], decay, s)
                l1 += size
    if conv[BY_POSITION]:
        return l1
    # Each weight row's gradient is a sum of unfolded rows times gradients: four unfolded rows
    # (kept in L1) per pass over all the weight rows' gradients, two rows of them at a time, then
    # one pass over the trace.
    grads = grads[:c_out * taps]
    grads[:] = 0.0
    p = 0
    while p < positions:
        first_single, block = 0, 1  # what the plain loop below does: outputs from, positions
        if p + 4 <= positions:
            r0, r1, r2, r3 = _four_rows(patches, p, taps)
            o = 0
            while o + 2 <= c_out:
                grad_a, grad_b = grads[o * taps:(o + 1) * taps], grads[(o + 1) * taps:(o + 2) * taps]
                plane_a = g[o * positions + p:o * positions + p + 4]
                plane_b = g[(o + 1) * positions + p:(o + 1) * positions + p + 4]
                a0, a1, a2, a3 = plane_a[0], plane_a[1], plane_a[2], plane_a[3]
                b0, b1, b2, b3 = plane_b[0], plane_b[1], plane_b[2], plane_b[3]
                for t in range(taps):
                    x0, x1, x2, x3 = r0[t], r1[t], r2[t], r3[t]
                    grad_a[t] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
                    grad_b[t] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3
                o += 2
            first_single, block = o, 4  # an odd output left over
        for q in range(p, p + block):
            row = patches[q * taps:(q + 1) * taps]
            for o in range(first_single, c_out):
                grad = grads[o * taps:(o + 1) * taps]
                gq = g[o * positions + q]
                for t in range(taps):
                    grad[t] += gq * row[t]
        p += block
    z_rows = z[cw:cw + c_out * taps]
    row_l1 = 0.0
    for i in range(c_out * taps):
        zi = decay * z_rows[i] + grads[i]
        z_rows[i] = zi
        row_l1 += abs(zi)
    return l1 + row_l1


@njit(cache=True, fastmath=FAST, inline="always")
def _conv_input_grad(w, conv, g, g_in, patch_grad):
    """g_in = dL/d(the conv's input) given g = dL/d(its outputs): W^T g per position (into the
    scratch ``patch_grad``), then scatter-added back onto the input (col2im)."""
    _, _, _, c_out, k, _, oh, ow = _conv_dims(conv)
    taps, positions = conv[C_IN] * k * k, oh * ow
    cw = conv[W_OFF]
    grads = patch_grad[:taps * positions]
    g_in[:] = 0.0
    if conv[BY_POSITION]:
        grads[:] = 0.0
        for o in range(c_out):
            plane = g[o * positions:(o + 1) * positions]
            for t in range(taps):
                weight = w[cw + o * taps + t]
                row = grads[t * positions:(t + 1) * positions]
                for p in range(positions):
                    row[p] += weight * plane[p]
    else:  # per position, the sum of weight rows times gradients (four rows per pass)
        for p in range(positions):
            row = grads[p * taps:(p + 1) * taps]
            row[:] = 0.0
            o = 0
            while o + 4 <= c_out:
                w0, w1 = w[cw + o * taps:cw + (o + 1) * taps], w[cw + (o + 1) * taps:cw + (o + 2) * taps]
                w2, w3 = w[cw + (o + 2) * taps:cw + (o + 3) * taps], w[cw + (o + 3) * taps:cw + (o + 4) * taps]
                g0, g1 = g[o * positions + p], g[(o + 1) * positions + p]
                g2, g3 = g[(o + 2) * positions + p], g[(o + 3) * positions + p]
                for t in range(taps):
                    row[t] += g0 * w0[t] + g1 * w1[t] + g2 * w2[t] + g3 * w3[t]
                o += 4
            for q in range(o, c_out):
                gq = g[q * positions + p]
                w_row = w[cw + q * taps:cw + (q + 1) * taps]
                for t in range(taps):
                    row[t] += gq * w_row[t]
    _unfold(g_in, conv, grads, True)


@njit(cache=True, fastmath=FAST, inline="always")
def _accumulate_trace(w, z, decay, g_out, layout, acts, inv_out, work):
    """z <- decay z + d(g_out . outputs)/dw at the state cached in ``acts`` and ``inv_out``, in one
    pass over z (``work``: scratch space). Returns |z|_1 after the update, summed in float64 (each
    dense row's share in the activations' precision, see above)."""
    sizes, w_off, b_off, h_off, convs = _unpack_layout(layout)
    h, _, n, patches, inv, _ = _unpack_cache(layout, acts, inv_out)
    g, scratch = work[:layout[N_VALUES]], work[layout[N_VALUES]:]
    decay = g.dtype.type(decay)  # the activations' precision (see FusedNetwork)
    l1 = 0.0
    n_conv = len(convs)
    n_layers = len(sizes) - 1
    g[h_off[n_layers]:h_off[n_layers] + sizes[n_layers]] = g_out
    for layer in range(n_layers - 1, -1, -1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        src, dst = h_off[layer], h_off[layer + 1]
        h_in, g_in, g_o = h[src:src + n_in], g[src:src + n_in], g[dst:dst + n_out]
        backprop = layer > 0 or n_conv > 0  # the input layer's gradient is not needed
        g_in[:] = 0.0
        for o in range(n_out):
            go = g_o[o]
            z[b_off[layer] + o], size = _decay_add(z[b_off[layer] + o], decay, go)
            l1 += size
            start = w_off[layer] + o * n_in
            z_row, w_row = z[start:start + n_in], w[start:start + n_in]
            row_l1 = g.dtype.type(0.0)  # see the module's docstring
            for i in range(n_in):
                zi = decay * z_row[i] + go * h_in[i]
                z_row[i] = zi
                row_l1 += abs(zi)
            l1 += row_l1
            if backprop and go != 0.0:
                for i in range(n_in):
                    g_in[i] += go * w_row[i]
        if layer > 0:
            _layer_norm_leaky_backward(g_in, n[src:src + n_in], inv[n_conv + layer - 1])
    for layer in range(n_conv - 1, -1, -1):
        conv = convs[layer]
        c_in, height, width, c_out, k, _, oh, ow = _conv_dims(conv)
        start, m = conv[OUT_OFF], c_out * oh * ow
        g_o = g[start:start + m]
        _layer_norm_leaky_backward(g_o, n[start:start + m], inv[layer])
        layer_patches = patches[conv[PATCH_OFF]:conv[PATCH_OFF] + c_in * k * k * oh * ow]
        l1 += _conv_trace(w, z, decay, conv, layer_patches, g_o, scratch)
        if layer > 0:  # the first layer's input gradient is not needed
            before = convs[layer - 1, OUT_OFF]
            _conv_input_grad(w, conv, g_o, g[before:before + c_in * height * width], scratch)
    return l1


# The kernels a network's update is made of, called from Python: ``accumulate_trace`` (the
# backward pass, adding the gradient into a trace), then the step rule's own arithmetic, then the
# step, which waits in ``pending`` for the next forward pass (or ``apply_step``).
@njit(cache=True, fastmath=FAST)
def accumulate_trace(w, z, decay, g_out, layout, acts, inv_out, work):
    """z <- decay z + d(g_out . outputs)/dw at the state cached by the last forward pass, in one
    pass over z (``work``: scratch space); returns |z|_1 (float64). With decay 0, z is the gradient."""
    return _accumulate_trace(w, z, decay, g_out, layout, acts, inv_out, work)


@njit(cache=True, fastmath=FAST)
def add_to_trace(z, decay, grad):
    """z <- decay z + grad for a gradient computed elsewhere (the torch backend's); returns |z|_1
    (float64)."""
    l1 = 0.0
    for i in range(len(z)):
        z[i], size = _decay_add(z[i], decay, grad[i])
        l1 += size
    return l1


@njit(cache=True, fastmath=FAST)
def step_along(w, direction, scale, clear):
    """w += scale direction (elementwise, in w's precision), then direction <- 0 if ``clear``: a step
    made at once."""
    _step_along(w, direction, w.dtype.type(scale), clear)
