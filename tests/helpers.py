"""Shared test helpers: plain preprocessing, autograd-computed expectations, the real CLI."""

import json
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable

import gymnasium as gym
import numpy as np
import torch

from streamrl.envs import PreprocessingConfig

# Learning-side stages off, so the tests can follow the algorithm's own arithmetic.
PLAIN = PreprocessingConfig(normalize_observation=False, scale_reward=False, time_limit=None)
OBS_SPACE = gym.spaces.Box(-5.0, 5.0, (3,), np.float64)


def output_grads(module: torch.nn.Module, state: np.ndarray, f) -> list[torch.Tensor]:
    """grad_w f(module(state)) by autograd, at the module's current weights."""
    out = module(torch.as_tensor(state, dtype=torch.float32)[None])[0]
    return [g.clone() for g in torch.autograd.grad(f(out), list(module.parameters()))]


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def assert_update(before, after, step: float, trace) -> None:
    for b, a, z in zip(before, after, trace):
        torch.testing.assert_close(a, b + step * z, rtol=1e-4, atol=1e-6)


STREAMRL = shutil.which("streamrl") or "streamrl"


def streamrl(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run the installed ``streamrl`` entry point, as a user does."""
    return subprocess.run([STREAMRL, *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd)


def ctrl_c_as_from_a_terminal() -> None:
    """``preexec_fn`` of a process a test sends SIGINT: one started in the background by a
    non-interactive shell (as 'nohup pytest &' does) ignores SIGINT, and its children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until(condition: Callable[[], bool], process: subprocess.Popen, timeout: float = 300) -> None:
    """Waits until ``condition()`` holds while ``process`` runs; if it ends first or ``timeout``
    seconds pass, kills it and fails with what it printed."""
    deadline = time.time() + timeout
    while not condition():
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise AssertionError(f"waited in vain; the process printed: {process.communicate()}")
        time.sleep(0.05)


def streamrl_after(prelude: str, *args, cwd=None) -> subprocess.CompletedProcess:
    """The real command line in a fresh Python process that first runs ``prelude``: e.g. making an
    installed package unimportable (``sys.modules[name] = None``, as on an install without it), or
    registering an env the way a third-party package does when imported."""
    code = f"{prelude}\nimport sys\nfrom streamrl.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def rewrite_metadata(source, target, **changes) -> None:
    """Copy an agent file with some of its streamrl metadata changed, through safetensors' own API."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(source), framework="numpy") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = json.loads(f.metadata()["streamrl"])
    metadata.update(changes)
    metadata = {k: v for k, v in metadata.items() if v is not None}  # None: drop the entry
    save_file(tensors, str(target), metadata={"streamrl": json.dumps(metadata)})
