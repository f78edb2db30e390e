"""The fused network makes each update's step w += alpha' delta z in the next forward pass (one
read of the weights for both). Seen from outside, nothing of that shows: the numbers are the
same to the bit as with the step made at once, and w and z always read as after the step."""

import numpy as np
import pytest

from streamrl.learners import Learner, make_learner
from streamrl.networks import NetworkSpec

SPECS = [NetworkSpec("mlp", (5,), 2, (32, 32)), NetworkSpec("minatar_cnn", (4, 10, 10), 3),
         NetworkSpec("atari_cnn", (4, 84, 84), 4)]
STEPS = {SPECS[0]: 60, SPECS[1]: 60, SPECS[2]: 8}


def fused(spec: NetworkSpec, rule: str = "obgd", seed: int = 0) -> Learner:
    return make_learner(spec, rule, backend="fused", rng=np.random.default_rng(seed))


def weights(learner: Learner) -> np.ndarray:
    """All weights as read from outside (reading them makes a pending step)."""
    return learner.network.flat_weights()


def trace(learner: Learner) -> np.ndarray:
    return learner.rule.traces()


@pytest.mark.parametrize("optimizer", ["obgd", "adaptive"])
@pytest.mark.parametrize("spec", SPECS, ids=["mlp", "minatar-cnn", "atari-cnn"])
def test_step_made_in_the_next_pass_gives_the_numbers_of_the_step_made_at_once(spec, optimizer):
    lazy, eager = (fused(spec, optimizer) for _ in range(2))
    w_start = weights(lazy).copy()
    rng = np.random.default_rng(1)
    for i in range(STEPS[spec]):
        x, y = (rng.normal(size=spec.input_shape).astype(np.float32) for _ in range(2))
        weights(eager)  # reading the weights makes the pending step now, apart from any pass
        if i % 2:  # as the algorithms do after an update: an evaluate makes the step
            assert np.array_equal(lazy.evaluate(y), eager.evaluate(y))
            assert np.array_equal(lazy.forward(x), eager.forward(x))
        else:  # the forward pass makes it
            assert np.array_equal(lazy.forward(x), eager.forward(x))
            assert np.array_equal(lazy.evaluate(y), eager.evaluate(y))
        grad_out, delta, reset = rng.normal(size=spec.n_outputs), float(rng.normal() * 3), bool(rng.random() < 0.2)
        assert lazy.update(grad_out, delta, reset) == eager.update(grad_out, delta, reset)
    assert np.array_equal(weights(lazy), weights(eager)) and np.array_equal(trace(lazy), trace(eager))
    assert not np.array_equal(weights(lazy), w_start)  # steps were made


def _twins_after_an_update(optimizer: str = "obgd") -> tuple[Learner, Learner, np.ndarray]:
    """Two MLP learners in the same state, each with the step of one update pending."""
    twins = [fused(SPECS[0], optimizer) for _ in range(2)]
    x = np.array([0.5, -1.0, 2.0, 0.0, 1.5], dtype=np.float32)
    for learner in twins:
        learner.forward(x)
        learner.update(np.array([1.0, 0.0]), 1.5, False)
    return twins[0], twins[1], x


def test_weights_and_traces_read_as_after_the_step():
    learner, cleared, x = _twins_after_an_update()
    w_before = weights(learner).copy()
    for agent in (learner, cleared):
        agent.forward(x)
    info = learner.update(np.array([0.0, 1.0]), -2.0, False)
    cleared.update(np.array([0.0, 1.0]), -2.0, True)
    z = trace(learner)
    assert z.any() and not trace(cleared).any()
    np.testing.assert_allclose(weights(learner), w_before + np.float32(info.step_size * -2.0) * z, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(weights(learner), w_before)
    np.testing.assert_array_equal(weights(cleared), weights(learner))  # it moved along the trace, then cleared it


@pytest.mark.parametrize("optimizer", ["obgd", "adaptive"])
def test_clearing_traces_with_a_step_pending_makes_the_step_first(optimizer):
    learner, reference, x = _twins_after_an_update(optimizer)
    w_before = learner.network._w.copy()  # (the array itself: the step still pending)
    weights(reference)  # the step, made now
    reference.clear_traces()
    learner.clear_traces()  # the step still pending: it must move along the trace before it goes
    assert not trace(learner).any()
    assert not np.array_equal(weights(learner), w_before)
    np.testing.assert_array_equal(weights(learner), weights(reference))
    np.testing.assert_array_equal(learner.evaluate(x), reference.evaluate(x))


def test_loading_a_state_drops_the_pending_step():
    learner, other, x = _twins_after_an_update()
    saved = fused(SPECS[0], seed=5).state_dict()
    learner.load_state_dict(saved)  # its pending step belonged to the state it replaced
    for key in ("w", "z"):
        np.testing.assert_array_equal(learner.state_dict()[key], saved[key])
    other.load_state_dict(saved)
    np.testing.assert_array_equal(learner.forward(x), other.forward(x))
