"""What a network is, in a few fields: the paper's networks (an MLP, the MinAtar CNN, the Atari CNN)
are built from this on either backend (:mod:`streamrl.networks.fused`,
:mod:`streamrl.networks.torch_modules`), from the same initial numbers for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

NETWORK_KINDS = ("mlp", "minatar_cnn", "atari_cnn")
# The CNNs (Elsayed et al. 2024, "Networks"): (C_out, kernel, stride) of each conv layer, no
# padding, then the width of the one hidden dense layer before the output layer.
CNN_LAYERS = {"minatar_cnn": ([(16, 3, 1)], 128),
              "atari_cnn": ([(32, 8, 5), (64, 4, 3), (64, 3, 2)], 256)}


@dataclass(frozen=True)
class NetworkSpec:
    kind: str  # one of NETWORK_KINDS
    input_shape: tuple[int, ...]
    n_outputs: int
    hidden: tuple[int, ...] = (32, 32)  # MLP hidden widths; the CNNs' dense widths are fixed

    def __post_init__(self) -> None:
        if self.kind not in NETWORK_KINDS:
            raise ValueError(f"unknown network kind {self.kind!r}; choose one of {NETWORK_KINDS}")
