"""Run a sweep: every run is one ``streamrl train`` child process, on local worker slots or as a
Ray task, in one results folder:

    RESULTS/sweep.yaml                 the sweep file, as given
    RESULTS/sweep_summary.json         counts, wall time, and each run's state and error
    RESULTS/runs/<run>/                an ordinary run folder (config.json, episodes.csv, ...)
    RESULTS/runs/<run>/status.json     state (running, done, failed, interrupted), attempts, kills,
                                       the child's pid and host, error's last line, wall time
    RESULTS/runs/<run>/progress.json   the child's step count, rewritten every few seconds
    RESULTS/runs/<run>/stdout.txt, stderr.txt   the last attempt's output
    RESULTS/.sweep.lock, RESULTS/.stop  one sweep at a time; the stop request (Ctrl-C) to the runs

A rerun of the same sweep skips finished runs (and failed ones, unless asked to retry them),
resumes interrupted runs from their checkpoints, and restarts runs that had none yet. A child
killed by a signal is retried (resuming from its checkpoint) up to ``retries`` times.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrl.core.files import write_json
from streamrl.experiments.runs import POLL_SECONDS, Watch, execute_run, plan, raise_keyboard_interrupt, read_status
from streamrl.experiments.spec import RunSpec, SweepSpec, conflicts, expand, parse_spec, read_spec

STOP_FILE = ".stop"  # in RESULTS while a stopping sweep waits for its runs to checkpoint


@dataclass
class SweepResult:
    states: dict[str, str]  # run name -> done | failed | interrupted | pending
    started: int  # runs for which this sweep started a child
    wall_time: float
    summary: dict[str, Any]

    def count(self, state: str) -> int:
        return sum(s == state for s in self.states.values())


@contextlib.contextmanager
def _lock(results: Path) -> Iterator[None]:
    """One sweep at a time in a results folder."""
    import fcntl

    with open(results / ".sweep.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"another 'streamrl sweep' is working in {results}; wait for it to end") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _orphan(run_dir: Path) -> int | None:
    """The pid of a child left running by an earlier sweep that died (same host, still alive and
    training this folder), else None."""
    status = read_status(run_dir)
    pid = status.get("pid")
    if status.get("state") != "running" or status.get("host") != socket.gethostname() or not pid:
        return None
    with contextlib.suppress(OSError):
        if str(run_dir) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            return pid
    return None


def prepare(spec_path: Path, results: Path, known_algorithms=None) -> tuple[SweepSpec, list[RunSpec]]:
    """Read the sweep file and check that ``results`` can take it (a results folder of the same
    sweep, or of one that this one extends with more runs)."""
    import yaml

    spec = read_spec(spec_path, known_algorithms)
    copy = results / "sweep.yaml"
    if copy.is_file():
        try:
            old = parse_spec(yaml.safe_load(copy.read_text()), str(copy))
        except (ValueError, yaml.YAMLError):
            raise ValueError(f"{copy} is damaged; give the sweep another --out folder") from None
        why = conflicts(old, spec)
        if why:
            raise ValueError(f"{results} holds another sweep: {why}; give this one another --out folder")
    return spec, expand(spec)


def run_sweep(spec_path: Path, results: Path, workers: int, retries: int = 2, ray_address: str | None = None,
              retry_failed: bool = False, show: bool = True, known_algorithms=None,
              on_event: Callable[[str], None] = print) -> SweepResult:
    """Run every run of the sweep that is not finished; returns the states of all of them."""
    from streamrl.core.files import atomic_path

    spec, runs = prepare(spec_path, results, known_algorithms)
    if workers <= 0:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if retries < 0:
        raise ValueError(f"--retries must be 0 or more, got {retries}")
    results.mkdir(parents=True, exist_ok=True)
    root = results / "runs"
    with _lock(results):
        for run in runs:
            pid = _orphan(root / run.name)
            if pid is not None:
                raise ValueError(f"run {run.name} is still being trained by process {pid}, left by an earlier sweep "
                                 f"that died; wait for it or stop it (kill {pid}), then rerun")
        with atomic_path(results / "sweep.yaml") as tmp:
            Path(tmp).write_bytes(spec_path.read_bytes())
        todo = [run for run in runs if plan(root / run.name, retry_failed) in ("resume", "start")]
        stop_file = results / STOP_FILE
        stop_file.unlink(missing_ok=True)  # left by a sweep that was stopped
        session = uuid.uuid4().hex
        start = time.monotonic()
        watch = Watch(root, todo, session, spec.steps, show and bool(todo))
        interrupted = False
        try:
            if ray_address is not None:
                from streamrl.experiments.ray_backend import run_on_ray

                interrupted = run_on_ray(ray_address, todo, spec, root, retries, session, stop_file, watch,
                                         on_event)
            else:
                interrupted = _run_local(todo, spec, root, workers, retries, session, stop_file, watch, on_event)
        finally:
            watch.close()
            stop_file.unlink(missing_ok=True)
        wall = time.monotonic() - start
        states, entries = {}, []
        for run in runs:
            status = read_status(root / run.name)
            state = "done" if (root / run.name / "summary.json").is_file() else status.get("state", "pending")
            state = "pending" if state == "running" else state  # only a dead sweep leaves 'running'
            states[run.name] = state
            entries.append({"name": run.name, "label": run.label, "algorithm": run.algorithm, "env_id": run.env_id,
                            "variant": run.variant, "seed": run.seed, "state": state,
                            "attempts": status.get("attempts", 0), "error": status.get("error"),
                            "wall_time_s": status.get("wall_time_s")})
        counts = {s: sum(v == s for v in states.values()) for s in ("done", "failed", "interrupted", "pending")}
        summary = {"runs": len(runs), **counts, "started_this_time": len(todo), "interrupted_by_user": interrupted,
                   "wall_time_s": round(wall, 3), "run_states": entries}
        write_json(results / "sweep_summary.json", summary)
    return SweepResult(states, len(todo), wall, summary)


def _run_local(todo: list[RunSpec], spec: SweepSpec, root: Path, workers: int, retries: int, session: str,
               stop_file: Path, watch: Watch, on_event: Callable[[str], None]) -> bool:
    """``workers`` threads, each starting one child at a time. Ctrl-C (or SIGTERM) makes the stop
    file, and each child gets one SIGINT: it checkpoints at its episode end; a second Ctrl-C
    signals them again, which stops them at once. Returns whether the sweep was interrupted."""
    from concurrent.futures import ThreadPoolExecutor

    children: dict[int, subprocess.Popen] = {}

    def one(run: RunSpec) -> dict[str, Any]:
        status = execute_run(run, spec, str(root / run.name), retries, session, str(stop_file), children)
        if status["state"] == "failed":
            on_event(f"failed: {run.name}: {status['error']}")
        return status

    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = []
    signals = 0
    try:
        futures = [pool.submit(one, run) for run in todo]
        while True:
            try:
                watch.poll()
                if all(f.done() for f in futures):
                    break
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                signals += 1
                if signals == 1:
                    on_event("sweep: stopping: the running runs checkpoint at their episode end (Ctrl-C again "
                             "stops them at once, from their previous checkpoint)")
                    stop_file.touch()
                else:
                    for child in list(children.values()):
                        with contextlib.suppress(ProcessLookupError):
                            child.send_signal(signal.SIGINT)
    finally:
        pool.shutdown(wait=True)
        signal.signal(signal.SIGTERM, previous)
    for future in futures:
        future.result()  # a bug in a worker thread surfaces here
    return signals > 0
