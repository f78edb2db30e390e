"""The Stable-Baselines3 baselines: real runs through the real CLI into the same run folder as a
stream-x agent, and the batch-size-1 versions checked on the SB3 models themselves."""

import csv
import json
import tempfile

import pytest

pytest.importorskip("stable_baselines3", reason="the sb3 extra is not installed")  # CI installs it (dev)

from streamrl.baselines.sb3 import baseline_run, make_baseline_model  # noqa: E402
from tests.helpers import streamrl as run  # noqa: E402

# (algorithm, env, steps, extra args); short PPO rollouts so that PPO learns within the budget
# (PPO1 makes 10 gradient steps per env step, the slowest here)
RUNS = [("dqn", "CartPole-v1", 300, []), ("dqn1", "CartPole-v1", 200, []),
        ("ppo", "InvertedPendulum-v5", 200, ["--set", "n_steps=64", "--set", "batch_size=32"]),
        ("ppo1", "CartPole-v1", 60, []),
        ("sac", "InvertedPendulum-v5", 160, ["--set", "batch_size=64"]), ("sac1", "InvertedPendulum-v5", 100, [])]


@pytest.mark.parametrize("algorithm, env_id, steps, extra", RUNS, ids=[r[0] for r in RUNS])
def test_baseline_writes_a_stream_x_style_run_folder(tmp_path, algorithm, env_id, steps, extra):
    out = tmp_path / "run"
    result = run("train", algorithm, env_id, "--steps", steps, "--seed", "3", "--out", out, "--quiet", *extra)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert (config["algorithm"], config["env_id"], config["steps"], config["seed"]) == (algorithm, env_id, steps, 3)
    assert config["agent"]["sb3_class"] == algorithm.rstrip("1").upper()
    rows = list(csv.DictReader((out / "episodes.csv").open()))
    assert rows and list(rows[0]) == ["end_step", "return", "length"]
    lengths = [int(r["length"]) for r in rows]
    # episodes follow each other from step 0; the returns are the env's raw rewards (not VecNormalize's):
    # CartPole pays 1 per step, InvertedPendulum-v5 1 per step but 0 on the step that ends the episode
    assert [int(r["end_step"]) for r in rows] == [sum(lengths[:i + 1]) for i in range(len(rows))]
    unpaid_last_step = 1 if env_id.startswith("InvertedPendulum") else 0
    assert [float(r["return"]) for r in rows] == [n - unpaid_last_step for n in lengths]
    assert int(rows[-1]["end_step"]) <= steps
    timing = list(csv.DictReader((out / "timing.csv").open()))
    assert [t["end_step"] for t in timing] == [r["end_step"] for r in rows]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == steps and summary["episodes"] == len(rows)  # exactly the budget
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "agent.safetensors").exists() and not (out / "checkpoint.safetensors").exists()


@pytest.mark.parametrize("algorithm, env_id", [("ppo1", "CartPole-v1"), ("sac1", "Pendulum-v1"),
                                               ("dqn1", "CartPole-v1")])
def test_batch_size_one_versions_learn_from_one_transition_per_update(algorithm, env_id):
    model, hyperparameters = make_baseline_model(algorithm, env_id, seed=0)
    model.learn(12)
    assert model.batch_size == 1 and hyperparameters["batch_size"] == 1
    if algorithm == "ppo1":
        assert model.n_steps == 1 and model.rollout_buffer.buffer_size == 1 and not model.normalize_advantage
        assert model._n_updates == 12 * model.n_epochs  # a rollout of one transition at every step
    else:
        assert model.replay_buffer.buffer_size == 1 and model.learning_starts == 0
        assert model._n_updates == 12  # one gradient step at every step, from the newest transition
        assert model.replay_buffer.size() == 1
    if algorithm == "dqn1":
        assert model.train_freq.frequency == 1
    model.get_env().close()


def test_batch_versions_keep_sb3_defaults():
    ppo, ppo_options = make_baseline_model("ppo", "Hopper-v5", seed=0)
    assert ppo.n_steps == 2048 and ppo.batch_size == 64 and ppo.normalize_advantage
    assert ppo_options["vec_normalize"] and type(ppo.get_env()).__name__ == "VecNormalize"  # MuJoCo PPO, as the Zoo
    sac, _ = make_baseline_model("sac", "Hopper-v5", seed=0)
    assert sac.replay_buffer.buffer_size == 1_000_000 and sac.batch_size == 256 and sac.learning_starts == 100
    dqn, dqn_options = make_baseline_model("dqn", "CartPole-v1", seed=0, options={"learning_rate": 5e-4})
    assert dqn.replay_buffer.buffer_size == 1_000_000 and dqn.batch_size == 32 and dqn.learning_rate == 5e-4
    assert dqn_options["vec_normalize"] is False and dqn_options["train_freq"] == 4
    for model in (ppo, sac, dqn):
        model.get_env().close()


