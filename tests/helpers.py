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
# 20 inputs: sparse init zeroes ceil(0.9 * 20) = 18 of each first-layer unit's weights and draws 2, so
# the networks' outputs depend on the state from the first step (with 3 inputs every first-layer
# weight is zero and every state gets the same outputs).
OBS_SPACE = gym.spaces.Box(-5.0, 5.0, (20,), np.float64)


def set_output_bias(learner, values) -> None:
    """Sets the output layer's biases (zero after sparse init), so that a network's outputs are far
    from zero and, with distinct values, distinct across outputs from the first step."""
    if hasattr(learner, "module"):  # the torch backend
        with torch.no_grad():
            list(learner.module.parameters())[-1].copy_(torch.as_tensor(values, dtype=torch.float32))
    else:  # the fused backend: a view of its flat weights
        learner.parameters()[-1][...] = values


def weights(learner) -> list[np.ndarray]:
    """A learner's parameters in the torch module's order (weight, bias per layer), as float64 copies."""
    if hasattr(learner, "module"):
        return [p.detach().numpy().astype(np.float64) for p in learner.module.parameters()]
    return [p.astype(np.float64) for p in learner.parameters()]


def mlp_outputs(learner, x) -> np.ndarray:
    """The paper's MLP worked out by hand in float64 from the learner's weights: every hidden layer is
    Linear, then layer norm over its units (no gain or bias, eps 1e-5), then LeakyReLU(0.01)."""
    layers = list(zip(weights(learner)[0::2], weights(learner)[1::2]))
    h = np.asarray(x, dtype=np.float64).ravel()
    for w, b in layers[:-1]:
        a = w @ h + b
        n = (a - a.mean()) / np.sqrt(a.var() + 1e-5)
        h = np.where(n > 0, n, 0.01 * n)
    w, b = layers[-1]
    return w @ h + b


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


def benchmark_script(name: str):
    """benchmarks/NAME.py loaded as a module (the lockstep harnesses are scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cli_error(result: subprocess.CompletedProcess) -> str:
    """The message of a CLI refusal: exit status 2, one line on stderr, "streamrl: error: " and the
    message (returned without that prefix), no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamrl: error: "), result.stderr
    return lines[0].removeprefix("streamrl: error: ")


def folder_contents(folder) -> dict[str, bytes]:
    """Every file directly in ``folder``, by name, as bytes (to see that nothing changed)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
