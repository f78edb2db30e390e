"""Agent files damaged or edited the ways a user, a disk or another program can: through
safetensors' own API (a file that is still valid safetensors), or one byte flipped on disk."""

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np


def read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["streamrl"])


def edited_copy(source: Path, target: Path, metadata: Callable[[dict], None] | None = None,
                tensors: Callable[[dict], None] | None = None) -> Path:
    """A copy of ``source`` with its metadata and tensors changed in place by the functions given.
    A copy with other tensors drops the tensors' checksum, as a program that writes the tensors
    anew without streamrl would, so that what is checked is the tensors' schema."""
    from safetensors.numpy import save_file

    arrays, entries = read(source)
    if tensors is not None:
        tensors(arrays)
        entries.pop("tensors_sha256", None)
    if metadata is not None:
        metadata(entries)
    save_file(arrays, str(target), metadata={"streamrl": json.dumps(entries)})
    return target


def flip_byte(path: Path, tensor: str, offset: int = 5) -> None:
    """Flip every bit of one byte of ``tensor``'s data in the file itself (the header says where it is)."""
    data = bytearray(path.read_bytes())
    header_size = int.from_bytes(data[:8], "little")
    start, end = json.loads(data[8:8 + header_size])[tensor]["data_offsets"]
    assert offset < end - start
    data[8 + header_size + start + offset] ^= 0xFF
    path.write_bytes(bytes(data))


def table(name: str, **changes: Any) -> Callable[[dict], None]:
    """An edit of the JSON table ``name`` of the metadata (None: drop that key)."""
    def edit(entries: dict) -> None:
        value = {**json.loads(entries[name]), **changes}
        entries[name] = json.dumps({k: v for k, v in value.items() if v is not None})
    return edit


def entry(name: str, value: Any) -> Callable[[dict], None]:
    """An edit of one metadata entry (None: drop it)."""
    def edit(entries: dict) -> None:
        if value is None:
            entries.pop(name)
        else:
            entries[name] = value
    return edit


def add_tensor(arrays: dict) -> None:
    arrays["q.extra"] = np.zeros(3, dtype=np.float32)


def drop_trace(arrays: dict) -> None:
    del arrays["q.z"]


def cut_weights(arrays: dict) -> None:
    arrays["q.w"] = arrays["q.w"][:10].copy()


# A StreamQ's file (CartPole) damaged or edited: (metadata edit, tensors edit, what the refusal says
# after the file's name). Each loaded silently or failed with an internal error before.
DAMAGES = {
    "gamma in the counters": (table("counters", gamma=5.0), None,
                              ": the saved counters do not match a StreamQ's (differ in: gamma)"),
    "lr 'x'": (table("config", lr="x"), None, ": the saved config's 'lr' is 'x', not a number"),
    "hidden 'x'": (table("config", hidden="x"), None,
                   ": the saved config's 'hidden' is 'x', not a list of positive integers"),
    "config not a table": (entry("config", json.dumps(["lr", 1.0])), None,
                           ": its metadata's 'config' is ['lr', 1.0], not a table"),
    "preprocessing mistyped": (table("config", preprocessing={"normalize_observation": 1}), None,
                               ": the saved preprocessing's 'normalize_observation' is 1, not true or false"),
    "unknown option": (table("config", lambda_=0.5), None, ": the saved config holds an unknown option 'lambda_' for "
                       "StreamQ; did you mean 'lamda'?"),
    "lr refused by the agent": (table("config", lr=-1.0), None,
                                ": its agent cannot be rebuilt from the saved config: lr must be positive, got -1.0"),
    "env id a number": (entry("env_id", 5), None, ": its metadata's 'env_id' is 5, not a string"),
    "config missing": (entry("config", None), None, ": its metadata has no 'config'"),
    "extra tensor": (None, add_tensor, ": it holds a tensor 'q.extra' that a StreamQ with its config does not have"),
    "missing tensor": (None, drop_trace, ": it has no tensor 'q.z', which a StreamQ with its config has"),
    "tensor of another shape": (None, cut_weights,
                                ": its tensor 'q.w' has shape (10,), a StreamQ with its config has (1314,)"),
    "rng state not a number": (table("rng", state="x"), None, ": the saved random state 'rng' is not a PCG64 "
                               "generator's"),
    "rng state out of range": (table("predict_rng", state={"state": 2**200, "inc": 1}), None,
                               ": the saved random state 'predict_rng' is refused by numpy ("),
    "observation space mistyped": (table("observation_space", shape="4"), None,
                                   ": the saved observation space's shape is '4', not a list of sizes"),
    "action space mistyped": (table("action_space", n="2"), None,
                              ": the saved action space is Discrete('2', start=0), not a positive count of actions"),
    "space of another type": (table("action_space", type="Dict"), None,
                              ": the saved action space is of type 'Dict', not Box or Discrete"),
    "space type a list": (table("observation_space", type=[1]), None,
                          ": the saved observation space is of type [1], not Box or Discrete"),
    "a 5,000-digit number": (entry("config", '{"lr": ' + "9" * 5000 + "}"), None,
                             ": its metadata's 'config' is not JSON we read ("),
    "JSON nested 100,000 deep": (entry("config", "[" * 100_000 + "]" * 100_000), None,
                                 ": its metadata's 'config' is not JSON we read ("),
    "hidden wider than the file": (table("config", hidden=[10**12]), None,
                                   ": its hidden widths [1000000000000] do not fit the "),
    "gamma a 400-digit integer": (table("config", gamma=10**400), None,
                                  ": its agent cannot be rebuilt from the saved config: "),
    "negative statistics count": (None, lambda t: t.__setitem__("preprocessor.reward.count", np.array(-1)),
                                  ": saved statistics have a count of -1.0, not a count"),
    "negative variance": (None, lambda t: t.__setitem__("preprocessor.obs.var", -t["preprocessor.obs.var"] - 1),
                          ": saved statistics 'var' hold a negative number"),
}


def saved_q_agent(folder: Path) -> Path:
    """A StreamQ on CartPole that has learned a little, saved in ``folder``: the file the edits start from."""
    from streamrl import StreamQ, make_env

    path = folder / "q.safetensors"
    agent = StreamQ(make_env("CartPole-v1", seed=0), seed=0)
    agent.learn(300)
    agent.save(path)
    return path
