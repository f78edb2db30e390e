"""What Stable-Baselines3 and CleanRL users reach for: env ids wherever an env goes, episodes on any
Gymnasium env, learn()'s progress bar and TensorBoard log, and streamrl.evaluate."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import streamrl
from streamrl import IntentionalQ, StreamAC, StreamAgent, StreamQ, make_env


def test_an_env_id_is_made_with_the_agent_s_seed(tmp_path):
    by_id = StreamQ("CartPole-v1", seed=3)
    by_env = StreamQ(make_env("CartPole-v1", seed=3), seed=3)
    assert by_id.env.spec.id == "CartPole-v1" and by_id.domain == "classic"
    assert by_id.learn(1500) == by_env.learn(1500)  # the same env, seeded the same: the same episodes
    by_id.save(tmp_path / "q.safetensors")
    loaded = StreamAgent.load(tmp_path / "q.safetensors", env="CartPole-v1")
    assert loaded.env.spec.id == "CartPole-v1" and len(loaded.learn(500)) > 0
    assert StreamAC("Pendulum-v1", seed=0).env.spec.id == "Pendulum-v1"


@pytest.mark.parametrize("env, message", [
    (42, "expected a Gymnasium env or an env id such as 'CartPole-v1', got int"),
    ("CartPol-v1", "unknown environment id 'CartPol-v1'; did you mean CartPole-v1"),
    (gym.make_vec("CartPole-v1", num_envs=2), "is a vector env; a streaming agent learns from one env"),
])
def test_what_is_not_an_env_is_said_in_one_line(env, message):
    with pytest.raises(ValueError, match=message):
        StreamQ(env)


class CountEnds(gym.Wrapper):
    """Counts the env's terminal and truncated steps, and those it reports as real episode ends."""

    def __init__(self, env):
        super().__init__(env)
        self.ends = self.reported = 0

    def step(self, action):
        out = super().step(action)
        if out[2] or out[3]:
            self.ends += 1
            self.reported += "episode" in out[4]
        return out


def test_episodes_are_counted_on_a_plain_gymnasium_env():
    """gym.make's CartPole reports no episodes: learn() counts them, the same as the env's own
    statistics wrapper does, across learn() calls that stop mid-episode."""
    plain = StreamQ(gym.make("CartPole-v1"), seed=0)
    episodes = plain.learn(1234) + plain.learn(766)
    recorded = StreamQ(gym.wrappers.RecordEpisodeStatistics(gym.make("CartPole-v1")), seed=0)
    assert episodes == recorded.learn(1234) + recorded.learn(766) and len(episodes) > 20
    assert plain.num_episodes == len(episodes) and sum(e.length for e in episodes) <= 2000
    assert all(e.episode_return == e.length for e in episodes)  # CartPole: reward 1 a step


def test_on_atari_a_lost_life_is_a_terminal_but_not_an_episode():
    env = CountEnds(make_env("BreakoutNoFrameskip-v4", seed=0))
    episodes = StreamQ(env, seed=0).learn(1500)
    assert len(episodes) == env.reported > 0 and env.ends > 2 * env.reported  # game overs, not lives


LEARN_WITH_BAR = """
import sys
from streamrl import StreamQ
agent = StreamQ("CartPole-v1", seed=0)
episodes = agent.learn(3000, progress_bar=True, tensorboard_log=sys.argv[1])
print("episodes", len(episodes), file=sys.stderr)
"""


def test_learn_shows_a_progress_bar_and_writes_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboardX")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    done = subprocess.run([sys.executable, "-c", LEARN_WITH_BAR, str(tmp_path / "tb")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    n = int(done.stderr.split("episodes")[-1])
    bar = done.stdout.strip().splitlines()[-1]  # (off a terminal, the bar's last state, whole)
    assert bar.startswith("q CartPole-v1") and "3000/3000" in bar and "steps/s" in bar and "mean10" in bar, bar
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert len(events.Scalars("episode/return")) == len(events.Scalars("episode/length")) == n
    assert [e.step for e in events.Scalars("td_error/mean_abs")] == [1000, 2000, 3000]
    assert {"step_size/mean", "step_size/bound_active_fraction", "overshoot/count"} <= set(events.Tags()["scalars"])


