"""Optimizers of the stream-x method (need PyTorch: ``pip install "streamrl[torch]"``)."""

from streamrl.optim.obgd import AdaptiveObGD, ObGD

__all__ = ["ObGD", "AdaptiveObGD"]
