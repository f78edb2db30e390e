"""Sparse initialization (Elsayed et al. 2024, Algorithm 1; docs/method.md, "Sparse initialization")."""

from __future__ import annotations

import math

import numpy as np


def sparse_uniform(shape: tuple[int, ...], sparsity: float, rng: np.random.Generator) -> np.ndarray:
    """Weights ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with exactly ``ceil(sparsity * fan_in)``
    zeros per output unit, chosen without replacement. ``shape`` is (out, in) or (out, in, kh, kw).
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    fan_out, fan_in = shape[0], int(np.prod(shape[1:]))
    bound = 1.0 / math.sqrt(fan_in)
    weights = rng.uniform(-bound, bound, size=(fan_out, fan_in))
    n_zeros = math.ceil(sparsity * fan_in)
    for row in weights:
        row[rng.permutation(fan_in)[:n_zeros]] = 0.0
    return weights.reshape(shape).astype(np.float32)


def sparse_init_(tensor, sparsity: float = 0.9, rng: np.random.Generator | None = None):
    """In-place sparse initialization of a torch weight tensor (2-D linear or 4-D conv)."""
    import torch

    if tensor.dim() not in (2, 4):
        raise ValueError(f"sparse_init_ expects a 2-D (linear) or 4-D (conv) weight, got {tensor.dim()}-D")
    rng = rng if rng is not None else np.random.default_rng()
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(sparse_uniform(tuple(tensor.shape), sparsity, rng)))
    return tensor


def default_uniform(shape: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's default initialization of an ``nn.Linear`` / ``nn.Conv2d`` (the ablation of sparse
    init), drawn from a NumPy generator so a seed gives the same numbers on every backend.

    ``reset_parameters`` draws the weight with ``kaiming_uniform_(a=sqrt(5))``, whose bound is
    ``gain * sqrt(3 / fan_in)`` with ``gain = sqrt(2 / (1 + a^2)) = sqrt(1/3)``, i.e. ``1/sqrt(fan_in)``;
    the bias is ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` too. Returns (weight, bias), weight first.
    """
    fan_out, fan_in = shape[0], int(np.prod(shape[1:]))
    bound = 1.0 / math.sqrt(fan_in)
    weight = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    bias = rng.uniform(-bound, bound, size=fan_out).astype(np.float32)
    return weight, bias


def orthogonal(shape: tuple[int, int], rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """A (semi-)orthogonal weight matrix as ``torch.nn.init.orthogonal_`` makes one (Saxe et al. 2014):
    the Q of the QR decomposition of a standard normal matrix (transposed when it is wide), its
    columns' signs set by R's diagonal so the draw is uniform; drawn from a NumPy generator."""
    rows, cols = shape
    normal = rng.standard_normal((rows, cols) if rows >= cols else (cols, rows))
    q, r = np.linalg.qr(normal)
    q *= np.sign(np.diag(r))
    return (gain * (q if rows >= cols else q.T)).astype(np.float32)
