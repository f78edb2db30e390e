"""The user-facing interface: learn / predict / save / load, step by step use, determinism."""

import re

import gymnasium as gym
import numpy as np
import pytest
import torch

import streamrl
from streamrl import StreamAC, StreamAgent, StreamQ, StreamSARSA, StreamTD, make_env
from streamrl.envs import PreprocessingConfig


def weights(agent):
    return {f"{n}.{k}": v.copy() for n, l in agent.learners.items() for k, v in l.state_dict().items()}


@pytest.mark.parametrize("cls", [StreamQ, StreamSARSA, StreamAC, StreamTD])
def test_same_seed_same_numbers(cls):
    runs = []
    for _ in range(2):
        agent = cls(make_env("CartPole-v1", seed=1), seed=1)
        episodes = agent.learn(600)
        runs.append((episodes, weights(agent)))
    assert runs[0][0] == runs[1][0] and len(runs[0][0]) > 3
    for k, v in runs[0][1].items():
        np.testing.assert_array_equal(v, runs[1][1][k])


@pytest.mark.parametrize("cls, env_id", [(StreamQ, "CartPole-v1"), (StreamSARSA, "CartPole-v1"),
                                         (StreamAC, "Pendulum-v1"), (StreamTD, "CartPole-v1")])
def test_save_load_round_trip(tmp_path, cls, env_id):
    agent = cls(make_env(env_id, seed=0), seed=0, step_rule="adaptive")
    agent.learn(300)
    path = tmp_path / "agent.safetensors"
    agent.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["agent.safetensors"]  # no temporary left behind
    loaded = StreamAgent.load(path, env=make_env(env_id, seed=0))
    assert type(loaded) is cls and loaded.num_steps == 300 and loaded.config() == agent.config()
    for k, v in weights(agent).items():  # weights, traces and optimizer state, exactly
        np.testing.assert_array_equal(v, weights(loaded)[k])
    np.testing.assert_array_equal(agent.preprocessor.obs_norm.stats.mean, loaded.preprocessor.obs_norm.stats.mean)
    np.testing.assert_array_equal(agent.preprocessor.obs_norm.stats.var, loaded.preprocessor.obs_norm.stats.var)
    assert loaded.preprocessor.obs_norm.stats.mean.dtype == np.float64
    if agent.preprocessor.reward_scaler is not None:
        assert loaded.preprocessor.reward_scaler.trace == agent.preprocessor.reward_scaler.trace
        assert loaded.preprocessor.reward_scaler.stats.var == agent.preprocessor.reward_scaler.stats.var
    obs, _ = make_env(env_id, seed=5).reset(seed=5)
    a, _ = agent.predict(obs, episode_start=True)
    b, _ = loaded.predict(obs, episode_start=True)
    np.testing.assert_array_equal(a, b)
    assert agent.rng.random() == loaded.rng.random()  # the RNG state travels too


def test_loaded_agent_starts_a_new_episode_with_clear_traces(tmp_path):
    agent = StreamQ(make_env("CartPole-v1", seed=0), seed=0)
    agent.learn(30)  # mid-episode: traces are non-zero
    assert agent._state is not None and any((z != 0).any() for z in agent.q.traces())
    agent.save(tmp_path / "a.safetensors")
    loaded = StreamQ.load(tmp_path / "a.safetensors", env=make_env("CartPole-v1"))
    loaded.act(np.zeros(4))  # a new episode: the saved episode's traces do not carry over
    assert all((z == 0).all() for z in loaded.q.traces())
    epsilon = loaded.epsilon
    loaded.reset(np.zeros(4))
    loaded.learn(50)
    assert loaded.num_steps == 80 and loaded.epsilon <= epsilon  # the schedule continues, it never rises


def test_reset_mid_episode_starts_clean(observations=None):
    rng = np.random.default_rng(0)
    agent = StreamSARSA(observation_space=gym.spaces.Box(-5, 5, (3,)), action_space=gym.spaces.Discrete(3), seed=0)
    obs = rng.normal(size=3)
    for _ in range(5):
        agent.act(obs)
        obs = rng.normal(size=3)
        agent.observe(1.0, obs, False, False)
    assert agent.next_action is not None and any((z != 0).any() for z in agent.q.traces())
    agent.reset(rng.normal(size=3))  # the user abandons the episode
    assert agent.next_action is None and all((z == 0).all() for z in agent.q.traces())


