"""The two backends inside the agents: from the same seed (so the same initial weights), the same
stream of 1,000 transitions gives the same actions, TD errors, weights and traces on the fused and
the torch path, for every algorithm, both optimizers, the 128-unit MLP and the MinAtar CNN, with
the bound active on some steps and traces cleared at episode ends (and, for Q(lambda), after
non-greedy actions).

tests/nn/test_fused_equivalence.py checks the learners alone on random gradients; this checks
what the algorithms make of them: each step's TD error, the actions chosen from the outputs, and
the gradients each algorithm gives its learners. Relative error is ||fused - torch|| / ||torch||
over a whole run's TD errors, or over each whole network's weights or traces.
"""

import gymnasium as gym
import numpy as np
import pytest

from streamrl.algorithms import IntentionalAC, IntentionalQ, IntentionalTD, StreamAC, StreamQ, StreamSARSA, StreamTD

pytest.importorskip("torch")

MLP_OBS = gym.spaces.Box(-np.inf, np.inf, (11,), np.float64)
MINATAR_OBS = gym.spaces.Box(0, 1, (10, 10, 4), bool)
# Q(lambda) at a fixed epsilon of 0.2: its traces clear after each non-greedy action (~15% of
# steps), not after most of them as in the first steps of the default schedule.
EPSILON = {"epsilon_start": 0.2, "epsilon_end": 0.2}
CASES = {  # id: (agent class, domain, observation space, action space, options)
    "q-mlp": (StreamQ, "mujoco", MLP_OBS, gym.spaces.Discrete(4), EPSILON),
    "sarsa-mlp": (StreamSARSA, "mujoco", MLP_OBS, gym.spaces.Discrete(4), {}),
    "ac-softmax-mlp": (StreamAC, "mujoco", MLP_OBS, gym.spaces.Discrete(4), {}),
    "ac-gaussian-mlp": (StreamAC, "mujoco", MLP_OBS, gym.spaces.Box(-1, 1, (3,), np.float32), {}),
    "td-mlp": (StreamTD, "mujoco", MLP_OBS, gym.spaces.Discrete(2), {}),
    "q-minatar-cnn": (StreamQ, "minatar", MINATAR_OBS, gym.spaces.Discrete(3), EPSILON),
    "ac-minatar-cnn": (StreamAC, "minatar", MINATAR_OBS, gym.spaces.Discrete(3), {}),
}
TRANSITIONS = 1000


def relative_error(a: list, b: list) -> float:
    a = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in a])
    b = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in b])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def observation(space: gym.spaces.Box, rng: np.random.Generator) -> np.ndarray:
    if space.dtype == bool:
        return rng.random(space.shape) < 0.1
    return rng.normal(size=space.shape) * 3 + 1  # far from normalized: the agents normalize inside


@pytest.mark.parametrize("optimizer", ["obgd", "adaptive"])
@pytest.mark.parametrize("case", CASES)
def test_same_stream_same_numbers_on_both_backends(case, optimizer):
    cls, domain, obs_space, act_space, options = CASES[case]
    agents = [cls(observation_space=obs_space, action_space=act_space, domain=domain, seed=0, step_rule=optimizer,
                  backend=backend, **options) for backend in ("fused", "torch")]
    fused, reference = agents
    for name, learner in fused.learners.items():  # the same seed drew the same initial weights
        assert relative_error(learner.parameters(), reference.learners[name].parameters()) == 0
    rng = np.random.default_rng(1)
    obs = observation(obs_space, rng)
    deltas, bound_active, episode_ends, traces_compared = ([], []), 0, 0, 0
    for t in range(TRANSITIONS):
        actions = [agent.act(obs) for agent in agents]
        if isinstance(act_space, gym.spaces.Discrete):
            assert actions[0] == actions[1]
        else:
            np.testing.assert_allclose(actions[0], actions[1], rtol=1e-4, atol=1e-6)
        obs = observation(obs_space, rng)
        reward, terminated, truncated = float(rng.normal()), bool(rng.random() < 0.03), bool(rng.random() < 0.01)
        infos = [agent.observe(reward, obs, terminated, truncated) for agent in agents]
        for sequence, info in zip(deltas, infos):
            sequence.append(info.delta)
        assert infos[0].bound_active == infos[1].bound_active
        bound_active += infos[0].bound_active
        episode_ends += terminated or truncated
        if t % 50 == 49:  # along the way, as a trace may have just been cleared
            for name, learner in fused.learners.items():
                other = reference.learners[name]
                assert relative_error(learner.parameters(), other.parameters()) <= 1e-5, name
                if any(z.any() for z in learner.traces()):
                    assert relative_error(learner.traces(), other.traces()) <= 1e-5, name
                    traces_compared += 1
                else:
                    assert not any(z.any() for z in other.traces()), name
    assert bound_active > TRANSITIONS / 10 and episode_ends > TRANSITIONS / 50  # both regimes were exercised
    assert traces_compared >= TRANSITIONS // 50 // 2
    assert relative_error([deltas[0]], [deltas[1]]) <= 1e-5


