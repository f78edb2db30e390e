"""`streamrl eval FILE` on an agent file damaged or edited (through safetensors' own API, or one
byte flipped on disk): one line on stderr naming the file, exit status 2, never "internal error"."""

import pytest

from tests.agent_file_edits import DAMAGES, edited_copy, flip_byte, saved_q_agent
from tests.helpers import cli_error
from tests.helpers import streamrl as run

# the cases, one process each (the API test covers every damage)
CASES = ["gamma in the counters", "lr 'x'", "config not a table", "preprocessing mistyped", "env id a number",
         "extra tensor", "missing tensor", "rng state not a number", "observation space mistyped",
         "action space mistyped"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return saved_q_agent(tmp_path_factory.mktemp("agent"))




@pytest.mark.parametrize("damage", CASES)
def test_eval_refuses_a_damaged_or_edited_file(saved, tmp_path, damage):
    metadata, tensors, says = DAMAGES[damage]
    path = edited_copy(saved, tmp_path / "edited.safetensors", metadata, tensors)
    assert cli_error(run("eval", path, "--episodes", "1")).startswith(f"{path}{says}")


def test_eval_refuses_a_flipped_byte_in_the_weights(saved, tmp_path):
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(saved.read_bytes())
    flip_byte(path, "q.w", offset=401)
    assert cli_error(run("eval", path, "--episodes", "1")) == (
        f"{path} is damaged: its tensors do not match the checksum saved with them; use an intact copy of it (or, "
        "for a checkpoint, train the run again)")


def test_eval_of_the_file_as_written(saved):
    """The control: the untouched file evaluates."""
    result = run("eval", saved, "--episodes", "1", "--max-episode-steps", "50")
    assert result.returncode == 0, result.stderr
