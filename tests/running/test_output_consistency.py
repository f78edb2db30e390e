"""Outputs that agree with each other: one smoothing window for the learning curve, the summary
and plot; whole progress lines in a file; plot takes what report takes and lays environments out
in a grid; wall times in their units; MuJoCo's model warning once."""

import csv
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from streamrl.algorithms import Episode
from streamrl.running.figures import learning_curve, smooth
from tests.helpers import streamrl as run


def test_the_learning_curve_averages_the_summary_s_window_of_episodes(tmp_path):
    rng = np.random.default_rng(0)
    episodes = [Episode(10 * (i + 1), float(r), 10) for i, r in enumerate(rng.normal(size=80))]
    figure = learning_curve(episodes, tmp_path / "curve.png", "title")
    mean = figure.axes[0].lines[1]
    assert mean.get_label() == "mean of the last 10 episodes"
    np.testing.assert_array_equal(mean.get_ydata(), smooth(np.array([e.episode_return for e in episodes]), 10))
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_a_progress_line_piped_to_a_file_is_whole(tmp_path):
    with (tmp_path / "log.txt").open("w") as log:
        done = subprocess.run([sys.executable, "-m", "streamrl", "train", "q", "CartPole-v1", "--steps", "3000",
                               "--out", str(tmp_path / "run"), "--no-tensorboard"], stdout=log, stderr=subprocess.PIPE,
                              text=True, timeout=300, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    bar = (tmp_path / "log.txt").read_text().splitlines()[0]
    assert "…" not in bar and len(bar) > 80, bar
    assert bar.startswith("q CartPole-v1") and "3000/3000" in bar and bar.endswith("eps 0.010"), bar


def write_run(folder, env_id, seed, finished=True):
    """A run folder as 'streamrl train' leaves it (config.json, and episodes.csv once finished)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"algorithm": "q", "env_id": env_id, "steps": 300, "seed": seed}))
    if finished:
        with (folder / "episodes.csv").open("w", newline="") as f:
            csv.writer(f).writerows([["end_step", "return", "length"], *([100 * i, float(i + seed), 100]
                                                                        for i in (1, 2, 3))])


def png_size(path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_plot_takes_a_sweep_s_results_folder_and_lays_panels_out_three_to_a_row(tmp_path):
    envs = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1"]
    for env in envs:
        for seed in (0, 1):
            write_run(tmp_path / "results" / "runs" / f"q-{env}-s{seed}", env, seed)
    write_run(tmp_path / "results" / "runs" / "stopped", "CartPole-v1", 2, finished=False)
    result = run("plot", tmp_path / "results", "--out", tmp_path / "curves.png")
    assert result.returncode == 0, result.stderr
    assert [f"q on {env}: 2 runs" for env in sorted(envs)] == result.stdout.splitlines()[:4]
    assert "left out 1 unfinished run folder (no episodes.csv): " in result.stdout
    assert png_size(tmp_path / "curves.png") == (3 * 6 * 110, 2 * 4 * 110)  # 3 columns, 2 rows, at 110 dpi
    # the same search as streamrl report's
    from streamrl.experiments import report
    from streamrl.running import plot

    assert report.find_run_folders is plot.find_run_folders
    # a run folder given by name must be finished
    result = run("plot", tmp_path / "results" / "runs" / "stopped", "--out", tmp_path / "x.png")
    assert result.returncode == 2 and "has no episodes.csv: the run has not finished" in result.stderr


def test_wall_times_are_shown_in_their_units():
    from streamrl.experiments.report import _duration

    assert [_duration(s) for s in (0.42, 12.34, 59.96, 245.0, 3599.6, 7620.0)] == [
        "0.4 s", "12.3 s", "1 min 00 s", "4 min 05 s", "1 h 00 min", "2 h 07 min"]


QUICK_START = """
from streamrl import StreamAC, make_env

env = make_env("HalfCheetah-v5", seed=4)
agent = StreamAC(env, seed=4)
episodes = agent.learn(300)
agent.save("ac.safetensors")
agent = StreamAC.load("ac.safetensors", env=make_env("HalfCheetah-v5"))
obs, _ = env.reset(seed=1)
action, _ = agent.predict(obs, deterministic=True, episode_start=True)
"""


def test_the_mujoco_model_warning_shows_once_in_the_python_quick_start(tmp_path):
    """Gymnasium's HalfCheetah model warns at every load; the quick start loads it twice, and in
    between an import (scipy's) changes a warning filter, which makes Python forget what it has
    shown."""
    pytest.importorskip("mujoco")
    done = subprocess.run([sys.executable, "-c", QUICK_START], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("MuJoCoWarning: MuJoCo: compiler attribute 'settotalmass' is deprecated") == 1, done.stderr
