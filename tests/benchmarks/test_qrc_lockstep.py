"""benchmarks/qrc_lockstep.py, which runs streamrl's QRC(lambda) in lockstep with the authors'
release (not in this repository, nor fetched): its parts that need no release."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers import benchmark_script

HARNESS = Path(__file__).parents[2] / "benchmarks" / "qrc_lockstep.py"
FEATURES = (2, 3, 4)  # channels, height, width of a toy convolution's output


def harness_module():
    return benchmark_script("qrc_lockstep")


def test_a_folder_without_the_release_is_refused(tmp_path):
    result = subprocess.run([sys.executable, str(HARNESS), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "lacks gtd_algos/src/algorithms/qrc.py" in result.stderr
    assert "give the folder of the authors' code" in result.stderr


def toy_weights(rng):
    channels, height, width = FEATURES
    return [rng.normal(size=(channels, 5, 3, 3)), rng.normal(size=channels),
            rng.normal(size=(7, channels * height * width)), rng.normal(size=7), rng.normal(size=(3, 7)),
            rng.normal(size=3)]


def test_weights_copied_into_their_layout_come_back_unchanged():
    module = harness_module()
    ours = toy_weights(np.random.default_rng(0))
    theirs = module.to_flax(ours, FEATURES)
    expected = np.concatenate([w.astype(np.float32).astype(np.float64).ravel() for w in ours])
    assert np.array_equal(module.from_flax(theirs, FEATURES), expected)


def test_a_feature_map_unit_lands_where_their_channels_last_flattening_reads_it():
    """streamrl flattens the feature maps channels first (c, h, w); flax channels last (h, w, c):
    the weight from channel c at (h, w) to hidden unit o is their kernel[(h * W + w) * C + c, o]."""
    module = harness_module()
    channels, height, width = FEATURES
    ours = [np.zeros_like(w) for w in toy_weights(np.random.default_rng(0))]
    c, h, w, o = 1, 2, 3, 5
    ours[2][o, c * height * width + h * width + w] = 1.0
    ours[0][1, 4, 0, 2] = 2.0  # conv: out 1, in 4, row 0, column 2
    theirs = module.to_flax(ours, FEATURES)["params"]
    dense = theirs["Dense_0"]["kernel"]
    assert dense.shape == (channels * height * width, 7) and dense[(h * width + w) * channels + c, o] == 1.0
    assert dense.sum() == 1.0
    conv = theirs["Conv_0"]["kernel"]
    assert conv.shape == (3, 3, 5, 2) and conv[0, 2, 4, 1] == 2.0 and conv.sum() == 2.0
    assert theirs["Dense_1"]["kernel"].shape == (7, 3)
