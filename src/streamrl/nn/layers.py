"""Layer normalization without learned gain or bias (STREAM_X.md, technique 4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm(nn.Module):
    """Normalizes each sample over all of its features (C x H x W together for a conv output).

    It has no parameters, by design: the method uses none.
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[1:], eps=self.eps)