def test_predict_does_not_disturb_training():
    runs = []
    for evaluate in (False, True):
        agent = StreamAC(make_env("CartPole-v1", seed=0), seed=0)
        if evaluate:
            agent.predict(np.zeros(4), deterministic=False)
        runs.append(agent.learn(300))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("cls, env_id, backend", [(StreamQ, "CartPole-v1", "auto"), (StreamSARSA, "CartPole-v1", "auto"),
                                                  (StreamAC, "Pendulum-v1", "auto"), (StreamTD, "CartPole-v1", "auto"),
                                                  (StreamQ, "CartPole-v1", "torch"), (StreamAC, "Pendulum-v1", "torch")])
@pytest.mark.parametrize("when", ["after observe", "between act and observe"])
def test_warm_up_changes_nothing_of_the_agent_or_its_env(cls, env_id, backend, when):
    import threading

    class RobotPolicy:  # Stream TD's behaviour, holding what cannot be copied; the warm-up must not call it
        def __init__(self):
            self.lock, self.calls = threading.Lock(), 0

        def __call__(self, obs):
            self.calls += 1
            return 0

    runs = []
    for warm_up in (False, True):
        env = make_env(env_id, seed=2)
        env.observation_space.seed(5), env.action_space.seed(6)  # (else seeded from the OS at first use)
        policy = RobotPolicy()
        agent = cls(env, seed=2, step_rule="adaptive", backend=backend, **({"policy": policy} if cls is StreamTD else {}))
        episodes = agent.learn(150)  # mid-episode: the warm-up must leave the episode as it is
        obs = agent._env_obs
        if when == "between act and observe":
            next_obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
        calls = policy.calls
        if warm_up:
            assert agent.warm_up() >= 0.0 and policy.calls == calls
        if when == "between act and observe":
            agent.observe(float(reward), next_obs, terminated, truncated)
            agent._env_obs = env.reset()[0] if terminated or truncated else next_obs
        episodes += agent.learn(450)
        action = agent.predict(np.ones(env.observation_space.shape), deterministic=False)[0]
        random_states = [env.np_random.random(), env.observation_space.np_random.random(),
                         env.action_space.np_random.random()]
        runs.append((episodes, weights(agent), agent.preprocessor.state_dict(), action, random_states))
    assert runs[0][0] == runs[1][0]
    for i in (1, 2):
        assert runs[0][i].keys() == runs[1][i].keys()
        for k, v in runs[0][i].items():
            np.testing.assert_array_equal(v, runs[1][i][k])
    np.testing.assert_array_equal(runs[0][3], runs[1][3])
    assert runs[0][4] == runs[1][4]


def test_warm_up_of_an_agent_without_an_env_leaves_its_stream_as_it_was():
    runs = []
    for warm_up in (False, True):
        agent = StreamAC(observation_space=gym.spaces.Box(-1e308, 1e308, (3,), np.float64),  # (sample() overflows)
                         action_space=gym.spaces.Box(-1.0, 1.0, (2,)), domain="mujoco", seed=3)
        rng = np.random.default_rng(0)
        obs, infos = rng.normal(size=3), []
        for t in range(40):
            agent.act(obs)
            if warm_up and t == 20:
                agent.warm_up()
            obs = rng.normal(size=3)
            infos.append(agent.observe(float(rng.normal()), obs, False, t % 15 == 14))
        runs.append((infos, weights(agent)))
    assert runs[0][0] == runs[1][0]
    for k, v in runs[0][1].items():
        np.testing.assert_array_equal(v, runs[1][1][k])


