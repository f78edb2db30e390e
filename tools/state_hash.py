"""A fingerprint of what the agents compute: every algorithm, on each standard network, with each
step rule, takes the same synthetic stream of transitions; the SHA-256 of its saved tensors
(weights, traces, step-rule state, normalizer statistics) after the stream is printed per case.
Empty arrays and update counters (``*.t``) are left out, so that a layout that drops them hashes
the same numbers the same.

Run it before and after a change that should not change the numbers (a restructure, a faster
kernel) and compare the lines: on one machine the fused backend must give the same hashes to
the bit. (Another CPU may round the fused kernels' vectorized sums differently, so the hashes are
not kept in the repository.)

    python tools/state_hash.py [--backend fused|torch] [--steps N]
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
from safetensors import safe_open

from streamrl import StreamAC, StreamAgent, StreamQ, StreamSARSA, StreamTD

MLP_OBS = gym.spaces.Box(-np.inf, np.inf, (11,), np.float64)
MINATAR_OBS = gym.spaces.Box(0, 1, (10, 10, 4), bool)
ATARI_OBS = gym.spaces.Box(0, 255, (84, 84), np.uint8)
CASES = {  # name: (agent class, domain, observation space, action space)
    "q-mlp": (StreamQ, "mujoco", MLP_OBS, gym.spaces.Discrete(4)),
    "sarsa-mlp": (StreamSARSA, "mujoco", MLP_OBS, gym.spaces.Discrete(4)),
    "ac-softmax-mlp": (StreamAC, "mujoco", MLP_OBS, gym.spaces.Discrete(4)),
    "ac-gaussian-mlp": (StreamAC, "mujoco", MLP_OBS, gym.spaces.Box(-1, 1, (3,), np.float32)),
    "td-mlp": (StreamTD, "mujoco", MLP_OBS, gym.spaces.Discrete(2)),
    "q-classic-mlp": (StreamQ, "classic", gym.spaces.Box(-np.inf, np.inf, (4,), np.float64), gym.spaces.Discrete(2)),
    "q-minatar-cnn": (StreamQ, "minatar", MINATAR_OBS, gym.spaces.Discrete(3)),
    "ac-minatar-cnn": (StreamAC, "minatar", MINATAR_OBS, gym.spaces.Discrete(3)),
    "q-atari-cnn": (StreamQ, "atari", ATARI_OBS, gym.spaces.Discrete(4)),
}


def observation(space: gym.spaces.Box, rng: np.random.Generator) -> np.ndarray:
    if space.dtype == bool:
        return rng.random(space.shape) < 0.1
    if space.dtype == np.uint8:
        return rng.integers(0, 256, space.shape, dtype=np.uint8)
    return rng.normal(size=space.shape) * 3 + 1


def fingerprint(case: str, optimizer: str, backend: str, steps: int) -> str:
    cls, domain, obs_space, act_space = CASES[case]
    # (the option's name before streamrl 0.2 was 'optimizer')
    rule = {"optimizer" if "optimizer" in inspect.signature(StreamAgent).parameters else "step_rule": optimizer}
    agent = cls(observation_space=obs_space, action_space=act_space, domain=domain, seed=0, backend=backend,
                **rule, **({"epsilon_start": 0.2, "epsilon_end": 0.2} if cls in (StreamQ, StreamSARSA) else {}))
    rng = np.random.default_rng(1)
    obs = observation(obs_space, rng)
    for _ in range(steps):
        agent.act(obs)
        obs = observation(obs_space, rng)
        agent.observe(float(rng.normal()), obs, bool(rng.random() < 0.03), bool(rng.random() < 0.01))
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "agent.safetensors"
        agent.save(path)
        with safe_open(str(path), framework="numpy") as f:
            for name in sorted(f.keys()):
                tensor = f.get_tensor(name)
                if tensor.size and not name.endswith(".t"):
                    digest.update(name.encode() + tensor.tobytes())
    return digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["fused", "torch"], default="fused")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    for case in CASES:
        for optimizer in ("obgd", "adaptive"):
            steps = args.steps // 6 if "atari" in case else args.steps
            print(f"{case:<16} {optimizer:<9} {fingerprint(case, optimizer, args.backend, steps)}", flush=True)


if __name__ == "__main__":
    main()
