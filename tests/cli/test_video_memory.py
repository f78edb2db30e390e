"""'streamrl eval --video' streams its frames to the encoder: the memory of a real eval process
does not grow with the video's length, and a video cut short leaves nothing under its name."""

import os
import signal
import subprocess

import pytest

from tests.helpers import STREAMRL, ctrl_c_as_from_a_terminal, wait_until

FRAMES = 10_000
MB = 1024 * 1024


@pytest.fixture(scope="module")
def pendulum_agent(tmp_path_factory):
    """An untrained agent on Pendulum (whose episodes end only at their time limit), so that one
    episode of --max-episode-steps steps gives exactly that many frames and one more (the reset's)."""
    from streamrl import StreamAC, make_env

    path = tmp_path_factory.mktemp("agent") / "pendulum.safetensors"
    StreamAC(make_env("Pendulum-v1", seed=0), seed=0).save(path)
    return path


def peak_rss(*args, cwd) -> tuple[int, str]:
    """The peak resident memory, in bytes, of a 'streamrl' process (and of the encoder it runs), and
    what it printed."""
    process = subprocess.Popen([STREAMRL, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=cwd, env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    _, status, usage = os.wait4(process.pid, 0)  # this process's own peak, not all the tests' children's
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = process.stdout.read(), process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == 0, err
    return usage.ru_maxrss * 1024, out  # (Linux counts kilobytes)


def test_a_long_video_takes_no_more_memory_than_the_same_eval_without_one(pendulum_agent, tmp_path):
    eval_args = ["eval", pendulum_agent, "--episodes", "1", "--max-episode-steps", FRAMES]
    peak_rss(*eval_args[:-1], 10, cwd=tmp_path)  # the kernels compiled (a compile's memory counted for neither)
    without, _ = peak_rss(*eval_args, cwd=tmp_path)
    with_video, out = peak_rss(*eval_args, "--video", "long.mp4", cwd=tmp_path)
    assert f"video: long.mp4 ({FRAMES + 1} frames)" in out
    # A frame is 500 x 500 x 3 bytes: kept in memory, the frames would take 7.5 GB.
    assert with_video - without < 100 * MB, (with_video // MB, without // MB)


def test_a_video_stopped_midway_leaves_no_file(pendulum_agent, tmp_path):
    """Ctrl-C while frames are being encoded: exit 130, no video and no temporary file."""
    process = subprocess.Popen([STREAMRL, "eval", str(pendulum_agent), "--episodes", "1", "--max-episode-steps",
                                "1000000", "--video", "cut.mp4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path, env={**os.environ, "SDL_VIDEODRIVER": "dummy"},
                               preexec_fn=ctrl_c_as_from_a_terminal)
    # The encoder writes into the temporary file as the frames come: once it has grown twice, the
    # episode runs (past the compiling, which a Ctrl-C does not stop).
    sizes = set()

    def encoding() -> bool:
        sizes.update(p.stat().st_size for p in tmp_path.iterdir() if p.name.startswith(".cut.mp4."))
        return len(sizes - {0}) >= 2

    wait_until(encoding, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130 and err.strip().splitlines()[-1] == "streamrl: interrupted", err
    assert list(tmp_path.iterdir()) == []
