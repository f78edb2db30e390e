"""A sweep's YAML file, checked, and the runs it stands for.

    algorithms: [q, ac]            # names of 'streamrl train' algorithms, passed through as given
    envs: [CartPole-v1, Acrobot-v1]
    seeds: 3                       # a count (seeds 0, 1, 2) or a list of seeds
    steps: 100000
    checkpoint_every: 10000        # optional (default 10,000)
    tensorboard: true              # optional (default true)
    variants:                      # optional (default one variant, 'default', with no options)
      stream-x: {}
      no-sparse-init: {sparse_init: false}

The runs are the cross product algorithms x envs x variants x seeds; each is one
``streamrl train`` in RESULTS/runs/<algo>-<variant>-<env>-s<seed>.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_KEYS = ("algorithms", "envs", "seeds", "steps", "checkpoint_every", "tensorboard", "variants")
REQUIRED_KEYS = ("algorithms", "envs", "seeds", "steps")
DEFAULT_VARIANT = "default"
DEFAULT_CHECKPOINT_EVERY = 10_000
# A variant or algorithm name becomes part of a folder name.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+]*(-[A-Za-z0-9_.+]+)*")


@dataclass(frozen=True)
class SweepSpec:
    algorithms: tuple[str, ...]
    envs: tuple[str, ...]
    seeds: tuple[int, ...]
    steps: int
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    tensorboard: bool = True
    variants: dict[str, dict[str, Any]] = field(default_factory=lambda: {DEFAULT_VARIANT: {}})


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: what ``streamrl train`` is given, and the folder name under runs/."""

    name: str
    algorithm: str
    env_id: str
    variant: str
    seed: int
    overrides: dict[str, Any]
    label: str


def path_safe(env_id: str) -> str:
    """An env id as a folder-name part: 'MinAtar/Breakout-v1' -> 'MinAtar_Breakout-v1'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", env_id)


def read_spec(path: Path, known_algorithms: Collection[str] | None = None) -> SweepSpec:
    """Parse and check a sweep file; every mistake is a one-line ValueError naming the key."""
    import yaml

    if not path.is_file():
        raise ValueError(f"sweep file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"sweep file {path} is not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    return parse_spec(data, str(path), known_algorithms)


def parse_spec(data: Any, source: str, known_algorithms: Collection[str] | None = None) -> SweepSpec:
    def fail(message: str) -> ValueError:
        return ValueError(f"sweep file {source}: {message}")

    if not isinstance(data, dict):
        raise fail(f"must be a mapping with the keys {', '.join(SPEC_KEYS)}")
    unknown = sorted(str(k) for k in set(data) - set(SPEC_KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; known keys: {', '.join(SPEC_KEYS)}")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise fail(f"missing key {missing[0]!r} (required: {', '.join(REQUIRED_KEYS)})")

    def names(key: str) -> tuple[str, ...]:
        value = data[key]
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise fail(f"{key} must be a name or a non-empty list of names, got {data[key]!r}")
        if len(set(value)) < len(value):
            raise fail(f"{key} lists {next(v for v in value if value.count(v) > 1)!r} twice")
        return tuple(value)

    algorithms, envs = names("algorithms"), names("envs")
    for algorithm in algorithms:
        if known_algorithms is not None and algorithm not in known_algorithms:
            raise fail(f"algorithms: unknown algorithm {algorithm!r}; choose from {', '.join(sorted(known_algorithms))}")
        if not NAME.fullmatch(algorithm):
            raise fail(f"algorithms: {algorithm!r} cannot be part of a folder name")
    if len({path_safe(e) for e in envs}) < len(envs):
        raise fail("envs: two env ids give the same folder name once '/' and such become '_'")

    def positive(key: str, default: int | None = None) -> int:
        value = data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise fail(f"{key} must be a positive integer, got {value!r}")
        return value

    seeds = data["seeds"]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds <= 0:
            raise fail(f"seeds must be a positive count or a list of seeds, got {seeds!r}")
        seeds = list(range(seeds))
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise fail(f"seeds must be a positive count or a list of non-negative integers, got {data['seeds']!r}")
    if len(set(seeds)) < len(seeds):
        raise fail(f"seeds lists {next(s for s in seeds if seeds.count(s) > 1)} twice")
    tensorboard = data.get("tensorboard", True)
    if not isinstance(tensorboard, bool):
        raise fail(f"tensorboard must be true or false, got {tensorboard!r}")

    variants = data.get("variants", {DEFAULT_VARIANT: {}})
    if not isinstance(variants, dict) or not variants:
        raise fail("variants must map variant names to agent options, e.g. {stream-x: {}, no-sparse-init: "
                   "{sparse_init: false}}")
    checked = {}
    for name, options in variants.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise fail(f"variants: name {name!r} must be letters, digits, '.', '_', '+' and single '-' between them")
        options = {} if options is None else options
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            raise fail(f"variants.{name} must map agent option names to values, got {options!r}")
        for key, value in options.items():
            if not _plain(value):
                raise fail(f"variants.{name}.{key}: {value!r} is not a number, true/false, a string or a list")
        checked[name] = dict(options)
    return SweepSpec(algorithms, envs, tuple(seeds), positive("steps"),
                     positive("checkpoint_every", DEFAULT_CHECKPOINT_EVERY), tensorboard, checked)


def _plain(value: Any) -> bool:
    """Values that survive the round trip through --set key=repr(value) unchanged."""
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def expand(spec: SweepSpec) -> list[RunSpec]:
    """The runs, algorithm-major, seeds innermost."""
    runs = []
    for algorithm in spec.algorithms:
        for env_id in spec.envs:
            for variant, overrides in spec.variants.items():
                label = f"{algorithm}-{variant}" if overrides else algorithm
                for seed in spec.seeds:
                    runs.append(RunSpec(f"{algorithm}-{variant}-{path_safe(env_id)}-s{seed}", algorithm, env_id,
                                        variant, seed, overrides, label))
    names = [run.name for run in runs]
    if len(set(names)) < len(names):  # e.g. algorithm 'a-b' with variant 'c' and algorithm 'a' with 'b-c'
        twice = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"two runs of the sweep would share the folder {twice}; rename an algorithm or a variant")
    return runs


def conflicts(old: SweepSpec, new: SweepSpec) -> str | None:
    """Why a results folder made by ``old`` cannot take ``new`` (None: it can). Runs may be added
    (algorithms, envs, seeds, variants), but a run that exists must mean the same run."""
    for key in ("steps", "checkpoint_every", "tensorboard"):
        if getattr(old, key) != getattr(new, key):
            return f"{key} is {getattr(new, key)!r} here but {getattr(old, key)!r} in the sweep that made it"
    for name in set(old.variants) & set(new.variants):
        if old.variants[name] != new.variants[name]:
            return f"variant {name!r} has other options here than in the sweep that made it"
    return None
