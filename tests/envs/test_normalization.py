"""Welford statistics, observation normalization, reward scaling and the time feature, by hand."""

import numpy as np
import pytest

from streamrl.envs import ObservationNormalizer, PreprocessingConfig, Preprocessor, RewardScaler, RunningMeanStd
from streamrl.envs.normalization import ObservationTrace


def test_welford_first_samples_and_sample_variance():
    stats = RunningMeanStd(())
    stats.update(1.0)
    assert stats.mean == 1.0 and stats.var == 1.0  # variance is 1 until two samples exist
    stats.update(3.0)
    assert stats.mean == 2.0 and stats.var == 2.0  # p = (3-1)(3-2) = 2; var = 2 / 1
    stats.update(8.0)
    assert stats.mean == 4.0 and stats.var == 13.0  # p = 2 + (8-2)(8-4) = 26; var = 26 / 2


def test_welford_is_float64():
    stats = RunningMeanStd((1,))
    for x in (1e8, 1e8 + 1):  # float32 cannot hold 1e8 + 0.5
        stats.update(np.array([x], dtype=np.float32) if x == 1e8 else np.array([x]))
    assert stats.mean.dtype == np.float64 and stats.var.dtype == np.float64
    assert stats.mean[0] == 1e8 + 0.5 and stats.var[0] == 0.5


def test_observation_normalizer_uses_stats_including_current():
    norm = ObservationNormalizer((1,))
    assert norm(np.array([2.0]))[0] == 0.0  # mean 2, var 1
    assert norm(np.array([4.0]))[0] == pytest.approx(1 / np.sqrt(2 + 1e-8), rel=1e-12)  # mean 3, var 2


def test_boolean_frames_by_hand_and_as_their_float_values():
    """MinAtar frames are booleans: the compiled loops read them as 0 and 1, with no float copy."""
    frames = [np.array([True, False]), np.array([True, True]), np.array([False, True])]
    norm = ObservationNormalizer((2,))
    assert norm(frames[0]).tolist() == [0.0, 0.0]  # x = mean, var 1
    assert norm(frames[1]).tolist() == [0.0, 0.5 / np.sqrt(0.5 + 1e-8)]  # mean [1, .5], var [0, .5]
    # mean [2/3, 2/3], var [1/3, 1/3]: (0 - 2/3) / sqrt(1/3 + 1e-8), (1 - 2/3) / sqrt(1/3 + 1e-8)
    assert norm(frames[2]) == pytest.approx([-2 / 3 / np.sqrt(1 / 3 + 1e-8), 1 / 3 / np.sqrt(1 / 3 + 1e-8)],
                                            rel=1e-12)
    as_float = ObservationNormalizer((2,))
    for frame in frames:
        as_float(frame.astype(np.float64))
    assert norm.stats.count == as_float.stats.count == 3
    for key, value in norm.stats.state_dict().items():
        assert np.array_equal(value, as_float.stats.state_dict()[key]), key
    assert np.array_equal(norm(frames[0], update=False), as_float(frames[0].astype(np.float64), update=False))


def test_reward_scaling_across_episode_boundary():
    scaler = RewardScaler(gamma=0.5)
    # u1 = 1 -> stats {1}, var 1
    assert scaler(1.0, done=False) == pytest.approx(1 / np.sqrt(1 + 1e-8), rel=1e-12)
    # done at this step: u2 = 0.5 * (1 - 1) * 1 + 2 = 2 -> stats {1, 2}, var 0.5
    assert scaler(2.0, done=True) == pytest.approx(2 / np.sqrt(0.5 + 1e-8), rel=1e-12)
    assert scaler.trace == 2.0
    # u3 = 0.5 * 2 + 4 = 5 -> stats {1, 2, 5}: mean 8/3, var 13/3 (not centred: r / std)
    assert scaler(4.0, done=False) == pytest.approx(4 / np.sqrt(13 / 3 + 1e-8), rel=1e-12)
    assert scaler.trace == 5.0


