"""Every domain's pipeline on its real environment, with its agent, for 1,000 steps."""

import platform

import gymnasium as gym
import numpy as np
import pytest

from streamrl import StreamAC, StreamQ, StreamTD, make_env
from streamrl.envs import domain_of

# env id, agent, env observation shape, what the network sees (documented in the README)
CASES = [
    ("CartPole-v1", StreamQ, (4,), (5,)),  # + time feature
    ("Acrobot-v1", StreamAC, (6,), (7,)),
    ("HalfCheetah-v5", StreamAC, (17,), (18,)),
    ("dm_control/cheetah-run-v0", StreamAC, (17,), (18,)),  # position + velocity, flattened
    ("MinAtar/Breakout-v1", StreamQ, (10, 10, 4), (4, 10, 10)),  # channels first
    ("BreakoutNoFrameskip-v4", StreamQ, (84, 84), (4, 84, 84)),  # 4 normalized frames stacked
]


@pytest.mark.parametrize("env_id, agent_cls, env_shape, state_shape", CASES, ids=[c[0] for c in CASES])
def test_domain_runs_its_agent(env_id, agent_cls, env_shape, state_shape):
    env = make_env(env_id, seed=0)
    assert env.observation_space.shape == env_shape
    agent = agent_cls(env, seed=0)
    assert agent.preprocessor.output_shape == state_shape
    seen = []
    agent.learn(1000, callback=lambda a, info, ep: seen.append((a._state, info.delta)))
    states = [s for s, _ in seen if s is not None]
    assert states and all(s.shape == state_shape and np.isfinite(s).all() for s in states)
    assert all(np.isfinite(d) for _, d in seen)
    assert agent.num_steps == 1000
    for learner in agent.learners.values():
        assert all(np.isfinite(v).all() for v in learner.state_dict().values())


def test_domains_are_recognised():
    assert [domain_of(c[0]) for c in CASES] == ["classic", "classic", "mujoco", "dmc", "minatar", "atari"]
    assert domain_of("Pendulum-v1") == "classic"


def test_atari_life_loss_is_terminal_but_episode_return_is_the_game():
    env = make_env("BreakoutNoFrameskip-v4", seed=0)
    env.reset(seed=0)
    lives_terminals, game_overs = 0, 0
    for _ in range(3000):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            if "episode" in info:
                game_overs += 1
            else:
                lives_terminals += 1
            env.reset()
    assert lives_terminals >= 4 * game_overs and game_overs >= 1  # Breakout has 5 lives


def test_classic_episode_limit_is_raised_and_time_feature_follows_it():
    env = make_env("CartPole-v1")
    assert env.spec.max_episode_steps == 10_000
    assert StreamQ(env).preprocessing.time_limit == 10_000


@pytest.mark.parametrize("env_id", ["CartPole-v1", "MinAtar/Breakout-v1"])
def test_normalized_env_matches_the_agent_preprocessing(env_id):
    """make_env(normalize=True) and the agent's own stages are one implementation: same numbers."""
    wrapped, raw = make_env(env_id, seed=3, normalize=True), make_env(env_id, seed=3)
    agent_scaled = StreamQ(make_env(env_id, seed=3), seed=0)
    obs_w, _ = wrapped.reset(seed=3)
    obs_r, _ = raw.reset(seed=3)
    np.testing.assert_array_equal(obs_w, agent_scaled.preprocessor.reset(obs_r))
    for t in range(200):
        action = t % raw.action_space.n
        obs_w, rew_w, term, trunc, _ = wrapped.step(action)
        obs_r, rew_r, term_r, trunc_r, _ = raw.step(action)
        state, scaled = agent_scaled.preprocessor.step(obs_r, rew_r, term_r, trunc_r)
        np.testing.assert_array_equal(obs_w, state)
        assert rew_w == scaled
        if term or trunc:
            obs_w, _ = wrapped.reset()
            obs_r, _ = raw.reset()
            np.testing.assert_array_equal(obs_w, agent_scaled.preprocessor.reset(obs_r))


def test_agent_refuses_an_env_that_already_normalizes():
    with pytest.raises(ValueError, match="already wrapped in streamrl.envs.AddTimeInfo"):
        StreamQ(make_env("CartPole-v1", normalize=True))


def test_unknown_id_suggests_close_ids():
    with pytest.raises(ValueError, match="did you mean .*CartPole-v1"):
        make_env("CartPole-v9")


