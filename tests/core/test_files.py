"""atomic_path's failures name the file given, not its hidden temporary; remove_temporaries takes
the temporary files of killed writes and nothing else."""

import errno
import os

import pytest

from streamrl.core.files import WriteError, atomic_path, remove_temporaries


def test_a_missing_folder_is_named_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError) as error:
        with atomic_path("missing/out.png"):
            pass
    assert isinstance(error.value, WriteError) and error.value.errno == errno.ENOENT
    assert str(error.value) == "could not write missing/out.png (the folder missing does not exist)"
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_is_named_as_given_and_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(WriteError) as error:
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("{")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a write to a full disk does
    assert str(error.value) == f"could not write {target} (No space left on device)"
    assert error.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []


def test_another_files_error_inside_the_block_is_not_renamed(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        with atomic_path(tmp_path / "copy.yaml") as tmp:
            with open(tmp, "wb") as f:
                f.write((tmp_path / "source.yaml").read_bytes())
    assert error.value.filename == str(tmp_path / "source.yaml")
    assert list(tmp_path.iterdir()) == []


def test_remove_temporaries_takes_only_those_of_the_names_given(tmp_path):
    names = {}
    for name in ("summary.json", "agent.safetensors", "status.json"):
        with atomic_path(tmp_path / name) as tmp:
            names[name] = os.path.basename(tmp)
            open(tmp, "w").close()
    for temporary in names.values():  # as writes killed before their rename leave them
        (tmp_path / temporary).write_text("half")
    (tmp_path / ".x1y2z3w4.tmp.csv").write_text("")  # named as earlier versions did
    (tmp_path / ".notes.tmp").write_text("")
    removed = remove_temporaries(tmp_path, ["summary.json", "agent.safetensors", "episodes.csv"])
    assert sorted(p.name for p in removed) == sorted([names["summary.json"], names["agent.safetensors"],
                                                      ".x1y2z3w4.tmp.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".notes.tmp", names["status.json"], *names])
