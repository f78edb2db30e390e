"""The random state of an environment, found wherever it keeps it, as JSON-able data.

Gymnasium envs keep a ``np.random.Generator`` in ``_np_random``; some keep more (MinAtar's game
has a ``RandomState``, DM Control's task has one). Saving them all at an episode end and restoring
them before the next reset makes a resumed run meet the same episodes as the uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

_SCALARS = (int, float, str, bytes, bool, np.ndarray, type(None))


def _find(obj: Any, path: tuple[str, ...], depth: int, seen: set[int], out: dict[tuple[str, ...], Any]) -> None:
    if id(obj) in seen or depth > 4:
        return
    seen.add(id(obj))
    if isinstance(obj, (np.random.Generator, np.random.RandomState)):
        out[path] = obj
        return
    for key, value in list(getattr(obj, "__dict__", {}).items()):
        if not isinstance(value, _SCALARS):
            _find(value, (*path, key), depth + 1, seen, out)


def random_generators(env: gym.Env) -> dict[str, np.random.Generator | np.random.RandomState]:
    found: dict[tuple[str, ...], Any] = {}
    _find(env.unwrapped, (), 0, set(), found)
    return {".".join(path): rng for path, rng in found.items()}


def get_random_state(env: gym.Env) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for path, rng in random_generators(env).items():
        if isinstance(rng, np.random.Generator):
            state[path] = {"generator": rng.bit_generator.state}
        else:
            name, keys, pos, has_gauss, gauss = rng.get_state()
            state[path] = {"random_state": [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)]}
    return state


def set_random_state(env: gym.Env, state: dict[str, Any]) -> None:
    generators = random_generators(env)
    missing = sorted(set(state) - set(generators))
    if missing:
        raise ValueError(f"the environment has no random generator at {missing[0]}: is it the one the run used?")
    for path, saved in state.items():
        rng = generators[path]
        if "generator" in saved:
            rng.bit_generator.state = saved["generator"]
        else:
            name, keys, pos, has_gauss, gauss = saved["random_state"]
            rng.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
