"""streamrl eval (with video), plot and predict through the real command line."""

import csv
import os

import imageio.v2 as imageio
import numpy as np
import pytest

from streamrl.running.plot import curve_on_grid
from tests.helpers import streamrl as run


def video_frames(result, video):
    """The frame count eval reported, checked against the MP4 it wrote; and a reader of it."""
    assert result.returncode == 0, result.stderr
    frames = int(result.stdout.split("(")[-1].split()[0])
    reader = imageio.get_reader(str(video))
    assert reader.count_frames() == frames
    return frames, reader


@pytest.fixture(scope="module")
def cartpole_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for seed in (0, 1):
        result = run("train", "ac", "CartPole-v1", "--steps", "2000", "--seed", str(seed), "--out",
                     str(root / f"ac-{seed}"), "--quiet")
        assert result.returncode == 0, result.stderr
    return root


def test_eval_writes_a_playable_video(cartpole_runs, tmp_path):
    video = tmp_path / "cartpole.mp4"
    result = run("eval", str(cartpole_runs / "ac-0"), "--episodes", "2", "--max-episode-steps", "150",
                 "--video", str(video))
    frames, reader = video_frames(result, video)
    assert reader.get_meta_data()["size"] == (600, 400)
    returns = [float(line.split()[-1]) for line in result.stdout.splitlines() if line.startswith("episode ")]
    # CartPole pays 1 per step: one frame per step plus the first reset's
    assert len(returns) == 2 and max(returns) <= 150 and frames == sum(returns) + 1
    # off a terminal the live bar and spinners print nothing, not even an empty line
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "episode 1", "episode 2", "StreamAC on CartPole-v1", "video"], result.stdout


# What 'streamrl eval --video' does for MuJoCo, in a process of its own (it sets up OpenGL once).
OFFSCREEN_PROBE = ("from streamrl.running.evaluate import prepare_offscreen_rendering\n"
                   "prepare_offscreen_rendering('HalfCheetah-v5')\nimport mujoco\n")


def require_offscreen_opengl():
    """Skips the test where MuJoCo cannot render offscreen (no OSMesa, as on a fresh machine), with
    the reason; fails it instead under STREAMRL_REQUIRE_OSMESA=1 (CI, which installs OSMesa)."""
    import subprocess
    import sys

    probe = subprocess.run([sys.executable, "-c", OFFSCREEN_PROBE], capture_output=True, text=True, timeout=600)
    if probe.returncode == 0:
        return
    reason = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
    if os.environ.get("STREAMRL_REQUIRE_OSMESA") == "1":
        pytest.fail(f"STREAMRL_REQUIRE_OSMESA=1, but no offscreen OpenGL: {reason}")
    pytest.skip(f"no offscreen OpenGL for MuJoCo here: {reason}")


@pytest.mark.parametrize("env_id, algorithm", [("HalfCheetah-v5", "ac"), ("MinAtar/Breakout-v1", "q")])
def test_eval_video_for_mujoco_and_minatar(tmp_path, env_id, algorithm):
    if env_id == "HalfCheetah-v5":
        require_offscreen_opengl()
    out = tmp_path / "run"
    assert run("train", algorithm, env_id, "--steps", "300", "--out", str(out), "--quiet").returncode == 0
    video = tmp_path / "v.mp4"
    result = run("eval", str(out / "agent.safetensors"), "--episodes", "1", "--max-episode-steps", "100",
                 "--video", str(video))
    frames, reader = video_frames(result, video)
    assert frames >= 2 and reader.get_data(0).std() > 0  # a real picture


