"""The agent file: one safetensors file holding everything an agent needs to go on exactly where
it stopped, and nothing that runs code when read.

Tensors: each learner's state under its name (``q.w``, ``q.z``; ``actor.*`` and ``critic.*``;
``v.*``), the preprocessor's statistics under ``preprocessor.``. Metadata: one JSON entry
``streamrl`` with the format and its version, the algorithm, the env id, the agent's config and
counters, both random generators' states, the spaces, and any extra entries of the caller (a
training run's own state, for one).
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from streamrl.core.files import atomic_path
from streamrl.envs.preprocessing import PreprocessingConfig

if TYPE_CHECKING:
    from streamrl.algorithms.base import StreamAgent

FORMAT = "streamrl-agent"
# The layout of an agent file. Raise it when a file written now could not be read by an earlier
# streamrl (renamed tensors, new required metadata); an older streamrl then refuses the file by name.
# 2: each step rule keeps its own state (ObGD's learners no longer save 'v' and 't'; the torch
# backend's trace is one flat 'z', as the fused backend's), and the config names 'step_rule'.
FORMAT_VERSION = 2


def space_to_json(space: gym.Space) -> dict:
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start), "dtype": str(space.dtype)}
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "low": space.low.tolist(), "high": space.high.tolist(),
                "dtype": str(space.dtype)}
    raise ValueError(f"{type(space).__name__} spaces are not supported; streamrl handles Box and Discrete spaces")


def space_from_json(d: dict) -> gym.Space:
    if d["type"] == "Discrete":
        # (older files have neither start nor dtype: Gymnasium's defaults)
        return gym.spaces.Discrete(d["n"], start=d.get("start", 0), dtype=np.dtype(d.get("dtype", "int64")))
    dtype = np.dtype(d["dtype"])
    return gym.spaces.Box(np.array(d["low"], dtype), np.array(d["high"], dtype), tuple(d["shape"]), dtype=dtype)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of an agent file, checked to be one that this streamrl reads (reading it runs
    no code from the file)."""
    from safetensors import safe_open

    from streamrl.core.version import __version__

    try:
        with safe_open(os.fspath(path), framework="numpy") as f:
            raw = (f.metadata() or {}).get("streamrl")
    except Exception as e:  # safetensors names the damage in its own words
        raise ValueError(f"{path} is not a readable agent file ({e}); it may be truncated or corrupted") from None
    try:
        metadata = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        metadata = {}
    if isinstance(metadata, dict) and metadata.get("format") == "streamrl-agent-1":
        metadata = {**metadata, "format": FORMAT, "format_version": 1}  # written before the version had a field
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not a streamrl agent file (no {FORMAT} metadata)")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} has an unknown agent file format version {version!r}; it was not written by "
                         "streamrl, or it is damaged")
    if version > FORMAT_VERSION:
        written_by = metadata.get("streamrl_version", "a newer streamrl")
        raise ValueError(f"{path} is agent file format {version} (written by streamrl {written_by}), newer than "
                         f"this streamrl {__version__} reads (format {FORMAT_VERSION}); upgrade streamrl "
                         "(pip install -U streamrl)")
    return metadata


def _describe(space: gym.Space) -> str:
    """A space in a few words, on one line (a Box's bounds can be long arrays)."""
    if isinstance(space, gym.spaces.Box):
        return f"Box{space.shape} {space.dtype}"
    return repr(space) if isinstance(space, gym.spaces.Discrete) else type(space).__name__


def check_env_fits(env: gym.Env, what: str, env_id: str | None, observation_space: gym.Space,
                   action_space: gym.Space) -> None:
    """Refuse ``env`` unless it is the environment ``what`` (an agent, or its file) was made for:
    the same Gymnasium id (when both are known) and the same observation and action spaces."""
    given_id = env.spec.id if env.spec is not None else None
    if env_id and given_id and given_id != env_id:
        raise ValueError(f"{what} was trained on {env_id}, not {given_id}; use it with {env_id}")
    for kind, saved, given in (("observation", observation_space, env.observation_space),
                               ("action", action_space, env.action_space)):
        if saved != given:
            same_words = _describe(saved) == _describe(given)
            raise ValueError(f"{what} has the {kind} space {_describe(saved)}, but {given_id or 'the env'} has "
                             f"{_describe(given)}{' with other bounds' if same_words else ''}; use it with the "
                             "environment it was trained on")


