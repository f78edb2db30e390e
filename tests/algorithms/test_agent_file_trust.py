"""Loading trusts nothing in an agent file: its metadata must fit the schema (each entry present
and of its type, the config exactly the agent's options, spaces, random states and counters well
formed), its tensors must be exactly the agent's and match the checksum saved with them. Files
edited through safetensors' own API, or with one byte flipped on disk, are each refused in one
line naming the file; the file as streamrl wrote it (and one of before the checksum) loads."""

import json

import numpy as np
import pytest

from streamrl import StreamAgent, StreamQ, make_env
from tests.agent_file_edits import DAMAGES, edited_copy, entry, flip_byte, read, saved_q_agent, table


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return saved_q_agent(tmp_path_factory.mktemp("agent"))


def refusal(path) -> str:
    with pytest.raises(ValueError) as error:
        StreamAgent.load(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_or_edited_file_is_refused_in_one_line(saved, tmp_path, damage):
    metadata, tensors, says = DAMAGES[damage]
    path = edited_copy(saved, tmp_path / "edited.safetensors", metadata, tensors)
    assert refusal(path).startswith(f"{path}{says}")


def test_a_counter_cannot_set_an_attribute(saved, tmp_path):
    """Counters are restored by name and type, not setattr'd: neither gamma nor a counter of the wrong type."""
    for counters, says in (({"gamma": 5.0}, "differ in: gamma"), ({"num_steps": "300"}, "the saved counter num_steps "
                                                                  "is '300'")):
        path = edited_copy(saved, tmp_path / "edited.safetensors", table("counters", **counters))
        assert says in refusal(path)


@pytest.mark.parametrize("value", [1.0, True, {"x": 1}, None])
def test_an_extra_entry_must_be_a_string(saved, tmp_path, value):
    """The caller's extra entries travel as strings; anything else in the metadata is refused, the
    format version apart."""
    path = edited_copy(saved, tmp_path / "edited.safetensors", lambda entries: entries.update(run=value))
    assert refusal(path) == (f"{path}: its metadata's 'run' is {value!r}, not a string; the file is damaged or was "
                             "edited: use an intact copy of it")


def test_a_file_carries_the_checksum_of_its_tensors(saved):
    from streamrl.algorithms.agent_file import tensors_checksum

    arrays, metadata = read(saved)
    assert len(metadata["tensors_sha256"]) == 64 and metadata["tensors_sha256"] == tensors_checksum(arrays)
    for change in (lambda a: a["q.w"].__setitem__(0, np.nextafter(a["q.w"][0], np.float32(1))),  # one ulp
                   lambda a: a.__setitem__("q.w", a["q.w"].astype(np.float64)),  # the same values, another dtype
                   lambda a: a.__setitem__("q.w", a["q.w"].reshape(2, -1)),  # the same bytes, another shape
                   lambda a: a.__setitem__("q.w2", a.pop("q.w"))):  # the same tensor, another name
        other = {k: v.copy() for k, v in arrays.items()}
        change(other)
        assert tensors_checksum(other) != metadata["tensors_sha256"]


@pytest.mark.parametrize("tensor", ["q.w", "preprocessor.obs.mean"])
def test_a_flipped_byte_in_the_tensors_is_refused(saved, tmp_path, tensor):
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(saved.read_bytes())
    flip_byte(path, tensor)
    assert refusal(path) == (f"{path} is damaged: its tensors do not match the checksum saved with them; use an "
                             "intact copy of it (or, for a checkpoint, train the run again)")


def test_a_tensor_edit_that_keeps_the_checksum_is_refused_as_damage(saved, tmp_path):
    from safetensors.numpy import save_file

    arrays, metadata = read(saved)
    arrays["q.extra"] = np.zeros(3, dtype=np.float32)
    path = tmp_path / "edited.safetensors"
    save_file(arrays, str(path), metadata={"streamrl": json.dumps(metadata)})
    assert "is damaged: its tensors do not match the checksum saved with them" in refusal(path)


def test_the_file_as_written_loads_and_so_does_one_without_a_checksum(saved, tmp_path):
    """Files written before the checksum (format 1 among them: see test_agent_file.py) load as before."""
    agent = StreamAgent.load(saved)
    assert "tensors_sha256" in read(saved)[1]
    without = edited_copy(saved, tmp_path / "without.safetensors", entry("tensors_sha256", None))
    again = StreamAgent.load(without)
    assert again.config() == agent.config() and again.counters() == agent.counters()
    for name, learner in agent.learners.items():
        for key, value in learner.state_dict().items():
            np.testing.assert_array_equal(again.learners[name].state_dict()[key], value)


@pytest.mark.parametrize("extra, message", [
    ({"config": "{}"}, "extra_metadata cannot set 'config': the agent file's own entry has that name"),
    ({"tensors_sha256": "0" * 64}, "extra_metadata cannot set 'tensors_sha256'"),
    ({"run": {"a": 1}}, "extra_metadata values are strings (JSON, say); 'run' is a dict")])
def test_extra_metadata_cannot_take_the_files_own_entries(tmp_path, extra, message):
    agent = StreamQ(make_env("CartPole-v1"), seed=0)
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}"):
        agent.save(tmp_path / "q.safetensors", extra_metadata=extra)
    assert not (tmp_path / "q.safetensors").exists()