INTENTIONAL_CASES = {  # id: (agent class, domain, observation space, action space, options)
    "iq-mlp": (IntentionalQ, "mujoco", MLP_OBS, gym.spaces.Discrete(4), EPSILON),
    "iac-softmax-mlp": (IntentionalAC, "mujoco", MLP_OBS, gym.spaces.Discrete(4), {}),
    "iac-gaussian-mlp": (IntentionalAC, "mujoco", MLP_OBS, gym.spaces.Box(-1, 1, (3,), np.float32), {}),
    "itd-mlp": (IntentionalTD, "mujoco", MLP_OBS, gym.spaces.Discrete(2), {}),
    "iq-minatar-cnn": (IntentionalQ, "minatar", MINATAR_OBS, gym.spaces.Discrete(3), EPSILON),
}


INTENTIONAL_TRANSITIONS = 500  # see below


@pytest.mark.parametrize("case", INTENTIONAL_CASES)
def test_intentional_agents_give_the_same_numbers_on_both_backends(case):
    """As above, with the Intentional step rule: also its step sizes every step, and its
    preconditioner's second moments along the way. Over 500 transitions, to 2e-5: normalized
    steps make the value networks' weights on this stream of noise sensitive to rounding (torch
    in float32 parts from torch in float64 by 8e-3 for TD by 1,000; the next test, where the
    fused backend stays nearer), and Intentional TD's traces reach 1.1e-5 by step 500 on an AMD
    EPYC (weights 9e-6). The second moments nu to 3e-5: they average squared gradients, twice
    their relative rounding (1.5e-5 at most here)."""
    cls, domain, obs_space, act_space, options = INTENTIONAL_CASES[case]
    agents = [cls(observation_space=obs_space, action_space=act_space, domain=domain, seed=0, backend=backend,
                  **options) for backend in ("fused", "torch")]
    fused, reference = agents
    rng = np.random.default_rng(1)
    obs = observation(obs_space, rng)
    series = {key: ([], []) for key in ("delta", "step_size", "actor_step_size")}
    for t in range(INTENTIONAL_TRANSITIONS):
        actions = [agent.act(obs) for agent in agents]
        if isinstance(act_space, gym.spaces.Discrete):
            assert actions[0] == actions[1]
        else:
            np.testing.assert_allclose(actions[0], actions[1], rtol=1e-4, atol=1e-6)
        obs = observation(obs_space, rng)
        reward, terminated, truncated = float(rng.normal()), bool(rng.random() < 0.03), bool(rng.random() < 0.01)
        infos = [agent.observe(reward, obs, terminated, truncated) for agent in agents]
        for key, (a, b) in series.items():
            if getattr(infos[0], key) is not None:
                a.append(getattr(infos[0], key))
                b.append(getattr(infos[1], key))
        if t % 50 == 49:
            for name, learner in fused.learners.items():
                other = reference.learners[name]
                assert relative_error(learner.parameters(), other.parameters()) <= 2e-5, name
                assert relative_error([learner.rule.nu], [other.rule.nu]) <= 3e-5, name
                if any(z.any() for z in learner.traces()):
                    assert relative_error(learner.traces(), other.traces()) <= 2e-5, name
    for key, (a, b) in series.items():
        if a:
            assert relative_error([a], [b]) <= 2e-5, key
    assert all(agent.learners[name].rule.t == INTENTIONAL_TRANSITIONS for agent in agents for name in agent.learners)


