"""Batch RL baselines from Stable-Baselines3 (the ``sb3`` extra), run by ``streamrl train`` into
the same run folder as a stream-x agent (Elsayed et al. 2024, the stream-barrier comparison).

``ppo``, ``sac`` and ``dqn`` are SB3's algorithms with SB3's default hyperparameters: the
ordinary batch versions, the bar to reach. ``ppo1``, ``sac1`` and ``dqn1`` are "the batch
algorithm with its buffer and batch reduced to one sample": everything else as the batch version,
except what must change for each transition to be learned from once, as it arrives:

- ``ppo1``: ``n_steps=1`` (a rollout of one transition) and ``batch_size=1`` (minibatches of
  one); ``normalize_advantage=False``, since one advantage cannot be normalized (SB3 refuses the
  combination). The ``n_epochs=10`` passes over each rollout stay.
- ``sac1``: ``buffer_size=1`` (the replay buffer holds only the newest transition, so every
  sample is that one) and ``batch_size=1``; ``learning_starts=0``, so updates start at the first
  step (with a buffer of one, the default 100 warm-up steps would only be random actions).
  ``train_freq=1`` and ``gradient_steps=1`` are SB3's defaults already; the target networks stay.
- ``dqn1``: ``buffer_size=1``, ``batch_size=1``, ``learning_starts=0`` and ``train_freq=1`` (the
  default 4 would let three of every four transitions leave the one-slot buffer unused); the
  target network and its update interval stay.

Options given with ``--set`` go to the SB3 constructor and win over these. PPO and PPO1 run in
SB3's ``VecNormalize`` (observations and rewards) on MuJoCo and DM Control, as the RL Zoo's tuned
PPO does there (``--set vec_normalize=false`` turns it off; ``true`` turns it on elsewhere).
Checking the options here needs no SB3; running needs it (:mod:`streamrl.baselines.sb3`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Baseline:
    sb3_class: str  # the class in stable_baselines3
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # on top of SB3's defaults


BATCH_SIZE_ONE = {
    "PPO": {"n_steps": 1, "batch_size": 1, "normalize_advantage": False},
    "SAC": {"buffer_size": 1, "batch_size": 1, "learning_starts": 0},
    "DQN": {"buffer_size": 1, "batch_size": 1, "learning_starts": 0, "train_freq": 1},
}
BASELINES = {name.lower(): Baseline(name) for name in BATCH_SIZE_ONE}
BASELINES.update({f"{name.lower()}1": Baseline(name, hyper) for name, hyper in BATCH_SIZE_ONE.items()})
# not constructor options of a baseline: streamrl sets them from the run (or they would write files)
RESERVED_OPTIONS = ("policy", "env", "seed", "tensorboard_log", "verbose", "_init_setup_model")
EXTRA_OPTIONS = {"vec_normalize": False}  # streamrl's own options, with a default of their kind
EXTRA_OPTION_HELP = {"vec_normalize": "train in SB3's VecNormalize (observations and rewards); PPO and PPO1 do on "
                                      "MuJoCo and DM Control unless this is false"}


def sb3_parameters(algorithm: str) -> dict[str, Any]:
    """The SB3 class's constructor parameters (inspect.Parameter) that a run may set."""
    import inspect

    from streamrl.core.extras import require

    sb3 = require("stable_baselines3", "sb3", f"the {algorithm} baseline (Stable-Baselines3)")
    parameters = inspect.signature(getattr(sb3, BASELINES[algorithm].sb3_class).__init__).parameters
    return {name: p for name, p in parameters.items() if name not in ("self", *RESERVED_OPTIONS)}


def check_baseline_options(algorithm: str, options: dict[str, Any]) -> None:
    """Each option is a constructor parameter of the SB3 class (or ``vec_normalize``); where SB3
    declares a plain int, float or bool, the value must be of that kind. SB3 checks the rest (an
    ``int | tuple`` train_freq, a float-or-schedule learning rate) when the model is made."""
    from streamrl.core.options import check_option_types

    parameters = sb3_parameters(algorithm)
    known = sorted({*parameters, *EXTRA_OPTIONS})
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown --set key {unknown[0]!r} for {algorithm} (SB3 {BASELINES[algorithm].sb3_class}); "
                         f"known keys: {', '.join(known)}")
    plain = {name: p.default for name, p in parameters.items() if p.annotation in (int, float, bool, "int", "float",
                                                                                   "bool")}
    check_option_types({**plain, **EXTRA_OPTIONS}, options)


def baseline_options(algorithm: str) -> list[tuple[str, Any, str]]:
    """(option, default, meaning) of every option a run of the baseline takes: the SB3 class's
    constructor parameters, at the baseline's value where it sets one, described by SB3's own
    docstring (its first sentence, or line if that is long); then streamrl's own."""
    import inspect
    import re

    parameters = sb3_parameters(algorithm)  # (or the message naming the extra)
    import stable_baselines3

    baseline = BASELINES[algorithm]
    doc = inspect.getdoc(getattr(stable_baselines3, baseline.sb3_class)) or ""
    meanings = {}
    for name, text in re.findall(r"^:param (\w+):(.*?)(?=^:\w|\Z)", doc, re.MULTILINE | re.DOTALL):
        sentence = re.split(r"(?<!i\.e)(?<!e\.g)\.\s", " ".join(text.split()))[0]
        meanings[name] = (sentence if len(sentence) <= 100 else text.strip().splitlines()[0]).rstrip(".,")
    listed = []
    for name, parameter in parameters.items():
        default = baseline.hyperparameters.get(name, parameter.default)
        meaning = meanings.get(name, "")
        listed.append((name, None if default is inspect.Parameter.empty else default, meaning))
    return listed + [(name, default, EXTRA_OPTION_HELP[name]) for name, default in EXTRA_OPTIONS.items()]


__all__ = ["BASELINES", "BATCH_SIZE_ONE", "Baseline", "baseline_options", "check_baseline_options", "sb3_parameters"]