@pytest.mark.filterwarnings("ignore:MuJoCo. compiler attribute")  # (the HalfCheetah model file's, made here)
def test_eval_says_in_one_line_when_mujoco_cannot_render_offscreen(tmp_path):
    """Without OSMesa, PyOpenGL fails inside mujoco's import (AttributeError: 'NoneType' object has
    no attribute 'glGetError'). CI has OSMesa, so a mujoco package that fails the same way stands in
    for the missing library, found first on the path of the real command."""
    import subprocess

    from streamrl import StreamAC, make_env
    from tests.helpers import STREAMRL

    path = tmp_path / "cheetah.safetensors"
    StreamAC(make_env("HalfCheetah-v5", seed=0), seed=0).save(path)
    (tmp_path / "fake" / "mujoco").mkdir(parents=True)
    (tmp_path / "fake" / "mujoco" / "__init__.py").write_text(
        "raise AttributeError(\"'NoneType' object has no attribute 'glGetError'\")\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    video = tmp_path / "cheetah.mp4"
    result = subprocess.run([STREAMRL, "eval", str(path), "--episodes", "1", "--video", str(video)],
                            capture_output=True, text=True, timeout=600,
                            env={**env, "PYTHONPATH": str(tmp_path / "fake")})
    assert result.returncode != 0 and not video.exists()
    assert result.stderr.strip().splitlines() == [
        "streamrl: error: HalfCheetah-v5 cannot render offscreen here: importing mujoco with MUJOCO_GL=osmesa "
        "failed (AttributeError: 'NoneType' object has no attribute 'glGetError'); install OSMesa (apt-get install "
        "libosmesa6) or set MUJOCO_GL=egl"], result.stderr


def test_eval_video_for_atari(tmp_path):
    """A real ALE game (ale-py ships the ROMs): the video shows the emulator's colour screen."""
    from streamrl import StreamQ, make_env

    path = tmp_path / "breakout.safetensors"  # an untrained agent: eval's part is under test, not learning
    StreamQ(make_env("ALE/Breakout-v5", seed=0), seed=0).save(path)
    video = tmp_path / "breakout.mp4"
    # --max-episode-steps counts emulator frames; the pipeline acts every 4th frame
    result = run("eval", path, "--episodes", "1", "--max-episode-steps", "400", "--video", video)
    frames, reader = video_frames(result, video)
    assert 2 <= frames <= 400 // 4 + 1  # the reset's frame and one a step at most
    assert reader.get_meta_data()["size"] == (160, 210) and reader.get_data(frames // 2).std() > 0


def test_plot_groups_runs_and_writes_a_png(cartpole_runs, tmp_path):
    out = tmp_path / "curves.png"
    result = run("plot", str(cartpole_runs / "ac-0"), str(cartpole_runs / "ac-1"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "ac on CartPole-v1: 2 runs" in result.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curve_on_grid_by_hand():
    steps, returns = np.array([10, 30]), np.array([2.0, 4.0])
    curve = curve_on_grid(steps, returns, np.array([5, 10, 20, 30, 40]), window=10)
    assert np.isnan(curve[0]) and curve[1:].tolist() == [2.0, 2.0, 3.0, 3.0]  # mean of episodes so far


def test_predict_on_a_csv_stream(tmp_path):
    path = tmp_path / "stream.csv"
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["t", "sensor", "load"])
        for t in range(1500):
            writer.writerow([t, np.sin(t / 20) + 0.1 * rng.normal(), 1 + np.sin(t / 20)])
    result = run("predict", "--csv", str(path), "--target", "load", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "out" / "predictions.csv").open()))
    assert len(rows) == 1500 and {"row", "prediction", "discounted_return"} <= rows[0].keys()
    assert (tmp_path / "out" / "predictions.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["eval", "nowhere"], "neither a run folder with agent.safetensors nor an agent file"),
    (["plot", "nowhere"], "nowhere is not a folder: give folders that hold run folders"),
    (["predict", "--csv", "x.csv"], "--csv needs --target COLUMN"),
])
def test_bad_input(tmp_path, args, message):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--episodes", "0"], "--episodes must be positive, got 0"),
    (["--max-episode-steps", "0"], "--max-episode-steps must be positive, got 0"),
    (["--video", "out.avi"], "--video writes an MP4 file: give a name ending in .mp4, not 'out.avi'"),
])
def test_bad_eval_options(cartpole_runs, tmp_path, args, message):
    result = run("eval", cartpole_runs / "ac-0", *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr == f"streamrl: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_truncated_checkpoint_is_reported(tmp_path, cartpole_runs):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes((cartpole_runs / "ac-0" / "agent.safetensors").read_bytes()[:200])
    result = run("eval", str(broken))
    assert result.returncode == 2 and "truncated or corrupted" in result.stderr
    assert os.path.getsize(broken) == 200