def save_agent(agent: StreamAgent, path: str | os.PathLike, extra_metadata: dict[str, str] | None = None) -> None:
    """Write ``agent`` to ``path`` atomically (a temporary file, then a rename)."""
    from safetensors import SafetensorError
    from safetensors.numpy import save_file

    from streamrl.core.version import __version__

    tensors = {f"{name}.{k}": v for name, learner in agent.learners.items() for k, v in learner.state_dict().items()}
    tensors.update({f"preprocessor.{k}": v for k, v in agent.preprocessor.state_dict().items()})
    tensors = {k: np.array(v, order="C") for k, v in tensors.items()}  # (ascontiguousarray makes 0-d 1-d)
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "streamrl_version": __version__,
                "algorithm": agent.algorithm,
                "env_id": agent.env.spec.id if agent.env is not None and agent.env.spec else "",
                "config": json.dumps(agent.config()), "counters": json.dumps(agent.counters()),
                "rng": json.dumps(agent.rng.bit_generator.state),
                "predict_rng": json.dumps(agent.predict_rng.bit_generator.state),
                "observation_space": json.dumps(space_to_json(agent.observation_space)),
                "action_space": json.dumps(space_to_json(agent.action_space)),
                "custom_network": str(agent.custom_network),
                **(extra_metadata or {})}
    with atomic_path(path) as tmp:
        # one metadata entry: safetensors stores several in hash order, and the same state should
        # give the same bytes
        try:
            save_file(tensors, tmp, metadata={"streamrl": json.dumps(metadata, sort_keys=True)})
        except SafetensorError as e:
            # an I/O error ("... No space left on device (os error 28)"): raised as the OSError it
            # is, which atomic_path then names with the path given
            code = re.search(r"os error (\d+)|code: (\d+)", str(e))
            if code is None:
                raise
            number = int(code[1] or code[2])
            raise OSError(number, os.strerror(number)) from None


def load_agent(path: str | os.PathLike, classes: dict[str, type[StreamAgent]], expected: type[StreamAgent],
               env: gym.Env | None = None, network: Any = None, env_started: bool = False) -> StreamAgent:
    """The agent saved in ``path``, of one of ``classes`` (by algorithm name) and a subclass of
    ``expected``, rebuilt from its config and then given its saved state."""
    from safetensors import safe_open

    if env_started and env is None:
        raise ValueError("env_started=True says the env continues the saved run: pass that env too")
    metadata = read_metadata(path)
    with safe_open(os.fspath(path), framework="numpy") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    algorithm = metadata["algorithm"]
    if algorithm not in classes:
        raise ValueError(f"{path} holds an agent of an algorithm this streamrl does not know ({algorithm!r}); "
                         "upgrade streamrl")
    agent_cls = classes[algorithm]
    if not issubclass(agent_cls, expected):
        raise ValueError(f"{path} holds a {agent_cls.__name__} agent, not a {expected.__name__}; load it with "
                         f"{agent_cls.__name__}.load or StreamAgent.load")
    if metadata["custom_network"] == "True" and network is None:
        raise ValueError(f"{path} was trained with a custom network: pass network= to load()")
    config = json.loads(metadata["config"])
    if metadata["format_version"] == 1:
        config, tensors = _from_format_1(config, tensors)
    config["preprocessing"] = PreprocessingConfig(**config["preprocessing"])
    config["hidden"] = tuple(config["hidden"])
    spaces = {"observation_space": space_from_json(json.loads(metadata["observation_space"])),
              "action_space": space_from_json(json.loads(metadata["action_space"]))}
    if env is not None:
        check_env_fits(env, str(path), metadata["env_id"], **spaces)
        spaces = {}
    agent = agent_cls(env, network=network, **spaces, **config)
    for name, learner in agent.learners.items():
        learner.load_state_dict({k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")})
    agent.preprocessor.load_state_dict({k[len("preprocessor."):]: v for k, v in tensors.items()
                                        if k.startswith("preprocessor.")})
    agent.rng.bit_generator.state = json.loads(metadata["rng"])
    agent.predict_rng.bit_generator.state = json.loads(metadata["predict_rng"])
    agent.restore_counters(json.loads(metadata["counters"]))
    agent.env_started = env_started
    return agent  # it starts a new episode at its first act(), clearing any saved traces


def _from_format_1(config: dict[str, Any], tensors: dict[str, np.ndarray]
                   ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A format-1 file's config and tensors in format 2's terms: 'optimizer' is 'step_rule'; the
    torch backend kept one trace (negated: the authors' sign) and one second moment per parameter,
    and a counter, now flat 'z', 'v' and 't'; ObGD's learners kept an empty 'v' and a 't' of 0."""
    config = dict(config)
    config["step_rule"] = config.pop("optimizer", "obgd")
    converted = dict(tensors)
    for prefix in {k.split(".", 1)[0] for k in tensors} - {"preprocessor"}:
        mine = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
        if "optim.counter" in mine or any(k.startswith("optim.") for k in mine):
            indices = sorted({int(k.split(".")[1]) for k in mine if k.startswith("optim.") and k != "optim.counter"})
            for key, sign in (("eligibility_trace", -1.0), ("v", 1.0)):
                parts = [mine[f"optim.{i}.{key}"].ravel() * np.float32(sign) for i in indices
                         if f"optim.{i}.{key}" in mine]
                if parts:
                    converted[f"{prefix}.{'z' if key == 'eligibility_trace' else 'v'}"] = np.concatenate(parts)
            converted[f"{prefix}.t"] = np.asarray(mine.get("optim.counter", 0))
        if config["step_rule"] == "obgd":  # (the fused backend saved these for ObGD too, empty and 0)
            converted.pop(f"{prefix}.v", None)
            converted.pop(f"{prefix}.t", None)
    return config, converted