@pytest.mark.parametrize("space", [gym.spaces.MultiDiscrete([2, 3]), gym.spaces.Tuple([gym.spaces.Discrete(2)])])
def test_unsupported_action_spaces(space):
    with pytest.raises(ValueError, match="not supported"):
        StreamAC(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=space)


def test_an_env_gymnasium_cannot_make_is_said_in_one_line():
    # an env that exists only in vectorized form: gymnasium.make cannot build a single one
    gym.register("VectorOnly-v0", vector_entry_point="gymnasium.envs.classic_control:CartPoleVectorEnv")
    try:
        with pytest.raises(ValueError) as error:
            make_env("VectorOnly-v0")
    finally:
        del gym.registry["VectorOnly-v0"]
    assert str(error.value) == "VectorOnly-v0 could not be made: VectorOnly-v0 registered but entry_point is not specified"


def test_q_needs_discrete_actions():
    with pytest.raises(ValueError, match="needs a Discrete action space.*StreamAC"):
        StreamQ(make_env("Pendulum-v1"))


def test_discrete_observations_become_one_hot():
    env = make_env("FrozenLake-v1", seed=0)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (16,) and obs.sum() == 1
    StreamQ(env, seed=0).learn(50)


def test_continuous_actions_are_clipped_and_bounds_stay_visible():
    env = make_env("HalfCheetah-v5", seed=0)
    assert (env.action_space.high == 1.0).all()  # Gymnasium's ClipAction would report +inf
    env.reset(seed=0)
    env.step(np.full(6, 100.0, dtype=np.float32))
    assert (env.unwrapped.data.ctrl == 1.0).all()  # MuJoCo stores ctrl as given: clipped by the wrapper
    StreamTD(env, seed=0).learn(20)  # a random policy samples within the bounds


def test_ale_ids_skip_frames_once():
    env = make_env("ALE/Breakout-v5", seed=0)
    assert env.unwrapped._frameskip == 1  # the pipeline's MaxAndSkip does the skipping
    assert env.unwrapped.ale.getFloat("repeat_action_probability") == 0.0


@pytest.mark.parametrize("skip", [1, 4])
def test_atari_frame_skip_sums_rewards_and_max_pools_the_last_two_frames(skip):
    """Against the same game stepped frame by frame: the pixelwise max of the last two frames of
    each skip (the only frame when skip = 1), the rewards summed, up to the first game end."""
    import ale_py

    from streamrl.envs.atari import MaxAndSkip

    gym.register_envs(ale_py)
    options = dict(obs_type="grayscale", frameskip=1, repeat_action_probability=0.0)
    skipping = MaxAndSkip(gym.make("BreakoutNoFrameskip-v4", **options), skip=skip)
    frames = gym.make("BreakoutNoFrameskip-v4", **options)  # the same game, one frame per step
    skipping.reset(seed=1)
    frames.reset(seed=1)
    actions = np.random.default_rng(3).integers(4, size=3000)
    actions[::50] = 1  # FIRE now and then, so the ball is in play and points are scored
    total_reward, ended = 0.0, False
    for action in actions:
        obs, reward, terminated, truncated, _ = skipping.step(int(action))
        seen, expected_reward = [], 0.0
        for _ in range(skip):
            frame, r, frame_terminated, frame_truncated, _ = frames.step(int(action))
            seen.append(frame)
            expected_reward += r
            if frame_terminated or frame_truncated:
                break
        assert (terminated, truncated) == (frame_terminated, frame_truncated)
        assert reward == expected_reward
        total_reward += reward
        if terminated or truncated:
            ended = True
            break
        expected = np.maximum(seen[-2], seen[-1]) if skip > 1 else seen[0]
        assert obs.dtype == np.uint8 and np.array_equal(obs, expected)
    assert ended and total_reward > 0  # the comparison covered scoring and a game end


