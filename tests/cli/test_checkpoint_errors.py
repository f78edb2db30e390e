"""Checkpoints that do not belong where they are used, through the real command line: a run folder
holding another run's agent (other algorithm, other env), and a file of a newer format. Each is
one line on stderr, exit status 2, and leaves the run folder as it was."""

import shutil

import pytest

from tests.helpers import cli_error, folder_contents, rewrite_metadata
from tests.helpers import streamrl as run

# CartPole-v0 has CartPole-v1's spaces: only its id tells it apart
RUNS = {"q-cartpole": ("q", "CartPole-v1"), "ac-cartpole": ("ac", "CartPole-v1"), "q-cartpole-v0": ("q", "CartPole-v0")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, (algorithm, env_id) in RUNS.items():
        result = run("train", algorithm, env_id, "--steps", "600", "--checkpoint-every", "100", "--out",
                     str(root / name), "--quiet", "--no-tensorboard")
        assert result.returncode == 0, result.stderr
        assert (root / name / "checkpoint.safetensors").is_file()
    return root




def one_line_error(result) -> str:
    return "streamrl: error: " + cli_error(result)


@pytest.fixture
def cartpole_run(runs, tmp_path):
    """A copy of the finished q CartPole run, to resume with more steps or to evaluate."""
    folder = tmp_path / "q-cartpole"
    shutil.copytree(runs / "q-cartpole", folder)
    return folder


@pytest.mark.parametrize("source, holds", [("ac-cartpole", "ac on CartPole-v1"), ("q-cartpole-v0", "q on CartPole-v0")])
@pytest.mark.parametrize("file, command", [("checkpoint.safetensors", "resume"), ("agent.safetensors", "eval")])
def test_a_file_from_another_run_is_refused(runs, cartpole_run, source, holds, file, command):
    shutil.copy(runs / source / file, cartpole_run / file)
    before = folder_contents(cartpole_run)
    if command == "resume":
        result = run("train", "--resume", cartpole_run, "--steps", "1000", "--quiet", "--no-tensorboard")
    else:
        result = run("eval", cartpole_run, "--episodes", "1")
    line = one_line_error(result)
    assert line == (f"streamrl: error: {cartpole_run / file} holds an agent trained with {holds}, but the run trains "
                    "q on CartPole-v1 (config.json): the file comes from another run; put the run's own file back or "
                    "train the run again")
    assert folder_contents(cartpole_run) == before


@pytest.mark.parametrize("command", ["resume", "eval run", "eval file"])
def test_a_newer_checkpoint_format_is_refused(cartpole_run, command):
    from streamrl import __version__
    from streamrl.algorithms.agent_file import FORMAT_VERSION

    newer = FORMAT_VERSION + 1
    for name in ("checkpoint.safetensors", "agent.safetensors"):  # as a newer streamrl would write them
        rewrite_metadata(cartpole_run / name, cartpole_run / name, format_version=newer, streamrl_version="9.9.0")
    before = folder_contents(cartpole_run)
    if command == "resume":
        file = cartpole_run / "checkpoint.safetensors"
        result = run("train", "--resume", cartpole_run, "--steps", "1000", "--quiet", "--no-tensorboard")
    else:
        file = cartpole_run / "agent.safetensors"
        result = run("eval", file if command == "eval file" else cartpole_run, "--episodes", "1")
    line = one_line_error(result)
    assert line == (f"streamrl: error: {file} is agent file format {newer} (written by streamrl 9.9.0), newer than "
                    f"this streamrl {__version__} reads (format {FORMAT_VERSION}); upgrade streamrl (pip install -U "
                    "streamrl)")
    assert folder_contents(cartpole_run) == before


@pytest.mark.parametrize("damage", ["truncated", "header overwritten"])
def test_a_damaged_checkpoint_is_refused_on_resume(cartpole_run, damage):
    checkpoint = cartpole_run / "checkpoint.safetensors"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2] if damage == "truncated" else data[:8] + b"#" * 40 + data[48:])
    before = folder_contents(cartpole_run)
    line = one_line_error(run("train", "--resume", cartpole_run, "--steps", "1000", "--quiet", "--no-tensorboard"))
    assert line.startswith(f"streamrl: error: {checkpoint} is not a readable agent file (")
    assert line.endswith("); it may be truncated or corrupted")
    assert folder_contents(cartpole_run) == before


def test_the_run_with_its_own_files_resumes_and_evaluates(cartpole_run):
    """The control: the same commands on the untouched folder succeed."""
    assert run("eval", cartpole_run, "--episodes", "1").returncode == 0
    result = run("train", "--resume", cartpole_run, "--steps", "1000", "--quiet", "--no-tensorboard")
    assert result.returncode == 0, result.stderr
    assert "trained 1,000 steps" in result.stdout


@pytest.mark.parametrize("command, text, message", [
    ("resume", None, "is not a run folder (no config.json)"),
    ("eval", None, "is not a run folder (no config.json)"),
    ("plot", '{"algorithm": "q", "env_id"', "config.json is corrupted (Expecting"),
    ("resume", '{"algorithm": "q", "env_id": "CartPole-v1", "seed": 0}', "config.json is corrupted (no 'steps')"),
    ("eval", '[1, 2]', "config.json is corrupted (no 'algorithm')"),
])
def test_a_missing_or_corrupt_run_config(cartpole_run, command, text, message):
    config = cartpole_run / "config.json"
    if text is None:
        config.unlink()
    else:
        config.write_text(text)
    before = folder_contents(cartpole_run)
    args = {"resume": ["train", "--resume", cartpole_run, "--steps", "1000", "--quiet", "--no-tensorboard"],
            "eval": ["eval", cartpole_run, "--episodes", "1"],
            "plot": ["plot", cartpole_run, "--out", cartpole_run.parent / "curves.png"]}[command]
    line = one_line_error(run(*args))
    assert message in line and (str(config) in line or str(cartpole_run) in line)
    assert folder_contents(cartpole_run) == before and not (cartpole_run.parent / "curves.png").exists()
