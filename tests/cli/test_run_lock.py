"""One process at a time in a run folder, through real processes: a second 'streamrl train' with
the same folder (new, with --overwrite, or --resume) is refused in one line that names the first's
PID, before it compiles anything and without touching the first run's files; the lock dies with
its process, so a run killed with SIGKILL blocks nobody."""

import json
import os
import signal
import subprocess

import pytest

from tests.helpers import STREAMRL, cli_error, wait_until
from tests.helpers import streamrl as run


def one_line_error(result) -> str:
    return "streamrl: error: " + cli_error(result)


@pytest.fixture
def first_run(tmp_path):
    """A 'streamrl train' far from its end, once it owns its folder and has a checkpoint."""
    out = tmp_path / "run"
    process = subprocess.Popen([STREAMRL, "train", "q", "CartPole-v1", "--steps", "100000000", "--seed", "1", "--out",
                                str(out), "--checkpoint-every", "500", "--quiet", "--no-tensorboard"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: (out / "checkpoint.safetensors").is_file(), process)
    assert (out / ".run.lock").read_text() == f"{process.pid}\n"  # (taken before the folder's first file)
    yield out, process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.mark.parametrize("second", [
    ["q", "CartPole-v1", "--seed", "2", "--overwrite"],
    ["q", "CartPole-v1", "--seed", "2"],
    ["ac", "CartPole-v1", "--overwrite"],
    ["--resume"],
])
def test_a_second_run_in_the_same_folder_is_refused_naming_the_first(first_run, tmp_path, second):
    out, process = first_run
    cache = tmp_path / "numba-cache"  # the second's own: had it started compiling, files would appear there
    args = [*second[:-1], "--resume", str(out)] if second[-1] == "--resume" else [*second, "--out", str(out)]
    result = subprocess.run([STREAMRL, "train", *args, "--steps", "1000", "--quiet", "--no-tensorboard"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NUMBA_CACHE_DIR": str(cache)})
    assert one_line_error(result) == (
        f"streamrl: error: {out} is in use: process {process.pid} is training a run there (it holds "
        f"{out / '.run.lock'}); wait for it to end or stop it (kill {process.pid})")
    assert not any(cache.rglob("*.nb[ic]")), "the second run compiled before it was refused"
    assert process.poll() is None  # the first goes on, in a folder still its own
    assert json.loads((out / "config.json").read_text())["seed"] == 1
    assert (out / ".run.lock").read_text().strip() == str(process.pid)


def test_the_lock_of_a_killed_run_blocks_nobody(first_run):
    out, process = first_run
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (out / ".run.lock").is_file()  # left behind, but no process holds it
    again = run("train", "q", "CartPole-v1", "--steps", "2000", "--seed", "2", "--out", out, "--overwrite", "--quiet",
                "--no-tensorboard")
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "config.json").read_text())["seed"] == 2
    assert json.loads((out / "summary.json").read_text())["steps"] == 2000
    assert not (out / ".run.lock").exists()  # a run that ends removes its lock file


def test_runs_one_after_the_other_in_one_folder(tmp_path):
    """The lock file of a finished run is gone; a refused command leaves no folder behind."""
    out = tmp_path / "run"
    for args in (["--steps", "600"], ["--steps", "600", "--overwrite"]):
        result = run("train", "q", "CartPole-v1", *args, "--out", out, "--quiet", "--no-tensorboard")
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    nowhere = tmp_path / "a" / "b"
    refused = run("train", "q", "NoSuchEnv-v0", "--steps", "600", "--out", nowhere, "--quiet")  # (refused in the lock)
    assert refused.returncode == 2 and "NoSuchEnv-v0" in refused.stderr and not (tmp_path / "a").exists()