WARMED_UP = """
import sys, warnings
import numpy as np
from streamrl import make_env
from streamrl.algorithms import ALGORITHMS
from streamrl.envs import normalization
from streamrl.algorithms import policies
from streamrl.networks import fused_kernels
from streamrl.steprules import obgd

def compiled():
    return {(m.__name__, name): len(f.overloads) for m in (fused_kernels, obgd, policies, normalization)
            for name, f in vars(m).items() if hasattr(f, "overloads")}

def assert_nothing_compiled_since_warm_up():
    grown = {k: (after_warm_up[k], v) for k, v in compiled().items() if v != after_warm_up[k]}
    assert not grown, grown
    print("ok")

warnings.simplefilter("ignore")
algorithm, env_id, learning = sys.argv[1:]
agent = ALGORITHMS[algorithm](make_env(env_id, seed=0), seed=0)
agent.warm_up(learning == "learning")
after_warm_up = compiled()
assert sum(after_warm_up.values()) > 0
if learning != "learning":  # eval's path: predictions only
    obs, _ = agent.env.reset(seed=1)
    for t in range(50):
        obs = agent.env.step(agent.predict(obs, deterministic=t % 2 == 0, episode_start=t == 0)[0])[0]
    assert_nothing_compiled_since_warm_up()
    sys.exit()
agent.learn(300)
agent.predict(agent._env_obs, deterministic=False)
obs = np.asarray(agent._env_obs, dtype=np.float64)  # as a sensor gives them, whatever the space's dtype
agent.reset(obs)
agent.act(obs) if agent.needs_action else None
agent.observe(1.0, obs, False, False)
for learner in agent.learners.values():
    learner.state_dict()  # (makes the pending step)
assert_nothing_compiled_since_warm_up()
"""


@pytest.mark.parametrize("algorithm, env_id, learning", [
    ("q", "CartPole-v1", "learning"), ("ac", "Pendulum-v1", "learning"), ("ac", "MinAtar/Breakout-v1", "learning"),
    ("td", "CartPole-v1", "learning"), ("ac", "Pendulum-v1", "predicting"), ("q", "MinAtar/Breakout-v1", "predicting")])
