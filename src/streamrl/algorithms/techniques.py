"""The stream-x techniques as switches of every agent, for ablations and the classic baseline
(docs/method.md, "Switching techniques off").

Each switch is an agent constructor option (``StreamAC(env, layer_norm=False)``, ``streamrl
train ac Hopper-v5 --set layer_norm=false``) and is saved in the agent's config, so ``load()``
rebuilds the same agent. ``True`` is the stream-x method; ``False`` switches that one technique
off. The preprocessing switches default to ``None``, meaning "as the domain's pipeline does":
Stream TD, for one, does not scale its cumulant unless asked to.

The classic streaming baseline is not a switch of the agent but a preset of the command line
(``streamrl train ac Hopper-v5 --preset classic``): it sets every switch below to False, so its
run folder records each of them explicitly.
"""

from __future__ import annotations

from dataclasses import replace

from streamrl.envs.preprocessing import PreprocessingConfig

TECHNIQUES = {
    "overshoot_bound": "ObGD's step bound; off: plain SGD on the traces, w <- w + lr delta z, with the same lr",
    "sparse_init": "sparse initialization; off: PyTorch's default init of nn.Linear / nn.Conv2d",
    "layer_norm": "parameter-free layer norm before each hidden LeakyReLU; off: no normalization",
    "normalize_observation": "running per-coordinate observation normalization",
    "scale_reward": "reward scaling by the running std of the discounted return",
    "time_info": "the time-since-episode-start feature appended to the observation",
}

# Every technique off: the classic streaming algorithms on the same networks and step size.
PRESETS = {"classic": {name: False for name in TECHNIQUES}}


def preset_options(name: str) -> dict[str, bool]:
    """The agent options of a preset (a new dict), or a one-line error naming the presets."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])


def check_switch(name: str, value: object, optional: bool = False) -> None:
    if not (value is True or value is False or (optional and value is None)):
        allowed = "True, False or None (the domain's default)" if optional else "True or False"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def apply_preprocessing_switches(config: PreprocessingConfig, domain: str, normalize_observation: bool | None,
                                 scale_reward: bool | None, time_info: bool | None,
                                 reward_trace_reset: str | None = None) -> PreprocessingConfig:
    """``config`` with the learning-side switches that were given (None keeps the config's own)."""
    for name, value in (("normalize_observation", normalize_observation), ("scale_reward", scale_reward),
                        ("time_info", time_info)):
        check_switch(name, value, optional=True)
    if reward_trace_reset is not None:
        config = replace(config, reward_trace_reset=reward_trace_reset)
    if normalize_observation is not None:
        config = replace(config, normalize_observation=normalize_observation)
    if scale_reward is not None:
        config = replace(config, scale_reward=scale_reward)
    if time_info is False:
        config = replace(config, time_limit=None)
    elif time_info and not config.time_limit:
        raise ValueError(f"time_info=True needs an episode time limit, and the {domain} pipeline has none; "
                         "leave time_info unset, or pass preprocessing=PreprocessingConfig(time_limit=T)")
    return config
