"""Writes that fail, through the real command line: a full disk (a real tmpfs of 300 KB, mounted
by the test when it runs as root) at a checkpoint, at the learning curve and under a video, a
missing folder, a config.json edited by hand, and the temporary files of writes that were killed.
Each failure is one line that names the file and what is kept, exit status 2; a run is marked
finished (summary.json) only once all its files are written."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from streamrl.algorithms.agent_file import read_metadata
from tests.helpers import STREAMRL, cli_error
from tests.helpers import streamrl as run

QUIET = ("--quiet", "--no-tensorboard")


def one_line_error(result) -> str:
    return "streamrl: error: " + cli_error(result)


def hidden_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def small_disk(tmp_path):
    """A real filesystem of 300 KB: a tmpfs mounted for the test, unmounted after it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)], capture_output=True,
                           text=True)
    if mount.returncode != 0:
        pytest.skip(f"could not mount a tmpfs: {mount.stderr.strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def free_bytes(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize


def fill(disk: Path, leave: int) -> None:
    """Take the free space of ``disk`` but ``leave`` bytes (tmpfs counts whole pages)."""
    (disk / "filler").write_bytes(bytes(free_bytes(disk) - leave))
    assert free_bytes(disk) == leave


def pages(size: int) -> int:
    page = os.sysconf("SC_PAGE_SIZE")
    return -(-size // page) * page


def checkpoint_step(run_dir: Path) -> int:
    return json.loads(read_metadata(run_dir / "checkpoint.safetensors")["counters"])["num_steps"]


def finished_run(tmp_path: Path, disk: Path, *args) -> Path:
    """A short finished run trained on the ordinary disk, copied onto ``disk``."""
    out = tmp_path / "trained"
    result = run("train", "q", "CartPole-v1", "--out", out, *args, *QUIET)
    assert result.returncode == 0, result.stderr
    shutil.copytree(out, disk / "run")
    return disk / "run"


def test_a_full_disk_at_a_checkpoint_keeps_the_last_one_and_says_how_to_go_on(tmp_path, small_disk):
    run_dir = finished_run(tmp_path, small_disk, "--steps", "1000", "--checkpoint-every", "500",
                           "--set", "hidden=(64, 64)")
    checkpoint = (run_dir / "checkpoint.safetensors").read_bytes()
    step = checkpoint_step(run_dir)
    # Room for the run's small files (its lock, its config.json), not for a checkpoint.
    fill(small_disk, 4 * pages(1))
    assert len(checkpoint) > 8 * pages(1)
    result = run("train", "--resume", run_dir, "--steps", "3000", *QUIET)  # the next checkpoint is past step 1,000
    assert one_line_error(result) == (
        f"streamrl: error: could not write {run_dir / 'checkpoint.safetensors'} (No space left on device); the last "
        f"checkpoint, at step {step:,}, is kept: free space and resume with streamrl train --resume {run_dir}")
    assert (run_dir / "checkpoint.safetensors").read_bytes() == checkpoint
    assert not (run_dir / "summary.json").exists() and hidden_files(run_dir) == []
    # What the message says to do works.
    (small_disk / "filler").unlink()
    resumed = run("train", "--resume", run_dir, *QUIET)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 3000


def test_a_full_disk_at_the_learning_curve_leaves_the_run_unfinished(tmp_path, small_disk):
    """The curve is written after the agent, episodes.csv and timing.csv: a run whose curve did not
    fit is not marked finished (no summary.json), so that resuming it writes the rest."""
    # A tiny network: every file but the curve takes a page or two.
    run_dir = finished_run(tmp_path, small_disk, "--steps", "1500", "--checkpoint-every", "1000",
                           "--set", "hidden=(4,)")
    step = checkpoint_step(run_dir)
    others = ("agent.safetensors", "config.json", "episodes.csv", "timing.csv")
    leave = max(pages((run_dir / name).stat().st_size) for name in others) + 2 * pages(1)  # (and the lock file)
    assert (run_dir / "learning_curve.png").stat().st_size > leave + 2 * pages(1)
    fill(small_disk, leave)
    result = run("train", "--resume", run_dir, "--steps", "1700", *QUIET)  # no checkpoint on the way: none fits
    assert one_line_error(result) == (
        f"streamrl: error: could not write {run_dir / 'learning_curve.png'} (No space left on device); the last "
        f"checkpoint, at step {step:,}, is kept: free space and resume with streamrl train --resume {run_dir}")
    assert not (run_dir / "summary.json").exists() and hidden_files(run_dir) == []
    (small_disk / "filler").unlink()
    resumed = run("train", "--resume", run_dir, *QUIET)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 1700
    assert (run_dir / "learning_curve.png").stat().st_size > 0


def test_a_full_disk_while_a_video_is_encoded_is_one_line_and_leaves_no_file(tmp_path, small_disk):
    """ffmpeg stops on the full disk (and says so on stderr); the command ends with one line."""
    from streamrl import StreamAC, make_env

    agent = tmp_path / "pendulum.safetensors"
    StreamAC(make_env("Pendulum-v1", seed=0), seed=0).save(agent)
    fill(small_disk, 16 * pages(1))  # a few seconds of video at most
    result = subprocess.run([STREAMRL, "eval", str(agent), "--episodes", "1", "--max-episode-steps", "3000", "--video",
                             str(small_disk / "v.mp4")], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (f"streamrl: error: could not write {small_disk / 'v.mp4'} (No "
                                                      "space left on device)")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "q"
    result = run("train", "q", "CartPole-v1", "--steps", "600", "--checkpoint-every", "200", "--out", out, *QUIET)
    assert result.returncode == 0, result.stderr
    return out


def test_a_file_into_a_missing_folder_is_named_as_given(finished, tmp_path):
    for command in (["plot", finished, "--out", "nowhere/curves.png"],
                    ["eval", finished, "--episodes", "1", "--video", "nowhere/v.mp4"]):
        result = run(*command, cwd=tmp_path)
        assert one_line_error(result) == (f"streamrl: error: could not write {command[-1]} (the folder nowhere does "
                                          "not exist)")
    assert list(tmp_path.iterdir()) == []
    from streamrl import StreamAgent

    agent = StreamAgent.load(finished / "agent.safetensors")
    with pytest.raises(OSError) as error:
        agent.save(tmp_path / "nowhere" / "agent.safetensors")
    assert str(error.value) == (f"could not write {tmp_path / 'nowhere' / 'agent.safetensors'} (the folder "
                                f"{tmp_path / 'nowhere'} does not exist)")


def edited_copy(finished: Path, tmp_path: Path, **changes) -> Path:
    run_dir = tmp_path / "q"
    shutil.copytree(finished, run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, **changes}))
    return run_dir


def corrupted(run_dir: Path, key: str, value, what: str) -> str:
    return (f"streamrl: error: {run_dir / 'config.json'} is corrupted ({key!r} must be {what}, got {value!r}); put the "
            "value back or train the run again")


@pytest.mark.parametrize("key, value, what", [
    ("steps", "60000", "a positive integer"),
    ("steps", 0, "a positive integer"),
    ("seed", 1.5, "an integer"),
    ("checkpoint_every", "x", "a positive integer"),
    ("env_id", 5, "a string"),
    ("algorithm", None, "a string"),
    ("label", True, "a string"),
    ("agent", [], "a table of agent options"),
])
def test_a_config_of_the_wrong_types_is_refused_on_resume(finished, tmp_path, key, value, what):
    run_dir = edited_copy(finished, tmp_path, **{key: value})
    before = (run_dir / "config.json").read_bytes()
    result = run("train", "--resume", run_dir, "--steps", "1000", *QUIET)
    assert one_line_error(result) == corrupted(run_dir, key, value, what)
    assert (run_dir / "config.json").read_bytes() == before


@pytest.mark.parametrize("command", ["eval", "plot"])
def test_a_config_of_the_wrong_types_is_refused_by_eval_and_plot(finished, tmp_path, command):
    run_dir = edited_copy(finished, tmp_path, steps="60000")
    if command == "eval":
        result = run("eval", run_dir, "--episodes", "1")
    else:
        result = run("plot", run_dir, "--out", tmp_path / "curves.png")
    assert one_line_error(result) == corrupted(run_dir, "steps", "60000", "a positive integer")


KILLED_WRITE = """
import os, signal, sys
from streamrl.core.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"half a checkpoint")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_temporary_files_of_killed_writes_go_at_the_next_start(finished, tmp_path):
    run_dir = tmp_path / "q"
    shutil.copytree(finished, run_dir)
    for name in ("checkpoint.safetensors", "episodes.csv"):
        killed = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(run_dir / name)])
        assert killed.returncode == -signal.SIGKILL
    (run_dir / ".a1b2c3d4.tmp.json").write_text("{")  # as earlier versions named them
    left = hidden_files(run_dir)
    assert len(left) == 3 and all(".tmp." in name for name in left), left
    # not the run's: a sweep's status.json being written, a file of the user's
    others = [".status.json.a1b2c3d4.tmp.json", ".notes.tmp.txt"]
    for name in others:
        (run_dir / name).write_text("")
    result = run("train", "--resume", run_dir, "--steps", "1000", *QUIET)
    assert result.returncode == 0, result.stderr
    assert hidden_files(run_dir) == sorted(others)


def test_resuming_a_run_whose_last_checkpoint_is_at_its_end_writes_its_results(tmp_path):
    """A checkpoint can fall on the run's last step (an episode ending there): if the results then
    failed to be written, the resume the message advises writes them, with nothing left to train."""
    probe = tmp_path / "probe"
    assert run("train", "q", "CartPole-v1", "--steps", "300", "--out", probe, *QUIET).returncode == 0
    last_end = (probe / "episodes.csv").read_text().splitlines()[-1].split(",")[0]
    run_dir = tmp_path / "run"
    result = run("train", "q", "CartPole-v1", "--steps", last_end, "--checkpoint-every", "1", "--out", run_dir, *QUIET)
    assert result.returncode == 0, result.stderr
    assert checkpoint_step(run_dir) == int(last_end)
    episodes = (run_dir / "episodes.csv").read_bytes()
    for name in ("summary.json", "learning_curve.png", "agent.safetensors"):  # as if the disk had been full
        (run_dir / name).unlink()
    resumed = run("train", "--resume", run_dir, *QUIET)
    assert resumed.returncode == 0, resumed.stderr
    assert (run_dir / "episodes.csv").read_bytes() == episodes
    assert all((run_dir / name).is_file() for name in ("summary.json", "learning_curve.png", "agent.safetensors"))