def test_learn_names_the_tensorboard_extra_before_a_step():
    code = ("import sys; sys.modules['tensorboardX'] = None\n"
            "from streamrl import StreamQ\n"
            "agent = StreamQ('CartPole-v1', seed=0)\n"
            "try:\n    agent.learn(100, tensorboard_log='never')\n"
            "except ImportError as e:\n    print(e, agent.num_steps)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout == ("learn(tensorboard_log=...) needs the 'tensorboard' extra: pip install "
                           "\"streamrl[tensorboard]\" 0\n"), done.stderr


def state(agent):
    """Everything of an agent that acting could change."""
    return {"weights": {f"{n}.{k}": v.copy() for n, l in agent.learners.items() for k, v in l.state_dict().items()},
            "preprocessor": {k: np.array(v) for k, v in agent.preprocessor.state_dict().items()},
            "eval_time": None if agent.preprocessor.eval_time is None else agent.preprocessor.eval_time.steps,
            "rng": agent.rng.bit_generator.state, "predict_rng": agent.predict_rng.bit_generator.state,
            "counters": agent.counters(), "predict_started": agent._predict_started}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict) and a[key] and isinstance(next(iter(a[key].values())), np.ndarray):
            assert a[key].keys() == b[key].keys()
            for name in a[key]:
                np.testing.assert_array_equal(a[key][name], b[key][name])
        else:
            assert a[key] == b[key], key


def test_evaluate_runs_episodes_without_changing_the_agent():
    agent = StreamQ("CartPole-v1", seed=0)
    agent.learn(3000)
    before = state(agent)
    returns, lengths = streamrl.evaluate(agent, "CartPole-v1", 3, seed=5, return_lengths=True)
    assert_same(before, state(agent))
    # by hand: the agent's own predictions, deterministic, on make_env's env reset with the seed
    env, expected = make_env("CartPole-v1"), []
    obs, _ = env.reset(seed=5)
    start, total = True, 0.0
    while len(expected) < 3:
        obs, reward, terminated, truncated, _ = env.step(agent.predict(obs, True, episode_start=start)[0])
        start, total = False, total + reward
        if terminated or truncated:
            expected.append(total)
            obs, _ = env.reset()
            start, total = True, 0.0
    assert returns == expected and lengths == [int(r) for r in expected]
    # stochastic predictions draw from a copy of the agent's generator: the agent's stays as it was
    before = state(agent)
    assert len(streamrl.evaluate(agent, gym.make("CartPole-v1"), 2, deterministic=False, seed=1)) == 2
    assert_same(before, state(agent))


@pytest.mark.parametrize("env, n, message", [
    ("own", 1, "evaluate\\(\\) needs an env of its own"),
    ("Pendulum-v1", 1, "the StreamQ agent was trained on CartPole-v1, not Pendulum-v1; use it with CartPole-v1"),
    ("CartPole-v1", 0, "n_episodes must be a positive integer, got 0"),
])
def test_evaluate_refuses_in_one_line(env, n, message):
    agent = StreamQ("CartPole-v1", seed=0)
    with pytest.raises(ValueError, match=message):
        streamrl.evaluate(agent, agent.env if env == "own" else env, n)


def test_an_algorithm_s_own_defaults_give_way_to_another_step_rule():
    """Intentional Q's defaults (step rule 'intentional', eta 0.25) are its options like any other:
    --set checks them against its rule, and another rule drops eta."""
    IntentionalQ.check_options({"eta": 0.3})
    assert IntentionalQ("CartPole-v1", seed=0).config()["eta"] == 0.25
    agent = IntentionalQ("CartPole-v1", seed=0, step_rule="obgd", kappa=3.0)
    assert agent.config()["step_rule"] == "obgd" and "eta" not in agent.config()
    assert agent.config()["kappa"] == 3.0 and agent.preprocessing.reward_trace_reset == "termination"


@pytest.mark.parametrize("backend", ["fused", "torch"])
def test_a_copied_agent_predicts_as_the_agent_does(backend):
    """evaluate() acts through a copy: the copy's network must read its own weights, not return
    the outputs the original last computed (a view the copy would lose)."""
    import copy

    if backend == "torch":
        pytest.importorskip("torch")
    agent = StreamQ(make_env("CartPole-v1", seed=0), seed=0, backend=backend)
    agent.learn(500)
    twin = copy.deepcopy(agent)
    rng = np.random.default_rng(0)
    for obs in rng.normal(size=(5, 4)):
        state = agent.preprocessor.transform(obs, True)
        np.testing.assert_array_equal(twin.q.evaluate(state), agent.q.evaluate(state))
