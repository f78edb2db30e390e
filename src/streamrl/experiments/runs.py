"""One run of a sweep, carried out in ``streamrl train`` child processes (on this machine or on a
Ray node: the same code), and the sweep's view of all its runs from their files:

    RUN/status.json     state (running, done, failed, interrupted), attempts, kills, the child's pid
                        and host, error's last line, wall time
    RUN/progress.json   the child's step count, rewritten every few seconds
    RUN/stdout.txt, stderr.txt   the last attempt's output
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamrl.core.files import write_json
from streamrl.experiments.spec import RunSpec, SweepSpec
from streamrl.running.train import CHECKPOINT

STATUS, PROGRESS, STDOUT, STDERR = "status.json", "progress.json", "stdout.txt", "stderr.txt"
INTERRUPTED_EXIT = 130  # what 'streamrl train' returns after a signal, once it has checkpointed
POLL_SECONDS = 0.5


def train_command(run: RunSpec, spec: SweepSpec, run_dir: Path) -> list[str]:
    """The child's command line: a resume when the folder holds a checkpoint, else a fresh start."""
    tail = ["--quiet", "--progress-file", str(run_dir / PROGRESS)] + ([] if spec.tensorboard else ["--no-tensorboard"])
    if (run_dir / CHECKPOINT).is_file() and (run_dir / "config.json").is_file():
        return [sys.executable, "-m", "streamrl", "train", "--resume", str(run_dir), *tail]
    sets = [arg for key, value in run.overrides.items() for arg in ("--set", f"{key}={value!r}")]
    return [sys.executable, "-m", "streamrl", "train", run.algorithm, run.env_id, "--steps", str(spec.steps),
            "--seed", str(run.seed), "--out", str(run_dir), "--checkpoint-every", str(spec.checkpoint_every),
            "--label", run.label, "--overwrite", *tail, *sets]


def read_status(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / STATUS).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def plan(run_dir: Path, retry_failed: bool) -> str:
    """What a sweep does with a run: 'done' or 'failed' (nothing), 'resume' or 'start'."""
    if (run_dir / "summary.json").is_file():
        return "done"
    if read_status(run_dir).get("state") == "failed" and not retry_failed:
        return "failed"
    return "resume" if (run_dir / CHECKPOINT).is_file() else "start"


def _last_line(path: Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1]
    return ""


def execute_run(run: RunSpec, spec: SweepSpec, run_dir: str, retries: int, session: str, stop_file: str,
                children: dict | None = None) -> dict[str, Any]:
    """Train one run to its end in child processes and return its final status (also written to
    status.json). Runs where the sweep runs (a worker thread) or on a Ray node (a task).

    ``stop_file`` appears when the sweep is stopping (Ctrl-C): the child then gets one SIGINT,
    finishes its episode, checkpoints and exits, and the run is 'interrupted', not retried; a file
    because it reaches Ray nodes through the shared results folder as it reaches local threads.
    ``children`` (pid -> Popen) lets a local sweep signal its live children."""
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    status = read_status(folder)
    attempts, kills, wall = status.get("attempts", 0), status.get("kills", 0), status.get("wall_time_s", 0.0)
    if status.get("state") == "failed":  # asked to retry it (--retry-failed): a fresh allowance of kills
        kills = 0
    child_info: dict[str, Any] = {}  # of the last child: pid, host, command

    def record(state: str, **extra: Any) -> dict[str, Any]:
        result = {"state": state, "attempts": attempts, "kills": kills, "wall_time_s": round(wall, 3),
                  "session": session, **child_info, **extra}
        write_json(folder / STATUS, result)
        return result

    def stopping() -> bool:
        return os.path.exists(stop_file)

    while True:
        if (folder / "summary.json").is_file():  # e.g. a Ray task retried after its child had finished
            return record("done", returncode=0, error=None)
        if stopping():
            return record("interrupted", error="the sweep stopped before this attempt")
        command = train_command(run, spec, folder)
        (folder / PROGRESS).unlink(missing_ok=True)
        attempts += 1
        started = time.monotonic()
        with open(folder / STDOUT, "w") as out, open(folder / STDERR, "w") as err:
            try:  # its own session: a Ctrl-C at the terminal reaches the sweep, which passes it on once
                child = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=_child_setup())
            except OSError as e:
                return record("failed", error=f"could not start {command[0]}: {e}")
            if children is not None:
                children[child.pid] = child
            child_info = {"pid": child.pid, "host": socket.gethostname(), "command": command}
            record("running", error=None)
            try:
                returncode = _wait(child, stopping)
            except KeyboardInterrupt:  # a Ray task cancelled: let the child checkpoint, then report
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGINT)
                child.wait()
                wall += time.monotonic() - started
                record("interrupted", returncode=child.returncode, error="the sweep was cancelled")
                raise
            finally:
                if children is not None:
                    children.pop(child.pid, None)
        wall += time.monotonic() - started
        if returncode == 0 and (folder / "summary.json").is_file():
            return record("done", returncode=0, error=None)
        if returncode == INTERRUPTED_EXIT and stopping():
            return record("interrupted", returncode=returncode, error=_last_line(folder / STDERR))
        if returncode < 0 or returncode == INTERRUPTED_EXIT:  # killed, or stopped by someone else: retry
            kills += 1
            cause = (f"killed by {signal.Signals(-returncode).name}" if returncode < 0
                     else "stopped by a signal from outside the sweep")
            if kills > retries:
                return record("failed", returncode=returncode, error=f"{cause}; gave up after {kills} kills "
                              f"(--retries {retries})")
            continue  # the next attempt resumes from the checkpoint (or sees the stop file)
        return record("failed", returncode=returncode,
                      error=_last_line(folder / STDERR) or f"exited with status {returncode} and no message")


