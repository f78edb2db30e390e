"""The paper's experiments as sweeps (``streamrl reproduce NAME``): which algorithms, environments
and seeds, at the paper's step budget times a scale factor, so a 2-core machine can run a
shortened version and a cluster the full one.

A preset has parts, each one sweep in its own results folder (RESULTS/<part>), because a sweep
crosses every algorithm with every variant and the stream-barrier comparison does not: the
classic variant (every stream-x technique off) is a stream-x algorithm's, and the batch
baselines have no variants. Algorithms that this install cannot run (the baselines without the
``sb3`` extra) are left out with a note.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from streamrl.envs.make import DOMAINS

MUJOCO = ["HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5"]
DMC = [f"dm_control/{task}-v0" for task in ("cheetah-run", "dog-stand", "walker-walk", "hopper-hop", "finger-spin")]
MINATAR = [f"MinAtar/{game}-v1" for game in ("Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders")]
ATARI = [f"{game}NoFrameskip-v4" for game in ("Breakout", "Enduro")]


@dataclass(frozen=True)
class Part:
    name: str
    algorithms: tuple[str, ...]
    envs: tuple[str, ...]
    domain: str  # its reference step budget is the paper's
    classic: bool = False  # add the classic variant beside stream-x
    baselines: bool = False  # the batch baselines: their budget can be scaled apart (they are slow)


@dataclass(frozen=True)
class Preset:
    description: str
    seeds: int
    parts: tuple[Part, ...]


PRESETS = {
    "stream-barrier": Preset("stream AC vs classic AC vs PPO1/SAC1 vs PPO/SAC on Hopper and Walker2d", 5, (
        Part("stream", ("ac",), ("Hopper-v5", "Walker2d-v5"), "mujoco", classic=True),
        Part("batch", ("ppo1", "sac1", "ppo", "sac"), ("Hopper-v5", "Walker2d-v5"), "mujoco", baselines=True))),
    "mujoco": Preset("Stream AC(lambda) on five MuJoCo tasks", 5, (Part("stream", ("ac",), tuple(MUJOCO), "mujoco"),)),
    "dmc": Preset("Stream AC(lambda) on DM Control tasks", 5, (Part("stream", ("ac",), tuple(DMC), "dmc"),)),
    "minatar": Preset("Stream Q(lambda) on the five MinAtar games", 3,
                      (Part("stream", ("q",), tuple(MINATAR), "minatar"),)),
    "atari": Preset("Stream Q(lambda) vs classic Q vs DQN1/DQN on Breakout and Enduro", 3, (
        Part("stream", ("q",), tuple(ATARI), "atari", classic=True),
        Part("batch", ("dqn1", "dqn"), tuple(ATARI), "atari", baselines=True))),
    "comparison": Preset("the streaming methods side by side: Intentional AC(lambda) and AVG vs Stream AC(lambda) "
                         "on four MuJoCo tasks; Intentional Q(lambda) and QRC(lambda) vs Stream Q(lambda) on the five "
                         "MinAtar games", 3, (
                             Part("mujoco", ("ac", "iac", "avg"), ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Ant-v5"),
                                  "mujoco"),
                             Part("minatar", ("q", "iq", "qrc"), tuple(MINATAR), "minatar"))),
}


def classic_options() -> dict[str, bool]:
    """Every stream-x technique off, from the agents' own switches."""
    from streamrl.algorithms.techniques import PRESETS as TECHNIQUE_PRESETS

    return dict(TECHNIQUE_PRESETS["classic"])


def preset_sweeps(name: str, scale: float, seeds: int | None, known_algorithms: Collection[str],
                  baseline_scale: float | None = None, parts: Collection[str] | None = None
                  ) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The sweep files (as data) of a preset's parts (``parts``: only those), and notes on what
    was left out. The batch baselines' parts use ``baseline_scale`` of the paper's steps when given
    (else ``scale``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    names = [part.name for part in PRESETS[name].parts]
    unknown = sorted(set(parts or ()) - set(names))
    if unknown:
        raise ValueError(f"preset {name} has no part {unknown[0]!r}; its parts: {', '.join(names)}")
    for option, value in (("--scale", scale), ("--baseline-scale", baseline_scale)):
        if value is not None and not 0 < value <= 1:
            raise ValueError(f"{option} must be above 0 and at most 1 (a fraction of the paper's steps), got {value}")
    if seeds is not None and seeds <= 0:
        raise ValueError(f"--seeds must be a positive count, got {seeds}")
    preset, sweeps, notes = PRESETS[name], [], []
    for part in preset.parts:
        if parts and part.name not in parts:
            continue
        algorithms = [a for a in part.algorithms if a in known_algorithms]
        missing = [a for a in part.algorithms if a not in known_algorithms]
        if missing:
            notes.append(f"{part.name}: left out {', '.join(missing)} ('streamrl train' does not offer them here)")
        if not algorithms:
            continue
        variants: dict[str, dict[str, Any]] = {"stream-x": {}} if part.classic else {"default": {}}
        if part.classic:
            variants["classic"] = classic_options()
        part_scale = baseline_scale if part.baselines and baseline_scale is not None else scale
        steps = max(1, round(DOMAINS[part.domain].reference_steps * part_scale))
        sweeps.append((part.name, {
            "algorithms": algorithms, "envs": list(part.envs), "seeds": seeds or preset.seeds, "steps": steps,
            "checkpoint_every": min(100_000, max(1_000, steps // 10)), "variants": variants}))
    return sweeps, notes
