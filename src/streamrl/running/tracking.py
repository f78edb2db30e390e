"""``streamrl train --track``: a run's TensorBoard scalars, config and summary in Weights & Biases
(the 'wandb' extra), as CleanRL's ``--track`` does. W&B's own settings apply: ``wandb login`` or
WANDB_API_KEY online, ``WANDB_MODE=offline`` to keep everything on this machine (``wandb sync``
uploads it later), WANDB_DIR for where its files go."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from streamrl.core.extras import require
from streamrl.core.tensorboard import scalars_also_to


class _Rows:
    """Scalars of one step gathered into one W&B history row, against ``global_step`` (the
    agent's steps; W&B's own step counts rows, and a resumed run's steps start over)."""

    def __init__(self, run: Any) -> None:
        self.run, self.step, self.row = run, None, {}

    def __call__(self, tag: str, value: float, step: int) -> None:
        if step != self.step:
            self.flush()
            self.step = step
        self.row[tag] = value

    def flush(self) -> None:
        if self.row:
            self.run.log({**self.row, "global_step": self.step})
            self.row = {}


@contextlib.contextmanager
def wandb_run(project: str, entity: str | None, name: str, group: str, config: dict[str, Any]) -> Iterator[Any]:
    """A W&B run for the block; every scalar of the scalar logs made in it goes to the run too.
    A run the block leaves by an exception is marked failed."""
    wandb = require("wandb", "wandb", "--track (Weights & Biases)")
    try:
        run = wandb.init(project=project, entity=entity, name=name, group=group, config=config, job_type="train")
    except Exception as e:  # (not logged in, typically: W&B's message says so over many lines)
        reason = " ".join(str(e).split())
        raise ValueError(f"--track could not start a Weights & Biases run ({type(e).__name__}: {reason}); log in "
                         "with 'wandb login', or set WANDB_MODE=offline to keep the run on this machine") from None
    run.define_metric("global_step")
    run.define_metric("*", step_metric="global_step")
    rows = _Rows(run)
    exit_code = 1
    try:
        with scalars_also_to(rows):
            yield run
        exit_code = 0
    finally:
        rows.flush()
        run.finish(exit_code=exit_code)