def test_time_feature_and_preprocessor_order():
    pre = Preprocessor((1,), gamma=0.99, config=PreprocessingConfig(time_limit=4, scale_reward=False))
    first = pre.reset(np.array([2.0]))
    assert first.tolist() == [0.0, -0.5]  # normalized obs, then the time feature
    times = [pre.step(np.array([2.0]), 0.0, False, False)[0][-1] for _ in range(4)]
    assert times == [-0.25, 0.0, 0.25, 0.5]
    assert pre.reset(np.array([2.0]))[-1] == -0.5
    assert pre.output_shape == (2,)


def test_frame_stack_after_normalization_and_channels_first():
    pre = Preprocessor((2, 2, 3), 0.99, PreprocessingConfig(channels_last=True, scale_reward=False))
    assert pre.output_shape == (3, 2, 2)
    obs = np.arange(12.0).reshape(2, 2, 3)
    assert np.array_equal(pre.reset(obs), np.zeros((3, 2, 2)))
    stack = Preprocessor((2,), 0.99, PreprocessingConfig(frame_stack=3, normalize_observation=False))
    assert stack.reset(np.array([1.0, 2.0])).tolist() == [[1, 2]] * 3  # the reset frame repeated
    assert stack.step(np.array([3.0, 4.0]), 0.0, False, False)[0].tolist() == [[1, 2], [1, 2], [3, 4]]


@pytest.mark.parametrize("normalize", [True, False], ids=["normalized", "raw"])
def test_channels_last_frames_are_written_channels_first_by_hand(normalize):
    """Each of 24 distinct values lands where np.moveaxis(x, -1, 0) puts it, normalized by the
    Welford statistics of the three frames seen (sample variance), or just cast to float32."""
    frames = np.random.default_rng(0).normal(size=(3, 2, 4, 3)) * [1.0, 10.0, 100.0]
    pre = Preprocessor((2, 4, 3), 0.99, PreprocessingConfig(channels_last=True, normalize_observation=normalize))
    pre.reset(frames[0])
    pre.step(frames[1], 0.0, False, False)
    state, _ = pre.step(frames[2], 0.0, False, False)
    by_hand = (frames[2] - frames.mean(axis=0)) / np.sqrt(frames.var(axis=0, ddof=1) + 1e-8) if normalize else frames[2]
    assert state.shape == pre.output_shape == (3, 2, 4) and state.dtype == np.float32
    np.testing.assert_allclose(state, np.moveaxis(by_hand, -1, 0), rtol=1e-6)
    evaluated = pre.transform(frames[2], episode_start=True)  # frozen statistics, the same layout
    np.testing.assert_array_equal(evaluated, state)


def test_the_normalizer_writes_into_float64_and_refuses_a_wrong_channel_count():
    frames = np.random.default_rng(1).normal(size=(2, 3, 5))
    norm = ObservationNormalizer((3, 5))
    out = np.empty(15)
    norm.into(frames[0], out, channels=5)
    norm.into(frames[1], out, channels=5)
    by_hand = (frames[1] - frames.mean(axis=0)) / np.sqrt(frames.var(axis=0, ddof=1) + 1e-8)
    np.testing.assert_allclose(out, np.moveaxis(by_hand, -1, 0).ravel(), rtol=1e-12)
    before = norm.stats.state_dict()
    for channels in (0, -5, 3):
        with pytest.raises(ValueError, match=rf"channels is {channels}; it must be 1 or the size of the observation's "
                                             r"last axis \(shape \(3, 5\)\)"):
            norm.into(frames[1], out, channels=channels)
    for key, value in norm.stats.state_dict().items():  # nothing taken in
        assert np.array_equal(value, before[key]), key


def test_the_time_feature_is_refused_for_frames():
    with pytest.raises(ValueError, match=r"time feature is appended to vector observations, not to observations of "
                                         r"shape \(2, 2, 3\): pass time_info=False to the agent"):
        Preprocessor((2, 2, 3), 0.99, PreprocessingConfig(channels_last=True, time_limit=10))
    with pytest.raises(ValueError, match=r"shape \(2,\) stacked"):
        Preprocessor((2,), 0.99, PreprocessingConfig(frame_stack=4, time_limit=10))


