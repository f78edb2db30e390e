"""Domains of the paper and ``make_env``: the id tells the domain, the domain tells the pipeline."""

from __future__ import annotations

import difflib
import sys
import warnings
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np

from streamrl.core.extras import MissingDependencyError, install_hint
from streamrl.envs.preprocessing import PreprocessingConfig

CLASSIC_EPISODE_LIMIT = 10_000
DMC_TIME_LIMIT = 1000


@dataclass(frozen=True)
class Domain:
    name: str
    network: str  # NetworkSpec kind
    hidden: tuple[int, ...]  # MLP widths for control agents (Stream TD always uses 128, 128)
    preprocessing: PreprocessingConfig
    exploration_fraction: float  # of the step budget, for Q and SARSA
    reference_steps: int  # the step budget of the paper's runs
    extra: str | None  # the pip extra that installs the domain


DOMAINS = {
    "classic": Domain("classic", "mlp", (32, 32), PreprocessingConfig(time_limit=CLASSIC_EPISODE_LIMIT),
                      0.05, 500_000, None),
    "mujoco": Domain("mujoco", "mlp", (128, 128), PreprocessingConfig(time_limit=1000), 0.05, 2_000_000, "mujoco"),
    "dmc": Domain("dmc", "mlp", (128, 128), PreprocessingConfig(time_limit=DMC_TIME_LIMIT), 0.05, 2_000_000, "dmc"),
    "minatar": Domain("minatar", "minatar_cnn", (), PreprocessingConfig(channels_last=True), 0.2, 5_000_000,
                      "minatar"),
    "atari": Domain("atari", "atari_cnn", (), PreprocessingConfig(frame_stack=4), 0.05, 10_000_000, "atari"),
}

DOMAIN_NAMES = "classic control, MuJoCo, DM Control, MinAtar, Atari"


def clip_to_box(action: np.ndarray, space: gym.spaces.Box) -> np.ndarray:
    """``action`` clipped to the space's bounds (np.clip's Python wrapper costs more than the two
    ufunc calls, and this runs every step)."""
    return np.minimum(np.maximum(action, space.low), space.high)


class ClipAction(gym.ActionWrapper):
    """Clips actions to the bounds, and (unlike Gymnasium's ClipAction) keeps the bounded action
    space visible, so agents and random policies still know the actuator limits."""

    def action(self, action):
        return clip_to_box(action, self.action_space)


class MuJoCoWarning(UserWarning):
    """A warning of the MuJoCo engine (e.g. about a model file), as a Python warning."""


# MuJoCo's warnings show once per message: Python's own "once" and "default" forget what they
# showed whenever any warning filter changes anywhere (importing scipy does), so a model file
# that warns at every load warned again for each env made after such a change. This filter, last
# in the list, marks the warnings streamrl shows once itself; a filter of the user's before it
# (-W, simplefilter: "always", "error", "ignore", ...) decides as usual.
_ONCE = ("once", None, MuJoCoWarning, None, 0)
_shown: set[str] = set()


def _once_is_ours(text: str, module: str, lineno: int) -> bool:
    """Whether the first warning filter that applies to this MuJoCo warning is streamrl's _ONCE
    (matched as Python matches filters)."""
    for action, message, category, module_pattern, filter_line in warnings.filters:
        if (action, message, category, module_pattern, filter_line) == _ONCE:
            return True
        if ((message is None or message.match(text)) and issubclass(MuJoCoWarning, category)
                and (module_pattern is None or module_pattern.match(module)) and filter_line in (0, lineno)):
            return False
    return False


def _warn_from_mujoco(message: str) -> None:
    # Nothing may escape: an exception raised through MuJoCo's C code aborts the process (warnings
    # made errors, a Ctrl-C landing here, a closed stderr).
    try:
        text = f"MuJoCo: {message}"
        caller = sys._getframe(1)  # the Python line that called into MuJoCo
        if _once_is_ours(text, caller.f_globals.get("__name__", ""), caller.f_lineno):
            if text in _shown:
                return
            _shown.add(text)
        warnings.warn(text, MuJoCoWarning, stacklevel=2)
    except BaseException:
        try:
            print(f"MuJoCoWarning: {message}", file=sys.stderr)
        except BaseException:
            pass


def _route_mujoco_warnings(mujoco) -> None:
    """MuJoCo's own handler prints each warning and appends it to MUJOCO_LOG.TXT in the working
    directory (Gymnasium's HalfCheetah model warns at every load); as Python warnings they are
    shown once per message and can be filtered. A handler someone else installed (the user's,
    dm_control's) is left in place."""
    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(_warn_from_mujoco)
        # Appended (stored as _ONCE): filters of the user's (-W, simplefilter) come first and win.
        warnings.filterwarnings("once", category=MuJoCoWarning, append=True)


def _register(domain: str) -> None:
    """Make the Gymnasium ids of an optional domain known (each package registers on request)."""
    extra = DOMAINS[domain].extra
    try:
        if domain == "minatar":
            import minatar.gym
            if "MinAtar/Breakout-v1" not in gym.registry:
                minatar.gym.register_envs()
        elif domain == "atari":
            import ale_py
            gym.register_envs(ale_py)
        elif domain == "dmc":
            with warnings.catch_warnings():  # dm_control's import of glfw warns when there is no display
                warnings.simplefilter("ignore")
                import shimmy
            gym.register_envs(shimmy)
        elif domain == "mujoco":
            import mujoco
            _route_mujoco_warnings(mujoco)
    except ImportError as e:
        raise MissingDependencyError(f"{domain} environments need {install_hint(extra)} ({e})") from None