def test_over_1000_transitions_fused_intentional_td_stays_nearer_float64_than_torch_does():
    """Where the two backends part (Intentional TD on noise, after ~600 transitions), the fused
    backend is the more accurate: it stays within 5e-5 of the same network in float64 on torch,
    which torch in float32 does not."""
    from streamrl.networks import NetworkSpec, build_torch_network

    def agent(**options):
        return IntentionalTD(observation_space=MLP_OBS, action_space=gym.spaces.Discrete(2), domain="mujoco", seed=0,
                             **options)

    fused, torch32 = agent(backend="fused"), agent(backend="torch")
    torch64 = agent(network=build_torch_network(NetworkSpec("mlp", (12,), 1, (128, 128))).double())
    for p, start in zip(torch64.v.parameters(), fused.v.parameters()):
        p[...] = start
    agents = (fused, torch32, torch64)
    rng = np.random.default_rng(1)
    obs = observation(MLP_OBS, rng)
    for _ in range(TRANSITIONS):
        for a in agents:
            a.act(obs)
        obs = observation(MLP_OBS, rng)
        reward, terminated, truncated = float(rng.normal()), bool(rng.random() < 0.03), bool(rng.random() < 0.01)
        for a in agents:
            a.observe(reward, obs, terminated, truncated)
    reference = torch64.v.parameters()
    fused_error, torch32_error = (relative_error(a.v.parameters(), reference) for a in (fused, torch32))
    assert fused_error <= 5e-5 and fused_error < torch32_error, (fused_error, torch32_error)


QRC_CASES = {"qrc-mlp": ("mujoco", MLP_OBS, TRANSITIONS), "qrc-minatar-cnn": ("minatar", MINATAR_OBS, 500)}


@pytest.mark.parametrize("case", QRC_CASES)
def test_qrc_gives_the_same_numbers_on_both_backends(case):
    """QRC(lambda): its two networks (q, differentiated at S and at S', and h), its three traces
    (z_h a number) and its TD errors, with traces cleared at episode ends and after non-greedy
    actions; lr 1e-3 (ten times the default) so the weights move. 1,000 transitions on the MLP,
    500 on the MinAtar network: there the float32 rounding (1e-6 by step 600) flips a near-tied
    max_a q(S', a) near step 650 and the two runs then follow different targets, as any two
    float32 summation orders eventually do."""
    from streamrl.algorithms import QRC

    domain, obs_space, transitions = QRC_CASES[case]
    agents = [QRC(observation_space=obs_space, action_space=gym.spaces.Discrete(3), domain=domain, seed=0,
                  backend=backend, lr=1e-3, **EPSILON) for backend in ("fused", "torch")]
    fused, reference = agents
    rng = np.random.default_rng(1)
    obs = observation(obs_space, rng)
    deltas, traces_compared = ([], []), 0
    for t in range(transitions):
        assert agents[0].act(obs) == agents[1].act(obs)
        obs = observation(obs_space, rng)
        reward, terminated, truncated = float(rng.normal()), bool(rng.random() < 0.03), bool(rng.random() < 0.01)
        for sequence, agent in zip(deltas, agents):
            sequence.append(agent.observe(reward, obs, terminated, truncated).delta)
        if t % 50 == 49:
            for name in ("q", "h"):
                learner, other = fused.learners[name], reference.learners[name]
                assert relative_error(learner.parameters(), other.parameters()) <= 1e-5, name
                if any(z.any() for z in learner.traces()):
                    assert relative_error(learner.traces(), other.traces()) <= 1e-5, name
                    traces_compared += 1
                else:
                    assert not any(z.any() for z in other.traces()), name
            assert fused.h.rule.z_h == pytest.approx(reference.h.rule.z_h, rel=1e-5, abs=1e-9)
    assert set(fused.learners) == {"q", "h"} and traces_compared >= transitions // 50
    assert relative_error([deltas[0]], [deltas[1]]) <= 1e-5
