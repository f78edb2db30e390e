"""A learner on the fused (Numba) network against one on the torch network, each with the same
step rule: from the same initial weights, the same 1,000 updates give the same weights, traces
and outputs, for MLPs and the MinAtar CNN (300 for
the Atari CNN, see below), with ObGD and AdaptiveObGD, including steps where the bound is active
and where traces are cleared.

Relative error is ||fused - torch|| / ||torch|| over each whole network. The fused path
accumulates in float64 and the torch path in float32, so the two drift apart by rounding only:
at most 1e-5 after 1,000 updates.

The small MLP takes 12 inputs, not CartPole's 5: with 5, sparse init zeroes every first-layer
weight (ceil(0.9 * 5) = 5 per unit), the layer norm then divides near-zero pre-activations by
sqrt(var + 1e-5) and amplifies every rounding, and AdaptiveObGD's z / sqrt(v) gives a rounding-
sized trace entry the weight of a real one. The backends then part by the CPU's rounding (torch
in float32 is itself 3.5e-5 from torch in float64 there), which says nothing about the kernels.

The Atari CNN takes 300 updates: on this synthetic stream (random inputs, gradients and TD
errors) its weights become chaotic after about 500, where torch in float32 and torch in float64
part too (1e-5 apart after 500 updates, 3e-3 after 600), so a later comparison measures the
chaos, not the kernels. After 300 the backends' weights are 5e-8 apart, traces 7e-7, outputs 5e-6.
"""

import numpy as np
import pytest
import torch

from streamrl.learners import make_learner
from streamrl.networks import NetworkSpec, fused_kernels

SPECS = [NetworkSpec("mlp", (12,), 2, (32, 32)),  # a classic-control Q network
         NetworkSpec("mlp", (18,), 12, (128, 128)),  # HalfCheetah actor
         NetworkSpec("minatar_cnn", (4, 10, 10), 3),
         NetworkSpec("atari_cnn", (4, 84, 84), 4)]
TOLERANCE = 1e-5
UPDATES = {SPECS[0]: 1000, SPECS[1]: 1000, SPECS[2]: 1000, SPECS[3]: 300}


def relative_error(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    a_flat, b_flat = np.concatenate([x.ravel() for x in a]), np.concatenate([x.ravel() for x in b])
    return float(np.linalg.norm(a_flat - b_flat) / np.linalg.norm(b_flat))


@pytest.mark.parametrize("optimizer", ["obgd", "adaptive"])
@pytest.mark.parametrize("spec", SPECS, ids=["mlp-32", "mlp-128", "minatar-cnn", "atari-cnn"])
def test_same_updates_same_numbers(spec, optimizer):
    torch.set_num_threads(1)
    fused, reference = (make_learner(spec, optimizer, backend=backend, rng=np.random.default_rng(0))
                        for backend in ("fused", "torch"))
    assert relative_error(fused.parameters(), reference.parameters()) == 0.0
    rng = np.random.default_rng(1)
    active, cleared, worst_output = 0, 0, 0.0
    for _ in range(UPDATES[spec]):
        x = rng.normal(size=spec.input_shape).astype(np.float32)
        out_fused, out_torch = fused.forward(x), reference.forward(x)
        worst_output = max(worst_output, float(np.abs(out_fused - out_torch).max() / (np.abs(out_torch).max() + 1e-3)))
        grad_out, delta, reset = rng.normal(size=spec.n_outputs), float(rng.normal() * 3), bool(rng.random() < 0.1)
        info_fused, info_torch = fused.update(grad_out, delta, reset), reference.update(grad_out, delta, reset)
        assert info_fused.bound_active == info_torch.bound_active
        assert info_fused.step_size == pytest.approx(info_torch.step_size, rel=TOLERANCE)
        active += info_fused.bound_active
        cleared += reset
        if reset:
            assert not any(z.any() for z in fused.traces())
    assert active > UPDATES[spec] / 10 and cleared > UPDATES[spec] / 20  # both regimes were exercised
    assert relative_error(fused.parameters(), reference.parameters()) <= TOLERANCE
    assert relative_error(fused.traces(), reference.traces()) <= TOLERANCE
    assert worst_output <= 10 * TOLERANCE  # outputs at every step, relative to their size
    x = rng.normal(size=spec.input_shape).astype(np.float32)
    np.testing.assert_allclose(fused.evaluate(x), reference.evaluate(x), rtol=1e-4, atol=1e-5)


def test_fused_state_round_trip():
    spec = SPECS[0]
    a = make_learner(spec, "adaptive", backend="fused", rng=np.random.default_rng(0))
    a.forward(np.ones(12, dtype=np.float32))
    a.update(np.ones(2), 2.0, False)
    b = make_learner(spec, "adaptive", backend="fused", rng=np.random.default_rng(9))
    b.load_state_dict(a.state_dict())
    x = np.linspace(-1, 1, 12).astype(np.float32)
    np.testing.assert_array_equal(a.evaluate(x), b.evaluate(x))
    assert b.rule.t == 1 and np.array_equal(a.rule.v, b.rule.v) and np.array_equal(a.rule.z, b.rule.z)
    with pytest.raises(ValueError, match="saved w has shape"):
        make_learner(SPECS[1], backend="fused", rng=np.random.default_rng(0)).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="the saved step-rule state has no 'v'"):
        make_learner(spec, "adaptive", backend="fused").load_state_dict({"w": a.state_dict()["w"], "z": a.rule.z})


def test_update_needs_a_forward():
    learner = make_learner(SPECS[0], backend="fused", rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="needs a forward"):
        learner.update(np.ones(2), 1.0, False)


def test_read_only_inputs_make_numba_compile_nothing_new():
    """A read-only array is another type to Numba: passed as it is, it would compile a kernel again
    (seconds each, mid-run). The learner copies such inputs first."""
    learner = make_learner(NetworkSpec("mlp", (3,), 2, (8, 8)), backend="fused", rng=np.random.default_rng(0))
    x, g = np.ones(3, dtype=np.float32), np.array([1.0, 0.0])
    learner.forward(x)
    learner.update(g, 0.1, False)
    kernels = (fused_kernels.forward, fused_kernels.accumulate_trace)
    before = [len(kernel.signatures) for kernel in kernels]
    x.flags.writeable = g.flags.writeable = False
    learner.forward(x)
    learner.update(g, 0.1, False)
    assert [len(kernel.signatures) for kernel in kernels] == before