def _child_setup() -> Callable[[], None]:
    """What the child does between fork and exec. It takes signals as a process started from a
    shell does: a Ray worker's thread may block or ignore SIGINT, and the child would inherit that
    and never hear the sweep's stop. On Linux it also gets SIGKILL when the thread that started it
    dies, so a killed sweep or Ray worker leaves no child behind that a rerun or a Ray retry would
    run beside (the run resumes from its checkpoint). The libc function is looked up before the fork."""
    prctl = None
    if sys.platform.startswith("linux"):
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if prctl is not None:
            prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG

    return setup


def _wait(child: subprocess.Popen, stopping: Callable[[], bool]) -> int:
    """The child's exit status; one SIGINT to it once the sweep is stopping. Short waits, so the
    stop file and a KeyboardInterrupt are seen promptly."""
    asked = False
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return child.wait(timeout=POLL_SECONDS)
        if not asked and stopping():
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGINT)
            asked = True


class Watch:
    """Whole-sweep progress: runs done / running / failed / pending and aggregate steps/s, read
    from the runs' status.json and progress.json (the same files whether the runs are local or on
    Ray nodes). ``show`` draws a rich progress bar."""

    RATE_WINDOW = 10.0

    def __init__(self, root: Path, runs: list[RunSpec], session: str, steps: int, show: bool) -> None:
        self.root, self.runs, self.session, self.steps = root, runs, session, steps
        self.last_step: dict[str, int] = {}
        self.total_steps = 0
        self.history: deque[tuple[float, int]] = deque()
        self.progress = None
        if show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            from streamrl.core.console import make_console

            self.progress = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), refresh_per_second=2,
                                     console=make_console())  # (whole lines in a file too)
            self.task = self.progress.add_task("sweep", total=len(runs), counts="")
            self.progress.start()

    def poll(self) -> dict[str, int]:
        counts = {"done": 0, "running": 0, "failed": 0, "interrupted": 0, "pending": 0}
        for run in self.runs:
            folder = self.root / run.name
            status = read_status(folder)
            state = status.get("state") if status.get("session") == self.session else None
            counts[state if state in counts else "pending"] += 1
            step = None
            if state == "done":
                step = self.steps
            elif state == "running":
                with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                    step = json.loads((folder / PROGRESS).read_text())["step"]
            if step is not None:
                if run.name in self.last_step:
                    self.total_steps += max(0, step - self.last_step[run.name])
                self.last_step[run.name] = step
        now = time.monotonic()
        self.history.append((now, self.total_steps))
        while now - self.history[0][0] > self.RATE_WINDOW:
            self.history.popleft()
        if self.progress is not None:
            self.progress.update(self.task, completed=counts["done"] + counts["failed"],
                                 counts=f"done {counts['done']} running {counts['running']} failed {counts['failed']} "
                                        f"pending {counts['pending']}  {self.rate():,.0f} steps/s")
        return counts

    def rate(self) -> float:
        (t0, s0), (t1, s1) = self.history[0], self.history[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
