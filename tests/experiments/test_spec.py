"""The sweep file: its checks (one line naming the bad key), the runs it expands to, and the exact
'streamrl train' command line of each run."""

import sys

import pytest
import yaml

from streamrl.cli.main import _parse_value
from streamrl.experiments.runs import plan, train_command
from streamrl.experiments.spec import conflicts, expand, parse_spec
from tests.helpers import streamrl

BASE = {"algorithms": ["q"], "envs": ["CartPole-v1"], "seeds": 1, "steps": 1000}


def spec_of(**changes):
    return parse_spec({**BASE, **changes}, "s.yaml", known_algorithms=["q", "ac", "sarsa", "td"])


def test_cross_product_names_labels_and_seeds():
    spec = spec_of(algorithms=["q", "ac"], envs=["MinAtar/Breakout-v1"], seeds=[7, 3],
                   variants={"stream-x": {}, "no-sparse": {"sparsity": 0.0}})
    runs = expand(spec)
    assert [(r.name, r.label, r.seed, r.overrides) for r in runs] == [
        ("q-stream-x-MinAtar_Breakout-v1-s7", "q", 7, {}),
        ("q-stream-x-MinAtar_Breakout-v1-s3", "q", 3, {}),
        ("q-no-sparse-MinAtar_Breakout-v1-s7", "q-no-sparse", 7, {"sparsity": 0.0}),
        ("q-no-sparse-MinAtar_Breakout-v1-s3", "q-no-sparse", 3, {"sparsity": 0.0}),
        ("ac-stream-x-MinAtar_Breakout-v1-s7", "ac", 7, {}),
        ("ac-stream-x-MinAtar_Breakout-v1-s3", "ac", 3, {}),
        ("ac-no-sparse-MinAtar_Breakout-v1-s7", "ac-no-sparse", 7, {"sparsity": 0.0}),
        ("ac-no-sparse-MinAtar_Breakout-v1-s3", "ac-no-sparse", 3, {"sparsity": 0.0})]
    assert spec_of(seeds=3).seeds == (0, 1, 2)
    assert (spec_of().checkpoint_every, spec_of().tensorboard, spec_of().variants) == (10_000, True, {"default": {}})


def test_train_command_starts_fresh_then_resumes_from_a_checkpoint(tmp_path):
    options = {"lr": 0.5, "optimizer": "adaptive", "layer_norm": False, "hidden": [64, 64]}
    spec = spec_of(algorithms=["ac"], seeds=[2], checkpoint_every=500, tensorboard=False, variants={"v": options})
    run, folder = expand(spec)[0], tmp_path / "run"
    fresh = train_command(run, spec, folder)
    assert fresh == [sys.executable, "-m", "streamrl", "train", "ac", "CartPole-v1", "--steps", "1000", "--seed", "2",
                     "--out", str(folder), "--checkpoint-every", "500", "--label", "ac-v", "--overwrite", "--quiet",
                     "--progress-file", str(folder / "progress.json"), "--no-tensorboard",
                     "--set", "lr=0.5", "--set", "optimizer='adaptive'", "--set", "layer_norm=False",
                     "--set", "hidden=[64, 64]"]
    sets = [fresh[i + 1] for i, arg in enumerate(fresh) if arg == "--set"]  # train reads each value back unchanged
    assert {s.split("=")[0]: _parse_value(s.split("=", 1)[1]) for s in sets} == options
    assert plan(folder, retry_failed=False) == "start"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "checkpoint.safetensors").write_bytes(b"")
    assert plan(folder, retry_failed=False) == "resume"
    assert train_command(run, spec, folder) == [sys.executable, "-m", "streamrl", "train", "--resume", str(folder),
                                                "--quiet", "--progress-file", str(folder / "progress.json"),
                                                "--no-tensorboard"]
    (folder / "status.json").write_text('{"state": "failed"}')
    assert (plan(folder, retry_failed=False), plan(folder, retry_failed=True)) == ("failed", "resume")
    (folder / "summary.json").write_text("{}")
    assert plan(folder, retry_failed=True) == "done"


@pytest.mark.parametrize("changes, message", [
    ({"seed": 1}, "unknown key 'seed'; known keys: algorithms, envs, seeds, steps, checkpoint_every, tensorboard, "
                  "variants"),
    ({"steps": None}, "steps must be a positive integer, got None"),
    ({"steps": 0}, "steps must be a positive integer, got 0"),
    ({"checkpoint_every": "10k"}, "checkpoint_every must be a positive integer, got '10k'"),
    ({"seeds": 0}, "seeds must be a positive count or a list of seeds, got 0"),
    ({"seeds": [1, True]}, "seeds must be a positive count or a list of non-negative integers, got [1, True]"),
    ({"seeds": [1, 1]}, "seeds lists 1 twice"),
    ({"algorithms": []}, "algorithms must be a name or a non-empty list of names, got []"),
    ({"algorithms": ["q", "dqn9"]}, "algorithms: unknown algorithm 'dqn9'; choose from ac, q, sarsa, td"),
    ({"envs": ["CartPole-v1", "CartPole-v1"]}, "envs lists 'CartPole-v1' twice"),
    ({"envs": ["A/b-v0", "A_b-v0"]}, "envs: two env ids give the same folder name once '/' and such become '_'"),
    ({"tensorboard": "yes"}, "tensorboard must be true or false, got 'yes'"),
    ({"variants": {"a b": {}}}, "variants: name 'a b' must be letters, digits, '.', '_', '+' and single '-' between "
                                "them"),
    ({"variants": {"v": [1]}}, "variants.v must map agent option names to values, got [1]"),
    ({"variants": {"v": {"lr": {"x": 1}}}}, "variants.v.lr: {'x': 1} is not a number, true/false, a string or a list"),
])
def test_a_bad_sweep_file_is_named_in_one_line(changes, message):
    with pytest.raises(ValueError) as error:
        spec_of(**changes)
    assert str(error.value) == f"sweep file s.yaml: {message}"


