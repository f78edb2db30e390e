"""The classic streaming baseline and single-technique ablations from the command line."""

import json

import pytest

from streamrl import StreamAgent
from streamrl.algorithms.techniques import TECHNIQUES
from tests.helpers import streamrl as run


def test_classic_preset_runs_and_records_every_switch(tmp_path):
    out = tmp_path / "run"
    result = run("train", "q", "CartPole-v1", "--preset", "classic", "--set", "lr=0.001", "--steps", "1500",
                 "--out", str(out), "--quiet", "--no-tensorboard")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["label"] == "q-classic"  # reports keep it apart from stream-x q runs
    agent_config = config["agent"]
    assert {name: agent_config[name] for name in TECHNIQUES} == dict.fromkeys(TECHNIQUES, False)
    assert agent_config["lr"] == 0.001  # --set wins over the preset's defaults
    agent = StreamAgent.load(out / "agent.safetensors")
    assert agent.techniques() == dict.fromkeys(TECHNIQUES, False) and agent.num_steps == 1500
    assert json.loads((out / "summary.json").read_text())["episodes"] > 10


def test_one_switch_with_lowercase_false(tmp_path):
    out = tmp_path / "run"
    result = run("train", "ac", "CartPole-v1", "--set", "sparse_init=false", "--steps", "300", "--out", str(out),
                 "--quiet", "--no-tensorboard")
    assert result.returncode == 0, result.stderr
    techniques = StreamAgent.load(out / "agent.safetensors").techniques()
    assert techniques == {**dict.fromkeys(TECHNIQUES, True), "sparse_init": False}


@pytest.mark.parametrize("args, message", [
    (["q", "--set", "layer_norm=maybe"], "--set layer_norm expects True or False, got 'maybe'"),
    (["q", "--set", "time_info=maybe"], "time_info must be True, False or None (the domain's default), got 'maybe'"),
    (["ppo1", "--preset", "classic"], "--preset classic switches stream-x techniques; ppo1 is a Stable-Baselines3"),
])
def test_bad_switches_are_one_line_errors(tmp_path, args, message):
    result = run("train", *args, "--steps", "100", "--out", str(tmp_path / "run"), "--quiet")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "run" / "config.json").exists()
