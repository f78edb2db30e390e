"""Sweeps on a Ray cluster: each run is a Ray task that runs the same ``streamrl train`` child as
a local worker would, on whichever node Ray picks, and writes the same files. So the results folder
must be on a filesystem that every node sees at the same path (NFS and the like), and every node
needs streamrl installed in the Python that runs its Ray workers.

A task asks for one CPU, so a cluster runs as many runs at once as it has CPUs. If a Ray worker
dies, Ray runs the task again (``max_retries``), and the task resumes the run from its checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from streamrl.envs.make import require
from streamrl.experiments.spec import RunSpec, SweepSpec
from streamrl.experiments.sweep import POLL_SECONDS, Watch, execute_run


def run_on_ray(address: str, todo: list[RunSpec], spec: SweepSpec, root: Path, retries: int, session: str,
               watch: Watch, on_event: Callable[[str], None]) -> bool:
    """Run ``todo`` as Ray tasks on the cluster at ``address`` ('auto': the one this machine
    belongs to). Ctrl-C cancels the tasks; each interrupts its child, which checkpoints first.
    Returns whether the sweep was interrupted."""
    ray = require("ray", "ray", "streamrl sweep --ray")
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
    except ConnectionError as e:
        raise ValueError(f"no Ray cluster at {address!r} ({str(e).splitlines()[0]}); start one with "
                         "'ray start --head' or give its address") from None
    try:
        task = ray.remote(num_cpus=1, max_retries=retries)(execute_run)
        pending = {task.remote(run, spec, str(root / run.name), retries, session): run for run in todo}
        try:
            while pending:
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
            on_event("sweep: stopping: cancelling the Ray tasks; their runs checkpoint at their episode end")
            for ref in pending:
                ray.cancel(ref)
            for ref in pending:
                try:
                    ray.get(ref)
                except (ray.exceptions.RayError, KeyboardInterrupt):
                    pass
            return True
        return False
    finally:
        ray.shutdown()