def test_two_runs_may_not_share_a_folder():
    with pytest.raises(ValueError, match="^two runs of the sweep would share the folder a-b-c-CartPole-v1-s0; rename"):
        expand(parse_spec({**BASE, "algorithms": ["a", "a-b"], "variants": {"b-c": {}, "c": {}}}, "s.yaml"))


def test_missing_keys_and_a_non_mapping():
    with pytest.raises(ValueError, match="^sweep file s.yaml: missing key 'steps' "):
        parse_spec({"algorithms": "q", "envs": "CartPole-v1", "seeds": 1}, "s.yaml")
    with pytest.raises(ValueError, match="^sweep file s.yaml: must be a mapping"):
        parse_spec(["q"], "s.yaml")


def test_a_results_folder_takes_more_runs_but_not_other_runs_under_the_same_names():
    old = spec_of(variants={"a": {"lr": 0.5}})
    assert conflicts(old, spec_of(seeds=5, algorithms=["q", "ac"], variants={"a": {"lr": 0.5}, "b": {}})) is None
    assert conflicts(old, spec_of(steps=2000, variants={"a": {"lr": 0.5}})) == (
        "steps is 2000 here but 1000 in the sweep that made it")
    assert conflicts(old, spec_of(variants={"a": {"lr": 0.1}})) == (
        "variant 'a' has other options here than in the sweep that made it")


def test_cli_mistakes_exit_2_with_one_line_and_write_nothing(tmp_path):
    spec = tmp_path / "sweep.yaml"
    results = tmp_path / "results"
    cases = [
        ("algorithms: [q]\nenvs: [CartPole-v1]\nseeds: 1\nsteps: 100\nvariants: {v: {lamda: 0.5, colour: 1}}\n",
         "sweep variant 'v' with algorithm 'q': unknown key 'colour' for StreamQ; known keys: "),
        ("algorithms: [q]\nenvs: [CartPole-v1]\nseeds: 1\nsteps: 100\nvariants: {v: {lamda: fast}}\n",
         "sweep variant 'v' with algorithm 'q': lamda expects a number (default 0.8), got 'fast'"),
        ("algorithms: [q, dqn1]\nenvs: [CartPole-v1]\nseeds: 1\nsteps: 100\nvariants: {v: {sparse_init: false}}\n",
         "sweep variant 'v' with algorithm 'dqn1': unknown key 'sparse_init' for dqn1 (SB3 DQN); known keys: "),
        ("algorithms: [q\n", f"sweep file {spec} is not valid YAML at line 2: "),
        ("algorithms: [zz]\nenvs: [CartPole-v1]\nseeds: 1\nsteps: 100\n",
         f"sweep file {spec}: algorithms: unknown algorithm 'zz'; choose from "),
    ]
    for text, message in cases:
        spec.write_text(text)
        result = streamrl("sweep", spec, "--out", results)
        assert result.returncode == 2 and result.stderr.startswith(f"streamrl: error: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1 and not results.exists()
    result = streamrl("sweep", tmp_path / "none.yaml", "--out", results)
    assert result.returncode == 2 and f"sweep file {tmp_path / 'none.yaml'} does not exist" in result.stderr

    results.mkdir()
    (results / "sweep.yaml").write_text(yaml.safe_dump({**BASE, "steps": 5000}))
    spec.write_text(yaml.safe_dump(BASE))
    result = streamrl("sweep", spec, "--out", results, "--dry-run")
    assert result.returncode == 2 and result.stderr == (
        f"streamrl: error: {results} holds another sweep: steps is 1000 here but 5000 in the sweep that made it; "
        "give this one another --out folder\n")


def test_dry_run_lists_each_run_and_its_command_and_writes_nothing(tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text("algorithms: [q, td]\nenvs: CartPole-v1\nseeds: [4]\nsteps: 300\n")
    results = tmp_path / "results"
    result = streamrl("sweep", spec, "--out", results, "--dry-run")
    assert result.returncode == 0, result.stderr
    run = results / "runs" / "q-default-CartPole-v1-s4"
    assert result.stdout.splitlines() == [
        f"start  q-default-CartPole-v1-s4  streamrl train q CartPole-v1 --steps 300 --seed 4 --out {run} "
        f"--checkpoint-every 10000 --label q --overwrite --quiet --progress-file {run / 'progress.json'}",
        f"start  td-default-CartPole-v1-s4  streamrl train td CartPole-v1 --steps 300 --seed 4 --out "
        f"{results / 'runs' / 'td-default-CartPole-v1-s4'} --checkpoint-every 10000 --label td --overwrite --quiet "
        f"--progress-file {results / 'runs' / 'td-default-CartPole-v1-s4' / 'progress.json'}",
        f"2 runs in {results} (dry run: nothing started, nothing written)"]
    assert not results.exists()
