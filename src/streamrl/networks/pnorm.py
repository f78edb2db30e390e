"""AVG's networks (Vasan et al. 2024) as torch modules: an MLP of LeakyReLU layers whose last hidden
features are divided by their L2 norm ("penultimate normalization") before the linear output
heads, every weight initialized orthogonally and every bias at zero. The actor has two heads (the
Gaussian's mean and log-variance: :func:`squashed_gaussian`), the critic one (Q(s, a), its input
the state and the action)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from streamrl.networks.init import orthogonal


class PenultimateNorm(nn.Module):
    """``x / |x|_2`` per sample, the norm floored at 1e-12 (as torch's F.normalize): features of all
    zeros (every pre-activation 0, as at a normalized first observation of all zeros with zero
    biases) stay zeros, where the authors' division gives NaN; any other features are theirs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.norm(x, dim=1).view((-1, 1)).clamp_min(1e-12)


class PenultimateNormMLP(nn.Module):
    """``trunk`` (Linear then LeakyReLU per hidden width), PenultimateNorm, then one linear head per
    entry of ``head_sizes``, their outputs side by side (the actor's mean, then its log-variance)."""

    def __init__(self, n_inputs: int, hidden: tuple[int, ...], head_sizes: tuple[int, ...],
                 rng: np.random.Generator) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU()]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.norm = PenultimateNorm()
        self.heads = nn.ModuleList(nn.Linear(width, size) for size in head_sizes)
        with torch.no_grad():  # in module order, as the authors' self.apply(orthogonal_weight_init)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    m.weight.copy_(torch.from_numpy(orthogonal(tuple(m.weight.shape), rng)))
                    m.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.norm(self.trunk(x))
        return torch.cat([head(features) for head in self.heads], dim=-1)


LOG_SQRT_2PI, LOG_2 = 0.5 * math.log(2.0 * math.pi), math.log(2.0)


def squashed_gaussian(head: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The actor's action tanh(u), u = mean + exp(l / 2) noise, and its log-probability, from its
    outputs (the mean, then the log-variance l, clamped to [-20, 2]: the authors' "log_std" head
    is the log of the covariance's diagonal). tanh's change of density in a form stable for large
    |u|: log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))."""
    mean, log_var = head.chunk(2, dim=-1)
    log_var = log_var.clamp(-20.0, 2.0)
    std = (0.5 * log_var).exp()
    u = mean + std * noise
    z = (u - mean) / std  # (the noise, as the density of u sees it: gradients through u and the mean cancel)
    log_density = (-0.5 * z * z - 0.5 * log_var - LOG_SQRT_2PI).sum(-1)
    return u.tanh(), log_density - (2.0 * (LOG_2 - u - F.softplus(-2.0 * u))).sum(-1)
