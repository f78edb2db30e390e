"""``streamrl reproduce``: the paper's experiments as sweep files, scaled, with what this install
cannot run left out and said."""

import pytest

from streamrl.experiments.reproduce import classic_options, preset_sweeps
from tests.helpers import streamrl

EVERY_ALGORITHM = ["q", "sarsa", "ac", "td", "ppo", "ppo1", "sac", "sac1", "dqn", "dqn1"]


def test_stream_barrier_at_a_thousandth_of_the_paper():
    sweeps, notes = preset_sweeps("stream-barrier", 0.001, 2, EVERY_ALGORITHM)
    classic = classic_options()
    envs = ["Hopper-v5", "Walker2d-v5"]
    assert sweeps == [
        ("stream", {"algorithms": ["ac"], "envs": envs, "seeds": 2, "steps": 2000, "checkpoint_every": 1000,
                    "variants": {"stream-x": {}, "classic": classic}}),
        ("batch", {"algorithms": ["ppo1", "sac1", "ppo", "sac"], "envs": envs, "seeds": 2, "steps": 2000,
                   "checkpoint_every": 1000, "variants": {"default": {}}})]
    assert notes == []
    assert classic == {"overshoot_bound": False, "sparse_init": False, "layer_norm": False,
                       "normalize_observation": False, "scale_reward": False, "time_info": False}


def test_batch_baselines_can_run_at_a_smaller_budget():
    sweeps, _ = preset_sweeps("stream-barrier", 0.01, 2, EVERY_ALGORITHM, baseline_scale=0.0005)
    assert [(part, spec["steps"], spec["checkpoint_every"]) for part, spec in sweeps] == [
        ("stream", 20_000, 2_000), ("batch", 1_000, 1_000)]
    with pytest.raises(ValueError, match="--baseline-scale must be above 0 and at most 1 .*, got 2"):
        preset_sweeps("stream-barrier", 0.01, 2, EVERY_ALGORITHM, baseline_scale=2)


def test_budgets_seeds_and_what_is_left_out():
    sweeps, notes = preset_sweeps("minatar", 0.5, None, ["q", "ac"])
    assert sweeps[0][1]["steps"] == 2_500_000 and sweeps[0][1]["seeds"] == 3
    assert sweeps[0][1]["checkpoint_every"] == 100_000 and notes == []
    sweeps, notes = preset_sweeps("atari", 1.0, None, ["q"])
    assert [part for part, _ in sweeps] == ["stream"] and sweeps[0][1]["steps"] == 10_000_000
    assert "batch: left out dqn1, dqn ('streamrl train' does not offer them here)" in notes
    assert preset_sweeps("mujoco", 1e-4, 1, ["ac"])[0][0][1]["steps"] == 200


@pytest.mark.parametrize("args, message", [
    (("mujoco", 0.0, None), "--scale must be above 0 and at most 1 (a fraction of the paper's steps), got 0.0"),
    (("mujoco", 1.5, None), "--scale must be above 0 and at most 1"),
    (("mujoco", 0.1, 0), "--seeds must be a positive count, got 0"),
    (("nope", 0.1, None), "unknown preset 'nope'; choose one of stream-barrier, mujoco, dmc, minatar, atari"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        preset_sweeps(*args, EVERY_ALGORITHM)


def test_reproduce_dry_run_lists_the_parts_runs(tmp_path):
    result = streamrl("reproduce", "mujoco", "--scale", "0.001", "--seeds", "1", "--out", tmp_path / "r", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "mujoco: Stream AC(lambda) on five MuJoCo tasks, at 0.001 of the paper's steps"
    assert lines[1] == "part stream:"
    assert [line.split()[:2] for line in lines[2:7]] == [
        ["start", f"ac-default-{env}-s0"] for env in ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5",
                                                       "Humanoid-v5")]
    assert "--steps 2000 --seed 0" in lines[2] and lines[7] == f"5 runs in {tmp_path / 'r' / 'stream'} (dry run: "\
        "nothing started, nothing written)"
    assert not (tmp_path / "r").exists()


def test_reproduce_at_the_full_budget_says_so(tmp_path):
    result = streamrl("reproduce", "minatar", "--seeds", "1", "--out", tmp_path / "r", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == ("minatar: Stream Q(lambda) on the five MinAtar games, at the paper's step "
                                             "budget")
    assert "--steps 5000000 --seed 0" in result.stdout


def test_the_comparison_one_part_at_a_time():
    """Each part at a budget of its own: the MuJoCo tasks at 1M steps (half the paper's 2M), the
    MinAtar games at 2M (0.4 of 5M)."""
    algorithms = [*EVERY_ALGORITHM, "iq", "iac", "itd", "qrc", "avg"]
    (part, mujoco), = preset_sweeps("comparison", 0.5, None, algorithms, parts=["mujoco"])[0]
    assert part == "mujoco" and mujoco["algorithms"] == ["ac", "iac", "avg"] and mujoco["steps"] == 1_000_000
    assert mujoco["envs"] == ["Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Ant-v5"] and mujoco["seeds"] == 3
    (part, minatar), = preset_sweeps("comparison", 0.4, None, algorithms, parts=["minatar"])[0]
    assert part == "minatar" and minatar["algorithms"] == ["q", "iq", "qrc"] and minatar["steps"] == 2_000_000
    assert len(minatar["envs"]) == 5
    with pytest.raises(ValueError, match="preset comparison has no part 'atari'; its parts: mujoco, minatar"):
        preset_sweeps("comparison", 0.5, None, algorithms, parts=["atari"])