def test_after_warm_up_a_step_compiles_nothing(algorithm, env_id, learning):
    """In a fresh process, where nothing is compiled or loaded yet: after warm_up(), learning,
    predicting and reading the weights find every compiled function ready."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", WARMED_UP, algorithm, env_id, learning], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_load_checks_the_algorithm_and_the_format(tmp_path):
    path = tmp_path / "q.safetensors"
    StreamQ(make_env("CartPole-v1"), seed=0).save(path)
    with pytest.raises(ValueError, match="holds a StreamQ agent, not a StreamAC"):
        StreamAC.load(path)
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")  # a valid, empty safetensors file
    with pytest.raises(ValueError, match=r"bogus.safetensors is not a streamrl agent file \(no streamrl-agent "
                                         r"metadata\)"):
        StreamAgent.load(bogus)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"truncated.safetensors is not a readable agent file \(.+\); it may be "
                                         "truncated or corrupted"):
        StreamAgent.load(truncated)
    other = tmp_path / "other.safetensors"
    from safetensors.numpy import save_file
    save_file({"x": np.zeros(2)}, str(other), metadata={"format": "something-else"})  # not ours
    with pytest.raises(ValueError, match="not a streamrl agent file"):
        StreamAgent.load(other)


def test_step_by_step_without_an_env(tmp_path):
    """A live stream: raw observations and rewards in, actions out; the agent normalizes inside."""
    obs_space, act_space = gym.spaces.Box(-10, 10, (3,), np.float64), gym.spaces.Box(-1, 1, (2,), np.float32)
    agent = StreamAC(observation_space=obs_space, action_space=act_space, domain="mujoco", seed=0,
                     track_overshoot=True)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=3) * 100 + 50  # far from normalized: the agent must see it normalized
    for t in range(50):
        action = agent.act(obs)
        assert act_space.contains(action.astype(np.float32))
        obs = rng.normal(size=3) * 100 + 50
        info = agent.observe(float(rng.normal()), obs, False, t == 24)
        assert np.isfinite(info.delta) and 0 < info.step_size <= 1.0 and isinstance(info.overshot, bool)
    assert abs(agent.preprocessor.obs_norm.stats.mean.mean() - 50) < 40
    assert agent.preprocessor.time.steps == 25  # the episode restarted after the truncation at t = 24
    path = tmp_path / "live.safetensors"
    agent.save(path)
    again = StreamAgent.load(path)  # spaces come from the file
    assert again.observation_space == obs_space and again.action_space.shape == (2,)


def test_step_by_step_misuse_is_explained():
    agent = StreamQ(observation_space=gym.spaces.Box(-1, 1, (2,)), action_space=gym.spaces.Discrete(2))
    with pytest.raises(RuntimeError, match="call act"):
        agent.observe(0.0, np.zeros(2), False, False)
    agent.reset(np.zeros(2))
    with pytest.raises(RuntimeError, match="call act\\(obs\\) before observe"):  # reset alone is not enough
        agent.observe(0.0, np.zeros(2), False, False)
    agent.act(np.zeros(2))
    agent.observe(0.0, np.ones(2), False, False)
    with pytest.raises(ValueError, match="other than the next_obs"):
        agent.act(np.zeros(2))
    with pytest.raises(ValueError, match="non-finite reward"):
        agent.act(np.ones(2))
        agent.observe(float("nan"), np.ones(2), False, False)
    with pytest.raises(ValueError, match="total_steps must be a positive integer"):
        StreamQ(make_env("CartPole-v1")).learn(0)


def test_stream_td_on_rows():
    agent = StreamTD(observation_space=gym.spaces.Box(-np.inf, np.inf, (2,)), seed=0,
                     preprocessing=None, domain="classic")
    assert agent.preprocessing.time_limit == 10_000 and not agent.preprocessing.scale_reward
    agent.reset(np.array([0.0, 1.0]))
    infos = [agent.observe(1.0, np.array([t, 1.0]), False, False) for t in range(1, 300)]
    assert infos[-1].value is not None and np.isfinite(infos[-1].value)


def test_custom_network_and_wrong_output_size():
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    agent = StreamQ(make_env("CartPole-v1", seed=0), seed=0, network=net)
    agent.learn(200)
    assert agent.q.module is net
    bad = torch.nn.Sequential(torch.nn.Linear(5, 3))
    with pytest.raises(ValueError, match="returned shape \\(3,\\).*needs 2 outputs"):
        StreamQ(make_env("CartPole-v1", seed=0), network=bad).learn(5)


def test_non_finite_observation_is_refused_before_learning():
    agent = StreamQ(observation_space=gym.spaces.Box(-1, 1, (2,)), action_space=gym.spaces.Discrete(2), seed=0)
    agent.act(np.zeros(2))
    before = weights(agent)
    with pytest.raises(ValueError, match="non-finite observation at step 1 \\(NaN or inf in 1 of 2 values\\)"):
        agent.observe(1.0, np.array([0.0, np.nan]), False, False)
    stats = agent.preprocessor.obs_norm.stats
    assert stats.count == 1 and agent.num_steps == 0  # nothing was learned from it
    for k, v in before.items():
        np.testing.assert_array_equal(v, weights(agent)[k])


@pytest.mark.parametrize("normalize", [True, False], ids=["normalized", "not normalized"])
@pytest.mark.parametrize("where", ["first observation", "next observation"])
def test_a_refused_observation_leaves_every_statistic_and_the_clock_as_they_were(normalize, where):
    """The observation is checked before anything takes the transition in: the observation and
    reward statistics, the reward trace and the time feature's clock all stay as they were."""
    agent = StreamQ(observation_space=gym.spaces.Box(-1, 1, (2,)), action_space=gym.spaces.Discrete(2), seed=0,
                    preprocessing=PreprocessingConfig(normalize_observation=normalize, time_limit=10))
    obs = np.zeros(2)
    for next_obs in (np.array([0.5, -0.5]), np.array([1.0, -1.0])):
        agent.act(obs)
        agent.observe(1.0, next_obs, False, False)
        obs = next_obs
    agent.act(obs)
    if where == "first observation":  # the episode ends; the next act() starts another at its observation
        agent.observe(1.0, np.array([0.3, 0.3]), True, False)
    before = agent.preprocessor.state_dict()
    assert before["time.steps"] > 0 and before["reward.count"] > 0
    bad = np.array([np.inf, 0.0])
    with pytest.raises(ValueError, match=r"non-finite observation at step \d+ \(NaN or inf in 1 of 2 values\); "
                                         "nothing was learned from it"):
        agent.observe(1.0, bad, False, False) if where == "next observation" else agent.act(bad)
    after = agent.preprocessor.state_dict()
    assert sorted(after) == sorted(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


@pytest.mark.parametrize("reward", [np.nan, np.float32(np.inf), np.array([np.nan]), np.array(-np.inf)],
                         ids=["float", "float32", "1-element array", "0-d array"])
def test_non_finite_reward_is_refused_in_any_numeric_form(reward):
    agent = StreamQ(observation_space=gym.spaces.Box(-1, 1, (2,)), action_space=gym.spaces.Discrete(2), seed=0)
    agent.act(np.zeros(2))
    with pytest.raises(ValueError, match="non-finite reward .* at step 1; nothing was learned from it"):
        agent.observe(reward, np.zeros(2), False, False)
    assert agent.num_steps == 0


@pytest.mark.parametrize("reward", [np.array([1.0, 2.0]), None, "1"], ids=["two numbers", "None", "text"])
def test_a_reward_that_is_not_one_number_is_refused_before_anything_is_learned(reward):
    agent = StreamQ(observation_space=gym.spaces.Box(-1, 1, (2,)), action_space=gym.spaces.Discrete(2), seed=0,
                    scale_reward=False)
    agent.act(np.zeros(2))
    with pytest.raises(ValueError, match="the reward must be one real number, got .*; nothing was learned from it"):
        agent.observe(reward, np.zeros(2), False, False)
    assert agent.num_steps == 0 and agent.preprocessor.obs_norm.stats.count == 1
    agent.observe(np.array([1.0]), np.zeros(2), False, False)  # one number in an array is one number
    assert agent.num_steps == 1


def test_load_refuses_an_env_other_than_the_one_trained_on(tmp_path):
    path = tmp_path / "q.safetensors"
    StreamQ(make_env("CartPole-v1"), seed=0).save(path)
    with pytest.raises(ValueError) as error:
        StreamQ.load(path, env=make_env("Acrobot-v1"))
    assert str(error.value) == f"{path} was trained on CartPole-v1, not Acrobot-v1; use it with CartPole-v1"
    assert StreamQ.load(path, env=make_env("CartPole-v1")).env.spec.id == "CartPole-v1"


@pytest.mark.parametrize("obs_space, act_space, message", [
    (gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2),
     "has the observation space Box\\(3,\\) float32, but CartPole-v1 has Box\\(4,\\) float32;"),
    (gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2),
     "has the observation space Box\\(4,\\) float32, but CartPole-v1 has Box\\(4,\\) float32 with other bounds;"),
    (make_env("CartPole-v1").observation_space, gym.spaces.Discrete(3),
     "has the action space Discrete\\(3\\), but CartPole-v1 has Discrete\\(2\\);"),
])
def test_load_refuses_an_env_with_other_spaces(tmp_path, obs_space, act_space, message):
    path = tmp_path / "live.safetensors"  # made from spaces: the file names no env, only its spaces
    StreamQ(observation_space=obs_space, action_space=act_space, seed=0).save(path)
    with pytest.raises(ValueError, match=message):
        StreamQ.load(path, env=make_env("CartPole-v1"))