def test_observation_trace_is_bias_corrected():
    trace = ObservationTrace((1,), beta=0.9)
    assert trace(np.array([5.0]))[0] == pytest.approx(5.0)  # 0.5 / (1 - 0.9)
    # z = 0.9 * 0.5 + 0.1 * 1 = 0.55; 0.55 / (1 - 0.81) = 2.8947...
    assert trace(np.array([1.0]))[0] == pytest.approx(0.55 / 0.19)


def test_frame_stack_of_8_bit_frames_by_hand():
    """Two 1x2 frames, then a third: Welford per pixel, normalized in float64, stored as float32."""
    pre = Preprocessor((1, 2), 0.99, PreprocessingConfig(scale_reward=False, frame_stack=2))
    first = pre.reset(np.array([[10, 0]], dtype=np.uint8))
    assert first.dtype == np.float32 and first.tolist() == [[[0.0, 0.0]], [[0.0, 0.0]]]  # var 1, x = mean
    second, _ = pre.step(np.array([[20, 4]], dtype=np.uint8), 0.0, False, False)
    # mean [15, 2], var [50, 8]: (20 - 15) / sqrt(50 + 1e-8), (4 - 2) / sqrt(8 + 1e-8)
    expected = np.float32([5 / np.sqrt(50 + 1e-8), 2 / np.sqrt(8 + 1e-8)])
    assert second[0].tolist() == [[0.0, 0.0]] and np.array_equal(second[1, 0], expected)
    third, _ = pre.step(np.array([[30, 2]], dtype=np.uint8), 0.0, False, False)
    # mean [20, 2], var [100, 4]: the newest frame is (30 - 20) / 10, (2 - 2) / 2
    assert np.array_equal(third[0], second[1]) and third[1, 0].tolist() == pytest.approx([1.0, 0.0], abs=1e-7)


def test_a_float64_frame_stack_from_an_older_agent_file_gives_the_same_states():
    frames = [np.array([[x, 255 - x]], dtype=np.uint8) for x in (3, 50, 7, 200, 90)]
    config = PreprocessingConfig(scale_reward=False, frame_stack=3)
    pre = Preprocessor((1, 2), 0.99, config)
    pre.reset(frames[0])
    pre.step(frames[1], 0.0, False, False)
    state = pre.state_dict()
    assert state["frames"].dtype == np.float32
    uninterrupted = [pre.step(frame, 0.0, False, False)[0] for frame in frames[2:]]
    # older streamrl kept the normalized frames in float64, digits below float32's included; the
    # state was their float32 cast, as a loaded float32 stack is now
    older = state["frames"].astype(np.float64) * (1 + 1e-12)
    assert not np.array_equal(older, state["frames"]) and np.array_equal(older.astype(np.float32), state["frames"])
    for saved in (state, {**state, "frames": older}):
        loaded = Preprocessor((1, 2), 0.99, config)
        loaded.load_state_dict(saved)
        resumed = [loaded.step(frame, 0.0, False, False)[0] for frame in frames[2:]]
        assert all(np.array_equal(a, b) for a, b in zip(resumed, uninterrupted))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_all_finite_finds_nan_and_inf_anywhere(dtype):
    from streamrl.envs.normalization import all_finite

    x = np.zeros((3, 2), dtype=dtype)
    assert all_finite(x) and all_finite(np.full(4, np.finfo(dtype).max, dtype=dtype))  # its sum overflows
    for bad in (np.nan, np.inf, -np.inf):
        for index in ((0, 0), (2, 1)):
            y = x.copy()
            y[index] = bad
            assert not all_finite(y) and not all_finite(y.T)  # (a transposed view too)
    assert all_finite(np.array([1, 2], dtype=np.int64)) and all_finite(np.array([True]))


@pytest.mark.parametrize("out", [np.zeros(1, np.float32), np.zeros((2, 1), np.float32), np.zeros(2, np.float16)],
                         ids=["short", "not flat", "float16"])
def test_a_bad_out_array_is_refused_and_the_statistics_stay_as_they_were(out):
    norm = ObservationNormalizer((2,))
    norm(np.array([1.0, 2.0]))
    before = norm.stats.state_dict()
    with pytest.raises(ValueError, match="it must be float32 or float64, flat, with the observation's 2 values"):
        norm(np.array([3.0, 4.0]), out=out)
    for key, value in norm.stats.state_dict().items():
        assert np.array_equal(value, before[key]), key


