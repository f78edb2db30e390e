"""The fused learner makes each update's step w += alpha' delta z in the next forward pass (one
read of the weights for both). Seen from outside, nothing of that shows: the numbers are the
same to the bit as with the step made at once, and w and z always read as after the step."""

import numpy as np
import pytest

from streamrl.nn.fused_learner import FusedLearner
from streamrl.nn.networks import NetworkSpec

SPECS = [NetworkSpec("mlp", (5,), 2, (32, 32)), NetworkSpec("minatar_cnn", (4, 10, 10), 3),
         NetworkSpec("atari_cnn", (4, 84, 84), 4)]
STEPS = {SPECS[0]: 60, SPECS[1]: 60, SPECS[2]: 8}


@pytest.mark.parametrize("optimizer", ["obgd", "adaptive"])
@pytest.mark.parametrize("spec", SPECS, ids=["mlp", "minatar-cnn", "atari-cnn"])
def test_step_made_in_the_next_pass_gives_the_numbers_of_the_step_made_at_once(spec, optimizer):
    lazy, eager = (FusedLearner(spec, optimizer, rng=np.random.default_rng(0)) for _ in range(2))
    w_start = lazy.w.copy()
    rng = np.random.default_rng(1)
    for i in range(STEPS[spec]):
        x, y = (rng.normal(size=spec.input_shape).astype(np.float32) for _ in range(2))
        eager.w  # reading the weights makes the pending step now, apart from any pass
        if i % 2:  # as the algorithms do after an update: an evaluate makes the step
            assert np.array_equal(lazy.evaluate(y), eager.evaluate(y))
            assert np.array_equal(lazy.forward(x), eager.forward(x))
        else:  # the forward pass makes it
            assert np.array_equal(lazy.forward(x), eager.forward(x))
            assert np.array_equal(lazy.evaluate(y), eager.evaluate(y))
        grad_out, delta, reset = rng.normal(size=spec.n_outputs), float(rng.normal() * 3), bool(rng.random() < 0.2)
        assert lazy.update(grad_out, delta, reset) == eager.update(grad_out, delta, reset)
    assert np.array_equal(lazy.w, eager.w) and np.array_equal(lazy.z, eager.z)
    assert not np.array_equal(lazy.w, w_start)  # steps were made


def _twins_after_an_update(optimizer: str = "obgd") -> tuple[FusedLearner, FusedLearner, np.ndarray]:
    """Two MLP learners in the same state, each with the step of one update pending."""
    twins = [FusedLearner(SPECS[0], optimizer, rng=np.random.default_rng(0)) for _ in range(2)]
    x = np.array([0.5, -1.0, 2.0, 0.0, 1.5], dtype=np.float32)
    for learner in twins:
        learner.forward(x)
        learner.update(np.array([1.0, 0.0]), 1.5, False)
    return twins[0], twins[1], x


def test_weights_and_traces_read_as_after_the_step():
    learner, cleared, x = _twins_after_an_update()
    w_before = learner.w.copy()
    for agent in (learner, cleared):
        agent.forward(x)
    info = learner.update(np.array([0.0, 1.0]), -2.0, False)
    cleared.update(np.array([0.0, 1.0]), -2.0, True)
    z = learner.z
    assert z.any() and not cleared.z.any()
    np.testing.assert_allclose(learner.w, w_before + np.float32(info.step_size * -2.0) * z, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(learner.w, w_before)
    np.testing.assert_array_equal(cleared.w, learner.w)  # it moved along the trace, then cleared it


@pytest.mark.parametrize("optimizer", ["obgd", "adaptive"])
def test_clearing_traces_with_a_step_pending_makes_the_step_first(optimizer):
    learner, reference, x = _twins_after_an_update(optimizer)
    w_before = learner._w.copy()  # (the array itself: the step still pending)
    reference.w  # the step, made now
    reference.clear_traces()
    learner.clear_traces()  # the step still pending: it must move along the trace before it goes
    assert not learner.z.any()
    assert not np.array_equal(learner.w, w_before)
    np.testing.assert_array_equal(learner.w, reference.w)
    np.testing.assert_array_equal(learner.evaluate(x), reference.evaluate(x))


def test_loading_a_state_drops_the_pending_step():
    learner, other, x = _twins_after_an_update()
    saved = FusedLearner(SPECS[0], rng=np.random.default_rng(5)).state_dict()
    learner.load_state_dict(saved)  # its pending step belonged to the state it replaced
    for key in ("w", "z", "v"):
        np.testing.assert_array_equal(learner.state_dict()[key], saved[key])
    other.load_state_dict(saved)
    np.testing.assert_array_equal(learner.forward(x), other.forward(x))