def test_load_with_env_started_continues_the_env_instead_of_reseeding_it(tmp_path):
    path = tmp_path / "q.safetensors"
    agent = StreamQ(make_env("CartPole-v1", seed=0), seed=0)
    agent.learn(40)
    agent.save(path)
    states = {}
    for started in (True, False):
        loaded = StreamQ.load(path, env=make_env("CartPole-v1", seed=7), env_started=started)
        assert loaded.env_started is started
        loaded.learn(1)
        states[started] = loaded.env.unwrapped.state.copy(), loaded.action
    twin = make_env("CartPole-v1", seed=7)
    twin.reset()  # no seed: the continuation of the seeded reset make_env did
    twin.step(states[True][1])
    np.testing.assert_array_equal(states[True][0], twin.unwrapped.state)
    assert not np.array_equal(states[False][0], twin.unwrapped.state)  # reseeded from the agent's own generator
    with pytest.raises(ValueError, match="pass that env too"):
        StreamQ.load(path, env_started=True)


def test_load_checks_the_format_version(tmp_path):
    from tests.helpers import rewrite_metadata

    path = tmp_path / "q.safetensors"
    StreamQ(make_env("CartPole-v1"), seed=0).save(path)
    newer = tmp_path / "newer.safetensors"
    rewrite_metadata(path, newer, format_version=7, streamrl_version="9.0")
    this = re.escape(streamrl.__version__)
    with pytest.raises(ValueError, match="is agent file format 7 \\(written by streamrl 9.0\\), newer than this "
                                         f"streamrl {this} reads \\(format 2\\); upgrade streamrl"):
        StreamAgent.load(newer)
    for version in (0, "1", None):
        bad = tmp_path / "bad.safetensors"
        rewrite_metadata(path, bad, format_version=version)
        with pytest.raises(ValueError, match=f"unknown agent file format version {version!r}"):
            StreamAgent.load(bad)
    legacy = tmp_path / "legacy.safetensors"  # written before the version had its own field: format 1
    rewrite_metadata(path, legacy, format="streamrl-agent-1", format_version=None)
    assert StreamAgent.load(legacy).config() == StreamQ.load(path).config()