def _frames(shape: tuple[int, int]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return ([rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(200)]
            + [rng.integers(0, 2, shape, dtype=np.uint8) * 255 for _ in range(50)]  # sums on .5 boundaries
            + [np.full(shape, value, dtype=np.uint8) for value in range(256)])


class _Frames(gym.Env):
    """Only a frame shape, for the resize's construction (it is fed frames directly)."""

    def __init__(self, shape: tuple[int, ...], dtype=np.uint8) -> None:
        self.observation_space = gym.spaces.Box(0, 255, shape, dtype=dtype)
        self.action_space = gym.spaces.Discrete(2)


def _opencv():
    """cv2, the reference (in the dev extra); the bit-for-bit claim is for x86-64 builds, as ARM
    builds of OpenCV may fuse its multiply-adds."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the resize reproduces OpenCV's x86-64 builds")
    return pytest.importorskip("cv2", reason="OpenCV (the dev extra) is the reference")


@pytest.mark.parametrize("shape", [(210, 160), (252, 160), (84, 160), (100, 90), (85, 300), (2000, 85)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_atari_resize_is_opencv_inter_area_bit_for_bit(shape):
    """ALE's 210x160 frames and other shrinking factors (an integer factor, 1 included, on one
    axis only; a large one), on random, black-and-white and constant frames."""
    cv2 = _opencv()

    from streamrl.envs.atari import Resize

    resize = Resize(_Frames(shape), 84)
    for frame in _frames(shape):
        assert np.array_equal(resize.observation(frame), cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA))


def test_atari_resize_matches_opencv_on_real_frames():
    cv2 = _opencv()

    rng = np.random.default_rng(0)
    for game in ("BreakoutNoFrameskip-v4", "PongNoFrameskip-v4", "SeaquestNoFrameskip-v4"):
        env = make_env(game, seed=1)
        pooled = env.env  # the pipeline up to the resize: max-pooled grey 210x160 frames
        frame, _ = pooled.reset(seed=1)
        for _ in range(150):
            expected = cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)
            assert np.array_equal(env.observation(frame), expected)
            frame, _, terminated, truncated, _ = pooled.step(int(rng.integers(env.action_space.n)))
            if terminated or truncated:
                frame, _ = pooled.reset()


@pytest.mark.parametrize("shape, dtype, words", [
    ((60, 160), np.uint8, "only shrinks"),  # enlarging: cv2 interpolates
    ((168, 168), np.uint8, "integer factor on both axes"),  # cv2's integer-factor path
    ((84, 84), np.uint8, "integer factor on both axes"),
    ((210, 160, 3), np.uint8, "grey uint8 frames"),
    ((210, 160), np.float32, "grey uint8 frames"),
])
def test_atari_resize_refuses_frames_it_does_not_reproduce(shape, dtype, words):
    from streamrl.envs.atari import Resize

    with pytest.raises(ValueError, match=words):
        Resize(_Frames(shape, dtype), 84)


def test_atari_resize_refuses_a_frame_of_another_shape():
    from streamrl.envs.atari import Resize

    resize = Resize(_Frames((210, 160)), 84)
    for frame in (np.zeros((200, 150), np.uint8), np.zeros((210, 161), np.uint8), np.zeros((210, 160), np.int64)):
        with pytest.raises(ValueError, match="built for 210x160 uint8 frames"):
            resize.observation(frame)


def test_mujoco_warnings_become_python_warnings_and_write_no_log_file(tmp_path):
    """MuJoCo's own handler prints each warning and appends it to MUJOCO_LOG.TXT in the working
    directory. In a fresh process (the handler is process-wide), in an empty directory, a NaN in
    the state makes MuJoCo warn at every step, whatever its version."""
    import subprocess
    import sys

    nan_steps = ("import mujoco, warnings; from streamrl import make_env; from streamrl.envs import MuJoCoWarning\n"
                 "env = make_env('HalfCheetah-v5').unwrapped\n"
                 "def nan_step():  # (MuJoCo reports a kind of warning once until the data is reset)\n"
                 "    mujoco.mj_resetData(env.model, env.data); env.data.qpos[0] = float('nan')\n"
                 "    mujoco.mj_step(env.model, env.data)\n")

    def run(script: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-c", nan_steps + script], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert "WARNING" not in done.stdout + done.stderr  # MuJoCo's own print
        assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT
        return done

    # every warning arrives as a MuJoCoWarning
    done = run("with warnings.catch_warnings(record=True) as seen:\n"
               "    warnings.simplefilter('always')\n"
               "    for _ in range(2): nan_step()\n"
               "print(sum(w.category is MuJoCoWarning and 'Nan, Inf or huge value in QPOS' in str(w.message) "
               "for w in seen))\n")
    assert done.stdout.split() == ["2"]
    # shown once under Python's default filters, at the Python line that called MuJoCo
    done = run("for _ in range(3): nan_step()\n")
    shown = [line for line in done.stderr.splitlines() if "MuJoCoWarning: MuJoCo: Nan, Inf or huge value" in line]
    assert len(shown) == 1 and shown[0].startswith("<string>:5:"), done.stderr
    # with warnings made errors, nothing may raise through MuJoCo's C code (that aborts the process)
    done = run("warnings.simplefilter('error', MuJoCoWarning); nan_step()\n")
    assert "MuJoCoWarning: Nan, Inf or huge value in QPOS" in done.stderr, done.stderr
