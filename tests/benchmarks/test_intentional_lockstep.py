"""benchmarks/intentional_lockstep.py, which runs streamrl's Intentional agents in lockstep with
the authors' release (not in this repository, nor fetched): its parts that need no release."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import benchmark_script

HARNESS = Path(__file__).parents[2] / "benchmarks" / "intentional_lockstep.py"


def harness_module():
    return benchmark_script("intentional_lockstep")


def test_a_folder_without_the_release_is_refused(tmp_path):
    result = subprocess.run([sys.executable, str(HARNESS), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "lacks optimizer.py, intentional_ac.py" in result.stderr
    assert "give the folder of the authors' code" in result.stderr


def test_their_step_s_local_variables_are_read_as_it_returns():
    """Their optimizer is left unchanged: a profile hook reads what its step computed, torch's own
    hooks around an optimizer's step notwithstanding."""
    torch = pytest.importorskip("torch")

    class Toy(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        def step(self, delta, reset=False):
            step_size = 0.5 / (1.0 + abs(delta))
            for p in self.param_groups[0]["params"]:
                p.data.add_(p.grad, alpha=-step_size * delta)

    w = torch.nn.Parameter(torch.ones(2))
    optimizer = Toy([w])
    captured = harness_module().recording_steps(optimizer)
    (w.sum()).backward()
    optimizer.step(3.0, reset=True)
    assert captured["step_size"] == 0.125 and captured["delta"] == 3.0 and captured["reset"] is True
    assert w.tolist() == [1 - 0.375, 1 - 0.375]


def test_scalars_are_compared_against_their_rms_and_arrays_against_their_largest_entry(capsys):
    record = harness_module().Record()
    for step, (ours, theirs) in enumerate([(1.0, 1.0), (0.001, 0.0010005), (-2.0, -2.0)], start=1):
        record.compare(step, "delta", ours, theirs)  # 5e-7 apart where delta is ~0: no parting
    record.compare(4, "weights", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 2e-3]))
    assert record.report("toy", 4) is False  # the weights parted (1e-3 of the largest entry)
    out = capsys.readouterr().out
    assert "weights" in out and "first past 0.0001 at step 4" in out
    assert record.worst["delta"] == pytest.approx(5e-7 / np.sqrt((1 + 0.0010005**2 + 4) / 3))
