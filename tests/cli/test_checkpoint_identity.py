"""A run's checkpoint and agent file carry its identity (algorithm, env, seed and a hash of the agent
options) and the checksum of their tensors: `streamrl train --resume RUN` and `streamrl eval RUN`
refuse another run's file, a damaged one, or a checkpoint whose run state is not of a run's form,
in one line with exit status 2, and leave the folder as it was. Real runs through the real
command line; a run is resumed past its length (--steps 4000), from its last checkpoint."""

import hashlib
import json
import shutil

import pytest

from streamrl.algorithms.agent_file import read_metadata
from tests.agent_file_edits import flip_byte
from tests.helpers import cli_error, folder_contents, rewrite_metadata
from tests.helpers import streamrl as run

TRAIN = ["train", "q", "CartPole-v1", "--steps", "3000", "--checkpoint-every", "1000", "--quiet", "--no-tensorboard"]
RUNS = {"seed1": ["--seed", "1"], "seed2": ["--seed", "2"], "seed2-lr": ["--seed", "2", "--set", "lr=0.5"]}
FIX = "put the run's own {} back or train the run again"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, args in RUNS.items():
        result = run(*TRAIN, *args, "--out", root / name)
        assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def seed2(runs, tmp_path):
    """A copy of the seed-2 run, to resume past its length or to evaluate."""
    shutil.copytree(runs / "seed2", tmp_path / "seed2")
    return tmp_path / "seed2"






def resume(folder):
    return run("train", "--resume", folder, "--steps", "4000", "--quiet", "--no-tensorboard")


@pytest.mark.parametrize("source, differ", [
    ("seed1", "seed 1; this run's config.json says seed 2"),
    ("seed2-lr", "lr 0.5; this run's config.json says lr 1.0")])
def test_another_runs_checkpoint_is_refused_on_resume(runs, seed2, source, differ):
    """Same algorithm and env, so only the identity tells the checkpoint from the run's own."""
    checkpoint = seed2 / "checkpoint.safetensors"
    shutil.copy(runs / source / "checkpoint.safetensors", checkpoint)
    before = folder_contents(seed2)
    line = cli_error(resume(seed2))
    assert line == f"{checkpoint} belongs to another run ({differ}): {FIX.format('checkpoint')}"
    assert folder_contents(seed2) == before


def test_another_runs_agent_file_is_refused_on_eval(runs, seed2):
    agent = seed2 / "agent.safetensors"
    shutil.copy(runs / "seed1" / "agent.safetensors", agent)
    assert cli_error(run("eval", seed2, "--episodes", "1")) == (
        f"{agent} belongs to another run (seed 1; this run's config.json says seed 2): {FIX.format('agent file')}")


def test_the_files_carry_the_runs_identity_and_the_run_resumes_with_its_own(seed2):
    config = json.loads((seed2 / "config.json").read_text())
    identity = {"algorithm": "q", "env_id": "CartPole-v1", "seed": 2, "agent_config_sha256": hashlib.sha256(
        json.dumps(config["agent"], sort_keys=True, separators=(",", ":")).encode()).hexdigest()}
    assert json.loads(read_metadata(seed2 / "checkpoint.safetensors")["run"])["identity"] == identity
    assert json.loads(read_metadata(seed2 / "agent.safetensors")["run_identity"]) == identity
    assert run("eval", seed2, "--episodes", "1", "--max-episode-steps", "50").returncode == 0
    result = resume(seed2)
    assert result.returncode == 0, result.stderr
    assert json.loads(read_metadata(seed2 / "checkpoint.safetensors")["run"])["identity"] == identity  # kept


def test_a_checkpoint_written_before_identities_resumes(seed2):
    checkpoint = seed2 / "checkpoint.safetensors"
    state = json.loads(read_metadata(checkpoint)["run"])
    del state["identity"]
    rewrite_metadata(checkpoint, checkpoint, run=json.dumps(state), tensors_sha256=None)
    result = resume(seed2)
    assert result.returncode == 0, result.stderr


def test_a_flipped_byte_in_the_checkpoints_weights_is_refused(seed2):
    checkpoint = seed2 / "checkpoint.safetensors"
    flip_byte(checkpoint, "q.w", offset=1001)
    before = folder_contents(seed2)
    assert cli_error(resume(seed2)) == (f"{checkpoint} is damaged: its tensors do not match the checksum saved "
                                             "with them; use an intact copy of it (or, for a checkpoint, train the "
                                             "run again)")
    assert folder_contents(seed2) == before


@pytest.mark.parametrize("change, says", [
    (lambda state: state.pop("env_random_state"), "its run state has no 'env_random_state'"),
    (lambda state: state.update(episodes=[[5, "x", 3]]), "its run state's episodes include [5, 'x', 3], not [end "
                                                         "step, return, length]"),
    (lambda state: state.update(identity={"seed": 2}), "the run identity it carries is not {algorithm, env_id, "
                                                       "seed, agent_config_sha256}"),
    (lambda state: state["env_random_state"]["_np_random"]["generator"].update(state="x"),
     "its environment random state does not fit CartPole-v1 (")])
def test_a_checkpoint_whose_run_state_is_damaged_is_refused(seed2, change, says):
    checkpoint = seed2 / "checkpoint.safetensors"
    state = json.loads(read_metadata(checkpoint)["run"])
    change(state)
    rewrite_metadata(checkpoint, checkpoint, run=json.dumps(state))
    before = folder_contents(seed2)
    line = cli_error(resume(seed2))
    assert line.startswith(f"{checkpoint}: {says}") and line.endswith(
        "the file is damaged or was edited: put the run's own file back or train the run again"), line
    assert folder_contents(seed2) == before