@pytest.mark.parametrize("obs_space", [
    gym.spaces.Dict({"x": gym.spaces.Box(-1, 1, (2,))}), gym.spaces.MultiDiscrete([2, 3]),
    gym.spaces.Tuple([gym.spaces.Discrete(2)])])
def test_unsupported_observation_spaces(obs_space):
    name = type(obs_space).__name__
    with pytest.raises(ValueError, match=f"^{name} observation spaces are not supported; use a Box observation"):
        StreamAC(observation_space=obs_space, action_space=gym.spaces.Discrete(2))


@pytest.mark.parametrize("cls, act_space, message", [
    (StreamAC, gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), "Dict action spaces are not supported"),
    (StreamQ, gym.spaces.MultiDiscrete([2, 3]), "StreamQ needs a Discrete action space, got MultiDiscrete"),
    (StreamSARSA, gym.spaces.Box(-1, 1, (1,)), "StreamSARSA needs a Discrete action space, got Box"),
])
def test_unsupported_action_spaces_from_spaces(cls, act_space, message):
    with pytest.raises(ValueError, match=message):
        cls(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=act_space)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("cls", [StreamQ, StreamSARSA, StreamAC, StreamTD])
def test_discrete_actions_come_as_the_spaces_own_scalars_from_its_start(tmp_path, cls, dtype):
    """act() and predict() give a Discrete action as the space's sample() does (its dtype, offset by
    its start), and a saved agent keeps the space, start and dtype included."""
    space = gym.spaces.Discrete(3, start=5, dtype=dtype)
    agent = cls(observation_space=gym.spaces.Box(-1.0, 1.0, (2,)), action_space=space, seed=0)
    rng = np.random.default_rng(0)
    actions = []
    obs = rng.uniform(-1, 1, 2)
    for _ in range(60):
        actions.append(agent.act(obs))
        obs = rng.uniform(-1, 1, 2)
        agent.observe(1.0, obs, False, False)
    if cls is not StreamTD:  # (TD predicts values, not actions)
        actions += [agent.predict(obs, deterministic=d)[0] for d in (True, False)]
    assert all(type(a) is dtype and space.contains(a) for a in actions)
    if cls in (StreamQ, StreamAC):
        assert {int(a) for a in actions} == {5, 6, 7}  # all three, from the start (epsilon or sampling)
    agent.save(tmp_path / "a.safetensors")
    assert StreamAgent.load(tmp_path / "a.safetensors").action_space == space


def test_an_agent_file_from_before_the_discrete_start_was_saved_loads_with_gymnasiums_defaults():
    from streamrl.algorithms.agent_file import space_from_json

    assert space_from_json({"type": "Discrete", "n": 4}) == gym.spaces.Discrete(4)
