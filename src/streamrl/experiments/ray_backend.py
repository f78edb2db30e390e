"""Sweeps on a Ray cluster: each run is a Ray task that runs the same ``streamrl train`` child as
a local worker would, on whichever node Ray picks, and writes the same files. So the results folder
must be on a filesystem that every node sees at the same path (NFS and the like), and every node
needs streamrl installed in the Python that runs its Ray workers.

A task asks for one CPU, so a cluster runs as many runs at once as it has CPUs. If a Ray worker
dies, Ray runs the task again (``max_retries``), and the task resumes the run from its checkpoint.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from pathlib import Path

from streamrl.core.extras import require
from streamrl.experiments.runs import POLL_SECONDS, Watch, execute_run, raise_keyboard_interrupt
from streamrl.experiments.spec import RunSpec, SweepSpec


def run_on_ray(address: str, todo: list[RunSpec], spec: SweepSpec, root: Path, retries: int, session: str,
               stop_file: Path, watch: Watch, on_event: Callable[[str], None]) -> bool:
    """Run ``todo`` as Ray tasks on the cluster at ``address`` ('auto': the one this machine
    belongs to). Ctrl-C (or SIGTERM) makes the stop file, which the tasks see in the shared results
    folder: each running child gets one SIGINT and checkpoints, and tasks not yet started start
    nothing. Returns whether the sweep was interrupted."""
    ray = require("ray", "ray", "streamrl sweep --ray")
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
    except ConnectionError as e:
        raise ValueError(f"no Ray cluster at {address!r} ({str(e).splitlines()[0]}); start one with "
                         "'ray start --head' or give its address") from None
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)  # as Ctrl-C (Ray set its own)
    interrupted = False
    try:
        task = ray.remote(num_cpus=1, max_retries=retries)(execute_run)
        # Absolute paths: a Ray worker's working folder need not be the sweep's.
        pending = {task.remote(run, spec, str(root.absolute() / run.name), retries, session,
                               str(stop_file.absolute())): run for run in todo}
        while pending:
            try:
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=POLL_SECONDS)
                for ref in ready:
                    run = pending.pop(ref)
                    try:
                        status = ray.get(ref)
                    except ray.exceptions.RayError as e:  # the task failed more often than Ray retries
                        on_event(f"failed: {run.name}: Ray task failed: {str(e).splitlines()[0]}")
                        continue
                    if status["state"] == "failed":
                        on_event(f"failed: {run.name}: {status['error']}")
                watch.poll()
            except KeyboardInterrupt:
                if interrupted:
                    raise  # a second one: leave at once; the children were asked to stop already
                interrupted = True
                on_event("sweep: stopping: the running runs checkpoint at their episode end")
                stop_file.touch()
        return interrupted
    finally:
        signal.signal(signal.SIGTERM, previous)
        ray.shutdown()