def test_same_seed_same_episodes(tmp_path):
    logs = []
    for name in ("a", "b"):
        baseline_run("dqn1", "CartPole-v1", 200, 7, tmp_path / name, progress=False, tensorboard=False)
        logs.append((tmp_path / name / "episodes.csv").read_bytes())
    assert logs[0] == logs[1] and logs[0].count(b"\n") > 5


def test_a_run_leaves_nothing_in_the_temp_dir(tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where SB3's default logger makes its folders
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    baseline_run("ppo", "CartPole-v1", 64, 0, tmp_path / "run", {"n_steps": 32, "batch_size": 16}, progress=False,
                 tensorboard=False)
    assert (tmp_path / "run" / "episodes.csv").exists()
    assert [p.name for p in temp.iterdir() if p.name.startswith("SB3-")] == []  # (torch keeps its own caches there)


def test_resume_is_refused_with_the_way_to_restart(tmp_path):
    out = tmp_path / "run"
    baseline_run("dqn1", "CartPole-v1", 100, 0, out, progress=False, tensorboard=False)
    (out / "summary.json").unlink()  # as a run killed before its end leaves it
    result = run("train", "--resume", out)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "dqn1 runs (Stable-Baselines3) keep no checkpoint and cannot resume; start the run again: streamrl " \
           f"train dqn1 CartPole-v1 --steps 100 --seed 0 --out {out} --overwrite" in result.stderr


def test_unknown_option_is_one_line(tmp_path):
    result = run("train", "ppo1", "--set", "n_stepz=2", "--steps", "50", "--out", tmp_path / "run", "--quiet")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("streamrl: error: unknown --set key 'n_stepz' for ppo1 (SB3 PPO); known keys: ")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("algorithm, env_id, options, message", [
    ("dqn1", "Pendulum-v1", {}, "dqn1 needs Discrete actions and Pendulum-v1 has Box actions; use sac, sac1, ppo or "
                                "ppo1"),
    ("sac", "CartPole-v1", {}, "sac needs Box actions and CartPole-v1 has Discrete actions; use dqn, dqn1, ppo or "
                               "ppo1"),
    ("ppo1", "CartPole-v1", {"vec_normalize": 3}, "--set vec_normalize expects True or False, got 3"),
    ("ppo", "CartPole-v1", {"n_epochs": 2.5}, "--set n_epochs expects an integer (default 10), got 2.5"),
    ("sac1", "Pendulum-v1", {"tau": "soft"}, "--set tau expects a number (default 0.005), got 'soft'"),
    ("ppo", "CartPole-v1", {"batch_size": 1}, "bad ppo option (`batch_size` must be greater than 1"),  # SB3's check
])
def test_bad_baseline_input(tmp_path, algorithm, env_id, options, message):
    with pytest.raises(ValueError) as error:
        baseline_run(algorithm, env_id, 50, 0, tmp_path / "run", options, progress=False, tensorboard=False)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_label_progress_file_and_eval_of_a_baseline_run(tmp_path):
    out, progress = tmp_path / "run", tmp_path / "progress.json"
    result = run("train", "dqn1", "CartPole-v1", "--steps", "300", "--out", out, "--quiet", "--no-tensorboard",
                 "--label", "dqn-one", "--progress-file", progress)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "config.json").read_text())["label"] == "dqn-one"
    assert json.loads(progress.read_text()) == {"step": 300, "steps": 300}  # the last write is the end
    result = run("eval", out)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "is a dqn1 run (Stable-Baselines3): baselines keep no model to evaluate" in result.stderr


def test_options_sb3_types_loosely_are_left_to_sb3(tmp_path):
    # train_freq is int | (int, str) in SB3: a tuple is valid although the default is an integer
    model, hyperparameters = make_baseline_model("dqn1", "CartPole-v1", 0, {"train_freq": (2, "step")})
    assert model.train_freq.frequency == 2 and hyperparameters["train_freq"] == (2, "step")