def domain_of(env_id: str) -> str:
    """The domain name of a Gymnasium id: atari, minatar, dmc, mujoco or classic."""
    if env_id.endswith("NoFrameskip-v4") or env_id.startswith("ALE/"):
        return "atari"
    if env_id.startswith("MinAtar/"):
        return "minatar"
    if env_id.startswith("dm_control/"):
        return "dmc"
    spec = gym.registry.get(env_id)
    entry = str(spec.entry_point) if spec is not None else ""
    if "gymnasium.envs.mujoco" in entry:
        return "mujoco"
    return "classic"


def _outside_domains(env_id: str) -> bool:
    """An id that domain_of files under "classic" only because it is none of the others: Box2D,
    toy text, Gymnasium's functional (JAX) envs, third-party registrations."""
    spec = gym.registry.get(env_id)
    entry = str(spec.entry_point) if spec is not None else ""
    return domain_of(env_id) == "classic" and "gymnasium.envs.classic_control" not in entry


def _gym_make(env_id: str, options: dict) -> gym.Env:
    """gymnasium.make, with its failures to construct the env said in one line."""
    try:
        return gym.make(env_id, **options)
    except (ImportError, gym.error.DependencyNotInstalled) as e:
        reason = " ".join(str(e).split())  # Gymnasium's messages may span lines
        where = (f"is outside streamrl's domains ({DOMAIN_NAMES}) and needs a package that no streamrl extra "
                 "installs" if _outside_domains(env_id) else "needs a package that is not installed")
        raise MissingDependencyError(f"{env_id} {where}: {reason}") from None
    except gym.error.Error as e:
        raise ValueError(f"{env_id} could not be made: {' '.join(str(e).split())}") from None


def _unknown_id(env_id: str) -> ValueError:
    for domain in ("minatar", "atari", "dmc"):
        try:
            _register(domain)
        except MissingDependencyError:
            pass
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see gymnasium.registry for the known ids"
    return ValueError(f"unknown environment id {env_id!r}{hint}")


def check_spaces(env: gym.Env, env_id: str) -> None:
    for what, space in (("observation", env.observation_space), ("action", env.action_space)):
        if not isinstance(space, (gym.spaces.Box, gym.spaces.Discrete)):
            raise ValueError(f"{env_id}: {type(space).__name__} {what} spaces are not supported; "
                             "streamrl handles Box and Discrete spaces (flatten the space with a wrapper first)")


def make_env(env_id: str, seed: int | None = None, normalize: bool = False, gamma: float = 0.99,
             **options) -> gym.Env:
    """Make ``env_id`` with its domain's environment-side pipeline (docs/method.md, "Environment
    pipelines"): flattening, episode statistics (``info["episode"]`` with raw returns), action
    clipping, Atari frame processing.

    The learning-side stages (observation normalization, reward scaling, time information, the
    Atari frame stack) live inside the agents, which save them with their weights. For the full
    pipeline as an env on its own (to use without a streamrl agent), pass ``normalize=True``.
    ``options`` go to ``gymnasium.make``.
    """
    domain = domain_of(env_id)
    if domain != "classic":
        _register(domain)
    if env_id not in gym.registry:
        raise _unknown_id(env_id)
    if domain == "classic":
        options.setdefault("max_episode_steps", CLASSIC_EPISODE_LIMIT)
    if domain == "atari":
        options.setdefault("obs_type", "grayscale")
        options.setdefault("frameskip", 1)  # ALE/...-v5 ids skip 4 and use sticky actions by default;
        options.setdefault("repeat_action_probability", 0.0)  # the pipeline skips, as NoFrameskip-v4
    env = _gym_make(env_id, options)
    if domain in ("classic", "mujoco", "dmc"):
        space = env.observation_space
        if (domain == "dmc" and isinstance(space, gym.spaces.Dict)) or isinstance(space, gym.spaces.Discrete) or (
                isinstance(space, gym.spaces.Box) and len(space.shape) != 1):
            env = gym.wrappers.FlattenObservation(env)  # Dict: concatenated; Discrete: one-hot
        check_spaces(env, env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        if domain != "classic" and isinstance(env.action_space, gym.spaces.Box):
            env = ClipAction(env)
    elif domain == "minatar":
        env = gym.wrappers.RecordEpisodeStatistics(env)
    else:
        from streamrl.envs.atari import atari_pipeline
        env = atari_pipeline(env)
    if seed is not None:  # seeded before the learning-side stages, so no statistic sees this reset
        env.action_space.seed(seed)
        env.reset(seed=seed)
    if normalize:
        env = learning_side_wrappers(env, preprocessing_for(env, domain), gamma)
    return env


def preprocessing_for(env: gym.Env, domain: str) -> PreprocessingConfig:
    """The domain's learning-side stages, with the time limit read from the env where it has one."""
    config = DOMAINS[domain].preprocessing
    if config.time_limit and domain in ("classic", "mujoco"):
        limit = env.spec.max_episode_steps if env.spec is not None else None
        config = replace(config, time_limit=limit or config.time_limit)
    return config


def learning_side_wrappers(env: gym.Env, config: PreprocessingConfig, gamma: float) -> gym.Env:
    from streamrl.envs.wrappers import AddTimeInfo, NormalizeObservation, ScaleReward

    if config.normalize_observation:
        env = NormalizeObservation(env)
    if config.channels_last:
        shape = env.observation_space.shape
        env = gym.wrappers.TransformObservation(
            env, lambda o: np.moveaxis(o, -1, 0), gym.spaces.Box(-np.inf, np.inf, (shape[-1], *shape[:-1]), np.float32))
    if config.frame_stack:
        env = gym.wrappers.FrameStackObservation(env, config.frame_stack, padding_type="reset")
    if config.scale_reward:
        env = ScaleReward(env, gamma)
    if config.time_limit:
        env = AddTimeInfo(env, config.time_limit)
    return env
