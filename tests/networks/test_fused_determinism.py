"""The fused kernels compute the same numbers whether Numba has just compiled them or loaded them
from its on-disk cache: the first run on a machine must agree with every later run."""

import os
import subprocess
import sys

import pytest

PROGRAM = """
import hashlib
import numpy as np
from streamrl.learners import make_learner
from streamrl.networks import NetworkSpec

digest = hashlib.sha256()
for spec, steps in [(NetworkSpec("mlp", (5,), 2, (32, 32)), 200), (NetworkSpec("minatar_cnn", (4, 10, 10), 3), 200),
                    (NetworkSpec("atari_cnn", (4, 84, 84), 4), 50)]:
    for optimizer in ("obgd", "adaptive"):
        learner = make_learner(spec, optimizer, backend="fused", rng=np.random.default_rng(0))
        rng = np.random.default_rng(1)
        for _ in range(steps):
            digest.update(learner.forward(rng.normal(size=spec.input_shape)).tobytes())
            digest.update(learner.evaluate(rng.normal(size=spec.input_shape)).tobytes())
            learner.update(rng.normal(size=spec.n_outputs), float(rng.normal() * 3), bool(rng.random() < 0.1))
        digest.update(b"".join(a.tobytes() for a in (*learner.parameters(), *learner.traces())))
print(digest.hexdigest())
"""


@pytest.mark.slow
def test_freshly_compiled_and_cached_kernels_agree(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    fresh = run()  # compiles every kernel and writes the cache
    assert any((tmp_path / "numba-cache").rglob("*.nbc")), "the first run did not fill the cache"
    assert run() == fresh  # loads the kernels from the cache
