"""The agent file: one safetensors file holding everything an agent needs to go on exactly where
it stopped, and nothing that runs code when read.

Tensors: each learner's state under its name (``q.w``, ``q.z``; ``actor.*`` and ``critic.*``;
``v.*``), the preprocessor's statistics under ``preprocessor.``. Metadata: one JSON entry
``streamrl`` with the format and its version, the algorithm, the env id, the agent's config and
counters, both random generators' states, the spaces, and any extra entries of the caller (a
training run's own state, for one), and a SHA-256 of the tensors.

Loading trusts nothing in the file: the metadata is checked against the schema below (each entry
present and of its type; the config the agent's options only, each of its kind; the spaces, random
states and counters well formed), the tensors against the checksum and against the agent the config
builds (the same names, shapes and kinds), all before any of it is applied. What does not fit is
one line naming the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, NoReturn

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

# The metadata entries of every agent file (the caller's extras come beside them, as strings), and
# those among them that hold a JSON table. A file may also carry CHECKSUM (files written before
# it was added have none, and load as before; an older streamrl ignores it).
ENTRIES = ("format", "format_version", "streamrl_version", "algorithm", "env_id", "config", "counters", "rng",
           "predict_rng", "observation_space", "action_space", "custom_network")
TABLES = ("config", "counters", "rng", "predict_rng", "observation_space", "action_space")
CHECKSUM = "tensors_sha256"
# What the caller of a refusal can do about a file that does not fit the schema.
EDITED = "the file is damaged or was edited: use an intact copy of it"
# Options every saved config names (format 1's 'optimizer' is 'step_rule' by then); others that a
# file of an earlier streamrl lacks take their defaults, as in that streamrl.
CONFIG_REQUIRED = ("gamma", "lamda", "step_rule", "hidden", "domain", "seed", "backend", "preprocessing")


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
    except (ValueError, RecursionError):  # (not JSON, or too deep or too long a number to read)
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
        written_by = str(metadata.get("streamrl_version", "a newer streamrl"))[:40]  # (a damaged entry can be long)
        raise ValueError(f"{path} is agent file format {version} (written by streamrl {written_by}), newer than "
                         f"this streamrl {__version__} reads (format {FORMAT_VERSION}); upgrade streamrl "
                         "(pip install -U streamrl)")
    _check_entries(path, metadata)
    return metadata


def _check_entries(path: str | os.PathLike, metadata: dict[str, Any]) -> None:
    """Every entry of the schema present; each a string (the version an integer), the tables JSON
    tables, the flag and the checksum of their forms."""
    missing = [name for name in ENTRIES if name not in metadata]
    if missing:
        raise ValueError(f"{path}: its metadata has no {missing[0]!r}; {EDITED}")
    for name, value in metadata.items():
        if name != "format_version" and not isinstance(value, str):
            raise ValueError(f"{path}: its metadata's {name!r} is {_short(value)}, not a string; {EDITED}")
    for name in TABLES:
        try:
            table = json.loads(metadata[name])
        except (ValueError, RecursionError) as e:  # (JSONDecodeError is a ValueError; so is a 5,000-digit number)
            raise ValueError(f"{path}: its metadata's {name!r} is not JSON we read ({_short(str(e))}); {EDITED}") \
                from None
        if not isinstance(table, dict):
            raise ValueError(f"{path}: its metadata's {name!r} is {_short(table)}, not a table; {EDITED}")
    if metadata["custom_network"] not in ("True", "False"):
        raise ValueError(f"{path}: its metadata's 'custom_network' is {_short(metadata['custom_network'])}, not "
                         f"'True' or 'False'; {EDITED}")
    if CHECKSUM in metadata and not re.fullmatch(r"[0-9a-f]{64}", metadata[CHECKSUM]):
        raise ValueError(f"{path}: its metadata's {CHECKSUM!r} is not a SHA-256 in hex; {EDITED}")


def _short(value: Any) -> str:
    """A value of a file in a message: its repr, cut short (a damaged entry can be long)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def tensors_checksum(tensors: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the tensors in name order: each one's name, dtype, shape and bytes (little-endian,
    C order), so that any changed value, name, type or shape changes it."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        digest.update(json.dumps([name, array.dtype.name, list(array.shape), array.nbytes]).encode())
        # (the buffer itself, no copy of the weights; ascontiguousarray makes 0-d 1-d, same bytes)
        digest.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).data)
    return digest.hexdigest()


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
    """Write ``agent`` to ``path`` atomically (a temporary file, then a rename). ``extra_metadata``
    (strings, under names of their own) travels in the same metadata entry."""
    from safetensors import SafetensorError
    from safetensors.numpy import save_file

    from streamrl.core.version import __version__

    extra = dict(extra_metadata or {})
    for name, value in extra.items():  # (load refuses a file whose entries are not the schema's)
        if name in (*ENTRIES, CHECKSUM):
            raise ValueError(f"extra_metadata cannot set {name!r}: the agent file's own entry has that name")
        if not isinstance(value, str):
            raise ValueError(f"extra_metadata values are strings (JSON, say); {name!r} is a {type(value).__name__}")
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
                CHECKSUM: tensors_checksum(tensors),  # (a few ms for MinAtar's networks; a checkpoint is rare)
                **extra}
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
    ``expected``, rebuilt from its config and then given its saved state. The whole file is
    checked (see the module's docstring) before any of it is applied."""
    from safetensors import safe_open

    if env_started and env is None:
        raise ValueError("env_started=True says the env continues the saved run: pass that env too")
    metadata = read_metadata(path)
    with safe_open(os.fspath(path), framework="numpy") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if CHECKSUM in metadata and tensors_checksum(tensors) != metadata[CHECKSUM]:
        raise ValueError(f"{path} is damaged: its tensors do not match the checksum saved with them; use an intact "
                         "copy of it (or, for a checkpoint, train the run again)")
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
        config, tensors = _from_format_1(path, config, tensors)
    config = _checked_config(path, agent_cls, config)
    spaces = {kind: _checked_space(path, kind, json.loads(metadata[kind]))
              for kind in ("observation_space", "action_space")}
    rng_states = {name: _checked_rng_state(path, name, json.loads(metadata[name])) for name in ("rng", "predict_rng")}
    if env is not None:
        check_env_fits(env, str(path), metadata["env_id"], **spaces)
        spaces = {}
    hidden, n_saved = config.get("hidden"), sum(int(t.size) for t in tensors.values())
    if isinstance(hidden, (list, tuple)) and sum(h for h in hidden if isinstance(h, int)) > n_saved:  # (before allocating)
        _refuse(path, f"its hidden widths {_short(list(hidden))} do not fit the {n_saved:,} numbers it holds")
    try:
        agent = agent_cls(env, network=network, **spaces, **config)
    except (ValueError, TypeError, OverflowError, MemoryError) as e:  # values of the right types that cannot be
        raise ValueError(f"{path}: its agent cannot be rebuilt from the saved config: {str(e)[:200]}") from None
    _check_tensors(path, agent, tensors)
    try:  # (what the checks above let through, the learners and statistics refuse in their words)
        for name, learner in agent.learners.items():
            learner.load_state_dict({k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")})
        agent.preprocessor.load_state_dict({k[len("preprocessor."):]: v for k, v in tensors.items()
                                            if k.startswith("preprocessor.")})
        agent.restore_counters(json.loads(metadata["counters"]))
    except (ValueError, TypeError, KeyError, RuntimeError) as e:
        raise ValueError(f"{path}: {e}") from None
    agent.rng.bit_generator.state = rng_states["rng"]
    agent.predict_rng.bit_generator.state = rng_states["predict_rng"]
    agent.env_started = env_started
    return agent  # it starts a new episode at its first act(), clearing any saved traces


def _refuse(path: str | os.PathLike, what: str) -> NoReturn:
    raise ValueError(f"{path}: {what}; {EDITED}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_hidden(value: Any) -> bool:  # (empty for the convolutional networks)
    return isinstance(value, list) and all(_is_int(v) and v > 0 for v in value)


# The kinds of the options whose default (None) does not say it; 'policy' (Stream TD's behaviour
# callable) is never saved.
NONE_DEFAULT_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "seed": ("an integer or null", lambda v: v is None or _is_int(v)),
    "domain": ("a string", lambda v: isinstance(v, str)),
    "hidden": ("a list of positive integers", _is_hidden),
    "torch_threads": ("a positive integer or null", lambda v: v is None or _is_int(v) and v > 0),
    "normalize_observation": ("true, false or null", lambda v: v is None or isinstance(v, bool)),
    "scale_reward": ("true, false or null", lambda v: v is None or isinstance(v, bool)),
    "time_info": ("true, false or null", lambda v: v is None or isinstance(v, bool)),
    "reward_trace_reset": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "exploration_fraction": ("a number or null", lambda v: v is None or _is_number(v)),
    "exploration_steps": ("an integer or null", lambda v: v is None or _is_int(v)),
    "policy": ("null (a policy is not saved)", lambda v: v is None),
}


def _option_kind(name: str, default: Any) -> tuple[str, Callable[[Any], bool]]:
    """What a saved option may be: as its default is (a number where it is a float), or as listed."""
    if name in NONE_DEFAULT_KINDS:
        return NONE_DEFAULT_KINDS[name]
    if isinstance(default, bool):
        return "true or false", lambda v: isinstance(v, bool)
    if isinstance(default, int):
        return "an integer", _is_int
    if isinstance(default, float):
        return "a number", _is_number
    if isinstance(default, str):
        return "a string", lambda v: isinstance(v, str)
    return "a number, a string, true, false or null", lambda v: v is None or isinstance(v, (bool, int, float, str))


def _checked_config(path: str | os.PathLike, agent_cls: type[StreamAgent], config: dict[str, Any]) -> dict[str, Any]:
    """The saved config as the constructor's keywords: the options of ``agent_cls`` and its step
    rule only, each of its kind, the preprocessing a PreprocessingConfig."""
    from streamrl.steprules import STEP_RULES, step_rule_class

    missing = [name for name in CONFIG_REQUIRED if name not in config]
    if missing:
        _refuse(path, f"the saved config has no {missing[0]!r}")
    rule = config["step_rule"]
    if not isinstance(rule, str) or rule not in STEP_RULES:
        _refuse(path, f"the saved config's 'step_rule' is {_short(rule)}, not one of {', '.join(STEP_RULES)}")
    defaults = {**agent_cls.option_defaults(), **step_rule_class(rule).defaults(agent_cls.roles)}
    for name, value in config.items():
        if name in defaults and name != "preprocessing":
            kind, fits = _option_kind(name, defaults[name])
            if not fits(value):
                _refuse(path, f"the saved config's {name!r} is {_short(value)}, not {kind}")
    try:  # the names (and kinds) as --set's are checked, with its did-you-mean
        agent_cls.check_options({k: v for k, v in config.items() if k not in ("preprocessing", "seed")},
                                what="option")
    except ValueError as e:
        _refuse(path, f"the saved config holds an {e}")
    return {**config, "preprocessing": _checked_preprocessing(path, config["preprocessing"]),
            "hidden": tuple(config["hidden"])}


_ANNOTATION_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "None": type(None)}
_TYPE_WORDS = {bool: "true or false", int: "a non-negative integer", float: "a number", str: "a string",
               type(None): "null"}


def _checked_preprocessing(path: str | os.PathLike, saved: Any) -> PreprocessingConfig:
    """A PreprocessingConfig from the saved table: its fields only, each of its annotated type (an
    integer not negative), and values the class accepts."""
    if not isinstance(saved, dict):
        _refuse(path, f"the saved config's 'preprocessing' is {_short(saved)}, not a table")
    fields = {f.name: f.type for f in dataclasses.fields(PreprocessingConfig)}
    for name, value in saved.items():
        if name not in fields:
            _refuse(path, f"the saved preprocessing has an unknown entry {name!r} (known: {', '.join(fields)})")
        kinds = tuple(_ANNOTATION_TYPES[t.strip()] for t in str(fields[name]).split("|"))
        if (isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds)
                or (_is_int(value) and value < 0)):
            words = " or ".join(_TYPE_WORDS[kind] for kind in kinds)
            _refuse(path, f"the saved preprocessing's {name!r} is {_short(value)}, not {words}")
    try:
        return PreprocessingConfig(**saved)
    except ValueError as e:
        _refuse(path, f"the saved preprocessing is refused: {e}")


def _checked_space(path: str | os.PathLike, kind: str, saved: dict[str, Any]) -> gym.Space:
    """A Box or Discrete space from its saved table (what space_to_json writes; a Discrete of an
    older file may lack start and dtype)."""
    what = f"the saved {kind.replace('_', ' ')}"
    entries = {"Discrete": ({"type", "n"}, {"start", "dtype"}),  # (required, optional)
               "Box": ({"type", "shape", "low", "high", "dtype"}, set())}
    if not isinstance(saved.get("type"), str) or saved["type"] not in entries:
        _refuse(path, f"{what} is of type {_short(saved.get('type'))}, not Box or Discrete")
    required, optional = entries[saved["type"]]
    wrong = sorted(required - set(saved)) or sorted(set(saved) - required - optional)
    if wrong:
        _refuse(path, f"{what} {'has no' if wrong[0] in required else 'has an unknown entry'} {wrong[0]!r}")
    name = saved.get("dtype", "int64")  # (Gymnasium's default for a Discrete)
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except TypeError:  # (a name numpy does not know)
        dtype = None
    if dtype is None or dtype.kind not in ("iu" if saved["type"] == "Discrete" else "biuf"):  # (MinAtar's: bool)
        _refuse(path, f"{what}'s dtype is {_short(name)}, not a numeric type numpy knows")
    if saved["type"] == "Discrete":
        if not (_is_int(saved["n"]) and saved["n"] > 0 and _is_int(saved.get("start", 0))):
            _refuse(path, f"{what} is Discrete({_short(saved['n'])}, start={_short(saved.get('start', 0))}), not a "
                          "positive count of actions from an integer start")
    else:
        shape = saved["shape"]
        if not (isinstance(shape, list) and all(_is_int(n) and n >= 0 for n in shape)):
            _refuse(path, f"{what}'s shape is {_short(shape)}, not a list of sizes")
        for bound in ("low", "high"):
            try:
                values = np.array(saved[bound])
            except ValueError:  # (ragged lists)
                values = np.array(None)
            if values.dtype.kind not in "biuf" or values.shape != tuple(shape):
                _refuse(path, f"{what}'s {bound} is not {tuple(shape)} numbers")
    try:
        return space_from_json(saved)
    except (ValueError, TypeError, OverflowError, AssertionError) as e:  # (Gymnasium's own checks)
        _refuse(path, f"{what} is refused by Gymnasium: {e}")


def _checked_rng_state(path: str | os.PathLike, name: str, saved: dict[str, Any]) -> dict[str, Any]:
    """A saved random generator's state, checked to be one of the agent's kind (numpy's PCG64, as
    default_rng makes) that numpy accepts."""
    generator = type(np.random.default_rng().bit_generator)()
    template = generator.state

    def same_form(value: Any, like: Any) -> bool:
        if isinstance(like, dict):
            return isinstance(value, dict) and set(value) == set(like) and all(same_form(value[k], like[k])
                                                                               for k in like)
        return (value == like) if isinstance(like, str) else (_is_int(value) and value >= 0)

    if not same_form(saved, template) or saved.get("has_uint32") not in (0, 1):
        _refuse(path, f"the saved random state {name!r} is not a {template['bit_generator']} generator's "
                      f"({_short(saved)})")
    try:
        generator.state = saved
    except (ValueError, TypeError, KeyError, OverflowError) as e:  # numpy's own checks (its ranges)
        _refuse(path, f"the saved random state {name!r} is refused by numpy ({e})")
    return saved


def _check_tensors(path: str | os.PathLike, agent: StreamAgent, tensors: dict[str, np.ndarray]) -> None:
    """The tensors are exactly those of ``agent`` (built from the saved config): the same names,
    shapes and kinds of numbers (float, integer, bool)."""
    def form(value: np.ndarray) -> tuple[tuple[int, ...], str]:
        return tuple(value.shape), {"u": "i"}.get(value.dtype.kind, value.dtype.kind)

    expected = {f"{name}.{k}": form(v) for name, learner in agent.learners.items()
                for k, v in learner.state_dict().items()}
    expected.update({f"preprocessor.{k}": form(v) for k, v in agent.preprocessor.state_dict().items()})
    optional = {}
    if agent.preprocessing.frame_stack:  # saved once the first frame is in
        optional["preprocessor.frames"] = (tuple(agent.preprocessor.output_shape), "f")
    cls = type(agent).__name__
    missing = sorted(set(expected) - set(tensors))
    if missing:
        _refuse(path, f"it has no tensor {missing[0]!r}, which a {cls} with its config has")
    unknown = sorted(set(tensors) - set(expected) - set(optional))
    if unknown:
        _refuse(path, f"it holds a tensor {unknown[0]!r} that a {cls} with its config does not have")
    words = {"f": "floating-point", "i": "integer", "b": "bool"}
    for name, value in tensors.items():
        (shape, kind), (saved_shape, saved_kind) = {**optional, **expected}[name], form(value)
        if saved_shape != shape:
            _refuse(path, f"its tensor {name!r} has shape {saved_shape}, a {cls} with its config has {shape}")
        if saved_kind != kind:
            _refuse(path, f"its tensor {name!r} is {value.dtype}, not {words.get(kind, kind)}")


def _from_format_1(path: str | os.PathLike, config: dict[str, Any], tensors: dict[str, np.ndarray]
                   ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A format-1 file's config and tensors in format 2's terms: 'optimizer' is 'step_rule'; the
    torch backend kept one trace (negated: the authors' sign) and one second moment per parameter,
    and a counter, now flat 'z', 'v' and 't'; ObGD's learners kept an empty 'v' and a 't' of 0."""
    try:
        return _convert_format_1(config, tensors)
    except (ValueError, TypeError, KeyError) as e:  # (optimizer state under names of no parameter index)
        _refuse(path, f"its format-1 tensors cannot be converted ({e})")


def _convert_format_1(config: dict[str, Any], tensors: dict[str, np.ndarray]
                      ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    config = dict(config)
    config["step_rule"] = config.pop("optimizer", config.get("step_rule", "obgd"))
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
            for key in mine:  # (all converted above)
                if key.startswith("optim."):
                    del converted[f"{prefix}.{key}"]
        if config["step_rule"] == "obgd":  # (the fused backend saved these for ObGD too, empty and 0)
            converted.pop(f"{prefix}.v", None)
            converted.pop(f"{prefix}.t", None)
    return config, converted
