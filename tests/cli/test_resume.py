"""Interrupt a real training process with SIGINT / SIGTERM, resume it, and get exactly the run that
was never interrupted: the same episode log and the same final agent, byte for byte."""

import json
import os
import signal
import subprocess

import pytest

from tests.helpers import STREAMRL, ctrl_c_as_from_a_terminal, wait_until

ARGS = ["train", "q", "CartPole-v1", "--steps", "150000", "--seed", "1", "--checkpoint-every", "2000", "--quiet"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    result = subprocess.run([STREAMRL, *ARGS, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_then_resume_equals_the_uninterrupted_run(tmp_path, uninterrupted, sig):
    out = tmp_path / "run"
    process = subprocess.Popen([STREAMRL, *ARGS, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=ctrl_c_as_from_a_terminal)
    wait_until(lambda: (out / "checkpoint.safetensors").exists(), process)  # interrupt once training is under way
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert f"resume with: streamrl train --resume {out}" in stderr
    assert not (out / "summary.json").exists() and not (out / "episodes.csv").exists()  # no result yet
    checkpoint = (out / "checkpoint.safetensors").read_bytes()
    again = subprocess.run([STREAMRL, *ARGS, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and f"already holds an unfinished run; resume it with: streamrl train --resume {out}" \
        in again.stderr, again.stderr  # the same command again does not throw the checkpoint away
    assert (out / "checkpoint.safetensors").read_bytes() == checkpoint

    resumed = subprocess.run([STREAMRL, "train", "--resume", str(out), "--quiet"], capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "episodes.csv").read_bytes() == (uninterrupted / "episodes.csv").read_bytes()
    assert (out / "agent.safetensors").read_bytes() == (uninterrupted / "agent.safetensors").read_bytes()
    assert json.loads((out / "summary.json").read_text())["steps"] == 150000


def test_resume_needs_a_run_folder(tmp_path):
    result = subprocess.run([STREAMRL, "train", "--resume", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "is not a run folder" in result.stderr


def test_resuming_a_finished_run_is_refused(uninterrupted):
    result = subprocess.run([STREAMRL, "train", "--resume", str(uninterrupted)], capture_output=True, text=True)
    assert result.returncode == 2 and "is finished (150,000 steps)" in result.stderr


def test_a_run_that_finished_before_its_first_checkpoint_says_so(tmp_path):
    out = tmp_path / "short"
    first = subprocess.run([STREAMRL, "train", "q", "CartPole-v1", "--steps", "300", "--out", str(out), "--quiet",
                            "--no-tensorboard"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    result = subprocess.run([STREAMRL, "train", "--resume", str(out), "--steps", "600"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert ("has no checkpoint to continue from: the run finished before its first one (taken at the first episode "
            "end after every --checkpoint-every steps); start it again with --overwrite") in result.stderr


def test_ctrl_c_while_a_first_run_compiles_leaves_no_run_folder(tmp_path):
    """On a machine's first run the kernels compile for ~30 s before training starts: a Ctrl-C then
    stops the command without a run folder that holds a config.json and nothing else. The process
    is stopped (SIGSTOP) as soon as a first kernel is in the empty cache, so the check and the
    signal both land in the warm-up however fast the machine compiles."""
    cache, out = tmp_path / "numba-cache", tmp_path / "run"
    process = subprocess.Popen([STREAMRL, "train", "q", "CartPole-v1", "--steps", "2000", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "NUMBA_CACHE_DIR": str(cache)}, preexec_fn=ctrl_c_as_from_a_terminal)
    try:
        wait_until(lambda: any(cache.rglob("*.nbi")), process)  # a first kernel is compiled: the warm-up is under way
        process.send_signal(signal.SIGSTOP)
        assert not (out / "config.json").exists(), "the run's config was written before the kernels were compiled"
        process.send_signal(signal.SIGINT)  # pending until the process runs again
        process.send_signal(signal.SIGCONT)
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 130 and stderr.strip() == "streamrl: interrupted", stderr
    assert not out.exists(), sorted(p.name for p in out.iterdir())