def test_read_only_observations_make_numba_compile_nothing_new():
    """A read-only array is another type to Numba; a read-only observation (an env may hand out a
    view it owns) is copied before the compiled loops see it, so they are not compiled again."""
    from streamrl.envs import normalization

    preprocessor = Preprocessor((3,), 0.99, PreprocessingConfig())
    obs = np.array([1.0, 2.0, 4.0])
    preprocessor.reset(obs)
    normalization.all_finite(obs)
    kernels = (normalization._update_and_normalize, normalization._all_finite, normalization._welford_update,
               normalization._normalize_into)
    RunningMeanStd((3,)).update(obs)
    preprocessor.transform(obs, episode_start=True)
    before = [len(kernel.signatures) for kernel in kernels]
    expected = Preprocessor((3,), 0.99, PreprocessingConfig())
    expected.reset(obs)
    obs.flags.writeable = False
    state, _ = preprocessor.step(obs, 1.0, False, False)
    assert normalization.all_finite(obs)
    RunningMeanStd((3,)).update(obs)
    evaluated = preprocessor.transform(obs, episode_start=True)
    assert [len(kernel.signatures) for kernel in kernels] == before
    np.testing.assert_array_equal(evaluated, preprocessor.transform(obs.copy(), episode_start=True))
    np.testing.assert_array_equal(state, expected.step(obs.copy(), 1.0, False, False)[0])


def test_the_normalizer_refuses_a_non_finite_observation_with_its_statistics_untouched():
    from streamrl.envs.normalization import NonFiniteObservation

    norm = ObservationNormalizer((3,))
    norm(np.array([1.0, 2.0, 3.0]))
    before = norm.stats.state_dict()
    with pytest.raises(NonFiniteObservation, match=r"NaN or inf in 2 of 3 values"):
        norm(np.array([np.nan, 1.0, -np.inf], dtype=np.float32))
    for key, value in norm.stats.state_dict().items():
        assert np.array_equal(value, before[key]), key
    assert norm(np.array([np.nan, 0.0, 0.0]), update=False).shape == (3,)  # evaluation takes in nothing: no check


def test_the_reward_scalers_python_float_statistics_match_and_save_as_runningmeanstd():
    from streamrl.envs.normalization import ScalarRunningMeanStd

    arrays, floats = RunningMeanStd(()), ScalarRunningMeanStd()
    for x in (1.0, 3.0, 8.0, -0.1, 1e8):
        arrays.update(x)
        floats.update(x)
    assert (floats.mean, floats.var, floats.count) == (float(arrays.mean), float(arrays.var), 5)
    a, f = arrays.state_dict(), floats.state_dict()
    assert sorted(a) == sorted(f)
    for key in a:  # the same bytes in an agent file
        assert f[key].shape == a[key].shape == () and f[key].dtype == a[key].dtype, key
        assert f[key].tobytes() == a[key].tobytes(), key
    restored = ScalarRunningMeanStd()
    restored.load_state_dict(a)
    restored.update(4.0)
    floats.update(4.0)
    assert (restored.mean, restored.p, restored.var, restored.count) == (floats.mean, floats.p, floats.var, 6)


def test_statistics_of_another_shape_are_refused_on_load():
    """The compiled loops check no bounds: a file's statistics must have the observation's shape."""
    stats = RunningMeanStd((3,))
    saved = RunningMeanStd((2,)).state_dict()
    with pytest.raises(ValueError, match=r"saved statistics 'mean' have shape \(2,\), these have \(3,\)"):
        stats.load_state_dict(saved)
    assert stats.mean.shape == (3,) and stats.count == 0


@pytest.mark.parametrize("eps", [0.0, -1e-8, float("nan")])
def test_a_normalizer_without_a_positive_eps_is_refused(eps):
    # its compiled loops divide by sqrt(var + eps) with no zero check: a constant coordinate
    # (var = 0) would give inf or NaN
    with pytest.raises(ValueError, match="eps must be positive"):
        ObservationNormalizer((3,), eps=eps)
