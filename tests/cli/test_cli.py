"""The command line, run as a user runs it: the installed ``streamrl`` entry point in a subprocess."""

import csv
import json
import sys

import pytest

from tests.helpers import streamrl as run


def test_train_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    result = run("train", "q", "CartPole-v1", "--steps", "3000", "--seed", "1", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["algorithm"] == "q" and config["env_id"] == "CartPole-v1" and config["agent"]["seed"] == 1
    rows = list(csv.DictReader((out / "episodes.csv").open()))
    assert rows and rows[0].keys() == {"end_step", "return", "length"}
    timing = list(csv.DictReader((out / "timing.csv").open()))  # kept apart so the log is reproducible
    assert [t["end_step"] for t in timing] == [r["end_step"] for r in rows]
    assert int(rows[-1]["end_step"]) <= 3000 and all(float(r["return"]) > 0 for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3000 and summary["episodes"] == len(rows)
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from streamrl import StreamAgent
    assert StreamAgent.load(out / "agent.safetensors").num_steps == 3000
    assert not list(out.glob(".*.tmp"))  # nothing half-written left behind


def test_same_seed_same_episode_log(tmp_path):
    logs = []
    for name in ("a", "b"):
        assert run("train", "sarsa", "--steps", "1500", "--out", str(tmp_path / name), "--quiet").returncode == 0
        logs.append((tmp_path / name / "episodes.csv").read_bytes())
    assert logs[0] == logs[1]


@pytest.mark.parametrize("args, message", [
    (["train", "q", "CartPol-v1"], "unknown environment id 'CartPol-v1'; did you mean CartPole-v1"),
    (["train", "--steps", "0"], "--steps must be a positive number of steps, got 0"),
    (["train", "--steps", "-5"], "--steps must be a positive number of steps, got -5"),
    (["train", "--checkpoint-every", "0"], "--checkpoint-every must be positive, got 0"),
    (["train", "--set", "lamdaa=0.9"], "unknown --set key 'lamdaa' for StreamQ"),
    (["train", "--set", "lamda"], "--set expects key=value"),
    (["train", "q", "Pendulum-v1"], "StreamQ needs a Discrete action space"),
    (["train", "--set", "lamda=abc"], "--set lamda expects a number (default 0.8), got 'abc'"),
    (["train", "ac", "--set", "hidden=5"], "bad agent option value"),
])
def test_bad_input_is_one_line_and_nonzero(tmp_path, args, message):
    result = run(*args, "--out", str(tmp_path / "run"), "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("streamrl: error:") and message in lines[0], result.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


def test_refuses_to_overwrite_a_finished_run(tmp_path):
    out = str(tmp_path / "run")
    assert run("train", "--steps", "500", "--out", out, "--quiet").returncode == 0
    again = run("train", "--steps", "500", "--out", out, "--quiet")
    assert again.returncode == 2 and "already holds a finished run" in again.stderr


@pytest.mark.parametrize("algorithm", ["q", "dqn"])  # stream-x and a Stable-Baselines3 baseline
def test_refuses_an_out_that_is_a_file(tmp_path, algorithm):
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    result = run("train", algorithm, "--steps", "100", "--out", str(out), "--quiet")
    assert result.returncode == 2 and result.stderr.strip() == (
        f"streamrl: error: {out} is a file, not a run folder; give --out a folder (made if missing)"), result.stderr
    assert out.read_text() == "mine"


def test_help_lists_the_subcommands():
    result = run("--help")
    assert result.returncode == 0 and "train" in result.stdout and "bench" in result.stdout
    assert sys.executable  # the entry point runs in this interpreter's environment


def test_config_file_with_command_line_overrides(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('algorithm = "sarsa"\nenv = "Acrobot-v1"\nsteps = 800\nseed = 4\n[agent]\nlamda = 0.9\n')
    out = tmp_path / "run"
    result = run("train", "--config", str(config), "--steps", "600", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    saved = json.loads((out / "config.json").read_text())
    assert (saved["algorithm"], saved["env_id"], saved["steps"], saved["seed"]) == ("sarsa", "Acrobot-v1", 600, 4)
    assert saved["agent"]["lamda"] == 0.9


@pytest.mark.parametrize("text, message", [
    ('steps = 100\n[agent\n', "is malformed"),
    ('stepz = 100\n', "unknown key 'stepz'"),
    ('steps = "many"\n', "steps must be an integer, got 'many'"),
    ('agent = 3\n', "'agent' must be a table"),
])
def test_malformed_config_file(tmp_path, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = run("train", "--config", str(config), "--out", str(tmp_path / "run"), "--quiet")
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_tensorboard_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    result = run("train", "q", "CartPole-v1", "--steps", "2500", "--out", str(out), "--quiet",
                 "--set", "track_overshoot=True")
    assert result.returncode == 0, result.stderr
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"episode/return", "episode/length", "td_error/mean_abs", "step_size/mean",
            "step_size/bound_active_fraction", "overshoot/count"} <= tags
    returns = [e.value for e in events.Scalars("episode/return")]
    rows = list(csv.DictReader((out / "episodes.csv").open()))
    assert returns == pytest.approx([float(r["return"]) for r in rows])
    assert [e.step for e in events.Scalars("step_size/mean")] == [1000, 2000]  # one point per 1,000 steps
    assert all(0 <= e.value <= 1 for e in events.Scalars("step_size/bound_active_fraction"))
