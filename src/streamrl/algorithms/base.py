"""What every stream-x agent shares: construction from an env or from spaces, the learning-side
preprocessing, the step-by-step interface (``act`` / ``observe``), ``learn``, ``predict`` and
``save`` / ``load``. The algorithms themselves (TD error, action choice, trace clearing) are in
the sibling modules, one file each.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Mapping, NamedTuple

import gymnasium as gym
import numpy as np

from streamrl.algorithms.techniques import apply_preprocessing_switches, check_switch
from streamrl.envs.make import DOMAINS, domain_of, preprocessing_for, require
from streamrl.envs.normalization import NonFiniteObservation
from streamrl.envs.preprocessing import PreprocessingConfig, Preprocessor
from streamrl.nn.learner import Learner
from streamrl.nn.networks import NetworkSpec
from streamrl.running.files import atomic_path

FORMAT = "streamrl-agent"
# The layout of an agent file. Raise it when a file written now could not be read by an earlier
# streamrl (renamed tensors, new required metadata); an older streamrl then refuses the file by name.
FORMAT_VERSION = 1


class StepInfo(NamedTuple):
    """What one update did. For Stream AC the step size and bound are the critic's. (Immutable; a
    named tuple rather than a frozen dataclass because one is made every step, in a third of the time.)"""

    delta: float
    step_size: float
    bound_active: bool
    overshot: bool | None = None  # None unless the agent was made with track_overshoot=True
    value: float | None = None  # Stream TD: the prediction v(s) before the update
    actor_step_size: float | None = None
    actor_bound_active: bool | None = None


@dataclass(frozen=True)
class Episode:
    end_step: int  # agent steps taken when the episode ended
    episode_return: float  # raw (unscaled) return
    length: int


Callback = Callable[["StreamAgent", StepInfo, "Episode | None"], "bool | None"]


def _space_to_json(space: gym.Space) -> dict:
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start), "dtype": str(space.dtype)}
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "low": space.low.tolist(), "high": space.high.tolist(),
                "dtype": str(space.dtype)}
    raise ValueError(f"{type(space).__name__} spaces are not supported; streamrl handles Box and Discrete spaces")


def _space_from_json(d: dict) -> gym.Space:
    if d["type"] == "Discrete":
        # (older files have neither start nor dtype: Gymnasium's defaults)
        return gym.spaces.Discrete(d["n"], start=d.get("start", 0), dtype=np.dtype(d.get("dtype", "int64")))
    dtype = np.dtype(d["dtype"])
    return gym.spaces.Box(np.array(d["low"], dtype), np.array(d["high"], dtype), tuple(d["shape"]), dtype=dtype)


def _learning_side_wrapper_in(env: gym.Env) -> str | None:
    from streamrl.envs.wrappers import LEARNING_SIDE_WRAPPERS

    while isinstance(env, gym.Wrapper):
        if isinstance(env, LEARNING_SIDE_WRAPPERS):
            return type(env).__name__
        env = env.env
    return None


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of an agent file, checked to be one that this streamrl reads (reading it runs
    no code from the file)."""
    from safetensors import safe_open

    from streamrl import __version__

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


class StreamAgent(ABC):
    """Base of the stream-x agents; see the subclasses for each algorithm.

    Each stream-x technique can be switched off on its own (see
    :mod:`streamrl.algorithms.techniques`): ``overshoot_bound``, ``sparse_init``, ``layer_norm``,
    and the learning-side stages ``normalize_observation``, ``scale_reward``, ``time_info``
    (None: as the domain's pipeline, or ``preprocessing``, says)."""

    algorithm: ClassVar[str]
    default_kappa: ClassVar[float] = 2.0
    needs_action: ClassVar[bool] = True  # observe() learns about the action act() chose

    def __init__(self, env: gym.Env | None = None, *, observation_space: gym.Space | None = None,
                 action_space: gym.Space | None = None, domain: str | None = None, seed: int | None = None,
                 gamma: float = 0.99, lamda: float = 0.8, lr: float = 1.0, kappa: float | None = None,
                 optimizer: str = "obgd", network: Any = None, hidden: tuple[int, ...] | None = None,
                 preprocessing: PreprocessingConfig | None = None, sparsity: float = 0.9,
                 track_overshoot: bool = False, backend: str = "auto", torch_threads: int | None = 1,
                 overshoot_bound: bool = True, sparse_init: bool = True, layer_norm: bool = True,
                 normalize_observation: bool | None = None, scale_reward: bool | None = None,
                 time_info: bool | None = None) -> None:
        self.env = env
        if env is not None:
            observation_space, action_space = env.observation_space, env.action_space
            env_id = env.spec.id if env.spec is not None else None
            domain = domain or (domain_of(env_id) if env_id else "classic")
            wrapped = _learning_side_wrapper_in(env)
            if wrapped:
                raise ValueError(f"the env is already wrapped in streamrl.envs.{wrapped}; the agent applies that "
                                 "stage itself: make the env with make_env(env_id) (normalize=False)")
        elif observation_space is None or action_space is None:
            raise ValueError("give an env, or both observation_space and action_space for step-by-step use")
        domain = domain or "classic"
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; choose one of {sorted(DOMAINS)}")
        if not isinstance(observation_space, gym.spaces.Box):
            raise ValueError(f"{type(observation_space).__name__} observation spaces are not supported; "
                             "use a Box observation space (make_env flattens Discrete observations, and DM "
                             "Control's Dict ones)")
        self._check_action_space(action_space)
        self.observation_space, self.action_space, self.domain = observation_space, action_space, domain
        # Discrete action i goes to the env as the space's own scalar start + i, as its sample()
        # gives actions (Gymnasium's contains() takes a Python int through np.iinfo: 6 against
        # 2.5 us on these machines, in every classic-control step's assert).
        self._discrete_actions = (tuple(action_space.dtype.type(action_space.start + i) for i in range(action_space.n))
                                  if isinstance(action_space, gym.spaces.Discrete) else None)
        self.seed = seed
        self.gamma, self.lamda, self.lr = gamma, lamda, lr
        self.kappa = self.default_kappa if kappa is None else kappa
        self.optimizer_name, self.sparsity, self.track_overshoot = optimizer, sparsity, track_overshoot
        self.hidden = tuple(hidden) if hidden is not None else DOMAINS[domain].hidden
        for name, value in (("overshoot_bound", overshoot_bound), ("sparse_init", sparse_init),
                            ("layer_norm", layer_norm)):
            check_switch(name, value)
        self.overshoot_bound, self.sparse_init, self.layer_norm = overshoot_bound, sparse_init, layer_norm
        self.preprocessing = apply_preprocessing_switches(preprocessing or self._default_preprocessing(env, domain),
                                                          domain, normalize_observation, scale_reward, time_info)
        if backend not in ("auto", "fused", "torch"):
            raise ValueError(f"unknown backend {backend!r}; choose 'auto', 'fused' or 'torch'")
        self.backend, self.torch_threads = backend, torch_threads
        self.rng = np.random.default_rng(seed)
        # predict() draws from its own generator, so evaluating never changes the training stream
        self.predict_rng = np.random.default_rng(None if seed is None else [seed, 1])
        self.preprocessor = Preprocessor(observation_space.shape, gamma, self.preprocessing)
        self.num_steps = 0  # transitions learned from
        self.num_episodes = 0
        self.overshoot_count = 0
        self._state: np.ndarray | None = None  # processed current state; None at an episode start
        self._acted = False
        self._predict_started = False
        self._last_raw: Any = None
        self._env_obs: Any = None
        self.env_started = False  # learn() has reset the env (or load() was told it was)
        self._custom_network = network is not None
        self._build(network)
        # found once: every episode start clears their traces
        self._learners = {k: v for k, v in vars(self).items() if isinstance(v, Learner)}

    # ---- construction helpers -------------------------------------------------------------
    def _check_action_space(self, space: gym.Space) -> None:
        if not isinstance(space, (gym.spaces.Discrete, gym.spaces.Box)):
            raise ValueError(f"{type(space).__name__} action spaces are not supported; use Discrete or Box")

    def _env_action(self, action: Any) -> Any:
        """The env's form of an action the agent chose: a Discrete index as the space's scalar."""
        return self._discrete_actions[action] if self._discrete_actions is not None else action

    def _network_spec(self, n_outputs: int, hidden: tuple[int, ...] | None = None) -> NetworkSpec:
        return NetworkSpec(DOMAINS[self.domain].network, self.preprocessor.output_shape, n_outputs,
                           hidden or self.hidden)

    def _switched_off_unfused(self) -> list[str]:
        """The techniques switched off that the fused kernels always apply."""
        return [name for name in ("overshoot_bound", "layer_norm") if not getattr(self, name)]

    def _make_learner(self, n_outputs: int, kappa: float, network: Any = None,
                      hidden: tuple[int, ...] | None = None) -> Learner:
        """The fused (compiled) learner for a standard network, else torch (custom modules and the
        ablations the fused kernels do not have: no bound, no layer norm)."""
        spec = self._network_spec(n_outputs, hidden)
        optimizer = dict(lr=self.lr, gamma=self.gamma, lamda=self.lamda, kappa=kappa)
        unfused = self._switched_off_unfused()
        if network is None and self.backend in ("auto", "fused") and not unfused:
            from streamrl.nn.fused_learner import FUSED_KINDS, FusedLearner

            if spec.kind in FUSED_KINDS:
                if self.sparse_init:
                    return FusedLearner(spec, self.optimizer_name, sparsity=self.sparsity, rng=self.rng, **optimizer)
                # the sparse weights it draws are replaced by the same default-init numbers the
                # torch path draws, so both backends start equal for a seed
                learner = FusedLearner(spec, self.optimizer_name, rng=np.random.default_rng(0), **optimizer)
                from streamrl.nn.init import default_uniform

                parameters = learner.parameters()
                for weight, bias in zip(parameters[0::2], parameters[1::2]):
                    weight[...], bias[...] = default_uniform(weight.shape, self.rng)
                return learner
        if self.backend == "fused":
            if network is None and unfused:
                raise ValueError(f"backend='fused' always applies {' and '.join(unfused)}; with "
                                 f"{', '.join(f'{name}=False' for name in unfused)} use backend='torch' (or 'auto')")
            what = "a custom network" if network is not None else f"the {spec.kind} network"
            raise ValueError(f"backend='fused' cannot run {what}; use backend='torch' (or 'auto')")
        what = "a custom network" if network is not None else f"the {spec.kind} network on torch"
        torch = require("torch", "torch", what)
        from streamrl.nn.networks import build_torch_network
        from streamrl.nn.torch_learner import TorchLearner

        if self.torch_threads:
            torch.set_num_threads(self.torch_threads)  # tiny networks: threads only add overhead
        if network is None:
            network = build_torch_network(spec, self.sparsity, self.rng, layer_norm=self.layer_norm,
                                          sparse_init=self.sparse_init)
        return TorchLearner(network, n_outputs, self.optimizer_name, overshoot_bound=self.overshoot_bound, **optimizer)

    def _default_preprocessing(self, env: gym.Env | None, domain: str) -> PreprocessingConfig:
        return preprocessing_for(env, domain) if env is not None else DOMAINS[domain].preprocessing

    @abstractmethod
    def _build(self, network: Any) -> None:
        """Create the learners, as attributes: every one made here (and only here) is saved, loaded
        and has its traces cleared at an episode start."""

    @property
    def learners(self) -> Mapping[str, Learner]:
        """The agent's networks by attribute name (``q``; ``actor`` and ``critic``; ``v``), read-only."""
        return MappingProxyType(self._learners)

    # ---- the step-by-step interface -------------------------------------------------------
    def _begin(self, obs: Any, acting: bool = True) -> np.ndarray:
        """The processed current state; a new episode starts if the last one ended."""
        self._acted = acting
        if self._state is None:
            try:
                state = self.preprocessor.reset(obs)
            except NonFiniteObservation as e:
                raise self._non_finite(e) from None
            self._on_episode_start()
            self._state = state
        elif obs is not self._last_raw and not np.array_equal(obs, self._last_raw):
            raise ValueError("act() got an observation other than the next_obs last given to observe(); "
                             "after a terminal or truncated step the episode restarts by itself")
        self._last_raw = obs
        return self._state

    def _advance(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> tuple[np.ndarray, float]:
        if self._state is None or (self.needs_action and not self._acted):
            first = "act(obs)" if self.needs_action else "reset(obs) or act(obs)"
            raise RuntimeError(f"call {first} before observe(): {type(self).__name__} learns from the transition "
                               "that starts at that observation")
        if type(reward) is not float:  # (learn() passes floats) one number in any form, as a float
            reward = self._one_number(reward)
        if not math.isfinite(reward):
            raise ValueError(f"non-finite reward {reward} at step {self.num_steps + 1}; nothing was learned from it"
                             f"{self._divergence_note()}")
        try:
            return self.preprocessor.step(next_obs, reward, terminated, truncated)
        except NonFiniteObservation as e:
            raise self._non_finite(e) from None

    @staticmethod
    def _one_number(reward: Any) -> float:
        value = np.asarray(reward)
        if value.size != 1 or value.dtype.kind not in "biuf":
            raise ValueError(f"the reward must be one real number, got {reward!r}; nothing was learned from it")
        return float(value.reshape(()))

    def _non_finite(self, error: NonFiniteObservation) -> ValueError:
        """The preprocessor's refusal of an observation, said as the agent's (the statistics have
        not taken it in)."""
        return ValueError(f"non-finite observation at step {self.num_steps + 1} (NaN or inf in {error.n_bad} of "
                          f"{error.size} values); nothing was learned from it{self._divergence_note()}")

    def _divergence_note(self) -> str:
        """Why the env went non-finite, when the agent's own weights did first (checked on this error
        path only, so learning pays nothing for it)."""
        diverged = [name for name, learner in self.learners.items()
                    if not all(np.isfinite(v).all() for v in learner.state_dict().values())]
        if not diverged:
            return ""
        hint = "; with overshoot_bound=False try a smaller lr" if not self.overshoot_bound else ""
        return (f"; the agent diverged before that (non-finite weights in {' and '.join(diverged)}), so its action "
                f"was not a number{hint}")

    def _finish(self, next_state: np.ndarray, next_obs: Any, done: bool) -> None:
        self.num_steps += 1
        self._acted = False
        self._state, self._last_raw = (None, None) if done else (next_state, next_obs)

    def _on_episode_start(self) -> None:
        """No trace carries over into a new episode. After a terminal step the algorithms have
        cleared them already; this covers an episode cut short by reset() or by loading an agent
        saved mid-episode."""
        for learner in self._learners.values():
            learner.clear_traces()

    def reset(self, obs: Any) -> None:
        """Start an episode (or a stream) at ``obs``; ``act`` does this by itself after an episode end."""
        self._state = None
        self._begin(obs, acting=False)

    def warm_up(self, learning: bool = True) -> float:
        """Compile now what a step runs, so the first real ``act``/``observe`` is as fast as the
        rest (for live use), and return the seconds it took. Numba compiles a function at its first
        call: on a machine's first run the fused networks take ~25 s, later runs load them from
        Numba's on-disk cache in under a second. Runs two steps (with ``learning``) and predictions
        on a copy of the agent without its env, on observations of the observation space's dtype
        and of float64 (sensor readings often are), so nothing of this agent, its env or its random
        streams changes. ``learning=False`` prepares ``predict`` only."""
        start = time.perf_counter()
        twin = copy.deepcopy(self, {id(thing): None for thing in self._not_copied()})  # (memo: those become None)
        shape = self.observation_space.shape
        for dtype in dict.fromkeys([self.observation_space.dtype, np.dtype(np.float64)]):
            observations = [np.full(shape, value, dtype=dtype) for value in (0, 1, 2)]
            if learning:
                twin.reset(observations[0])
                for obs, next_obs, done in zip(observations, observations[1:], (False, True)):
                    if twin.needs_action:  # (Stream TD learns without acting)
                        twin.act(obs)
                    twin.observe(1.0, next_obs, done, False)
                for learner in twin.learners.values():
                    learner.state_dict()  # (saving makes a pending step first)
            for deterministic in (True, False):
                twin.predict(observations[0], deterministic, episode_start=True)
                twin.predict(observations[1], deterministic)
        return time.perf_counter() - start

    def _not_copied(self) -> tuple[Any, ...]:
        """What warm_up's copy leaves out (it may hold what cannot be copied: a socket, a lock)."""
        return (self.env,)

    def _overshot(self, delta: float, delta_after: float) -> bool:
        overshot = delta != 0.0 and np.sign(delta_after) == -np.sign(delta)
        self.overshoot_count += int(overshot)
        return bool(overshot)

    @abstractmethod
    def act(self, obs: Any) -> Any:
        """The action to take in ``obs`` (a raw observation)."""

    @abstractmethod
    def observe(self, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> StepInfo:
        """Learn from the transition that the last action led to, at once."""

    # ---- Stable-Baselines3-style interface --------------------------------------------------
    def learn(self, total_steps: int, callback: Callback | None = None) -> list[Episode]:
        """Interact with the env for ``total_steps`` steps, learning from each; returns the episodes
        that ended (end step, raw return, length). A callback returning False stops early."""
        if self.env is None:
            raise ValueError("learn() needs an env: construct the agent with one, or use act()/observe()")
        if not isinstance(total_steps, (int, np.integer)) or total_steps <= 0:
            raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
        self._on_learn_start(int(total_steps))
        if self._env_obs is None and self.env_started:  # an earlier learn() stopped at an episode end
            self._env_obs, _ = self.env.reset()
        elif self._env_obs is None:
            # a fresh agent seeds the env with its own seed; a loaded one draws a new seed, so it
            # does not replay the episodes it has already learned from
            env_seed = self.seed if self.num_steps == 0 or self.seed is None else int(self.rng.integers(2**31))
            self._env_obs, _ = self.env.reset(seed=env_seed)
            self._state = None
        self.env_started = True
        episodes: list[Episode] = []
        obs = self._env_obs
        for _ in range(int(total_steps)):
            action = self.act(obs)
            next_obs, reward, terminated, truncated, env_info = self.env.step(action)
            info = self.observe(float(reward), next_obs, bool(terminated), bool(truncated))
            episode = None
            if terminated or truncated:
                if "episode" in env_info:  # real episode end (Atari: game over, not a lost life)
                    episode = Episode(self.num_steps, float(np.asarray(env_info["episode"]["r"]).item()),
                                      int(np.asarray(env_info["episode"]["l"]).item()))
                    episodes.append(episode)
                    self.num_episodes += 1
            # the callback runs before the env resets, so a checkpoint it takes at an episode end
            # holds the env's random state from before the next episode's reset
            stop = callback is not None and callback(self, info, episode) is False
            if terminated or truncated:
                self._env_obs = obs = None if stop else self.env.reset()[0]
            else:
                self._env_obs = obs = next_obs
            if stop:
                break
        return episodes

    def _on_learn_start(self, total_steps: int) -> None:
        pass

    def predict(self, obs: Any, deterministic: bool = True, episode_start: bool = False) -> tuple[Any, None]:
        """The action for ``obs`` without learning (normalization statistics frozen). The time
        feature and frame stack follow their own evaluation episode: pass ``episode_start=True``
        on each episode's first observation. Returns ``(action, None)`` as Stable-Baselines3 does."""
        episode_start = episode_start or not self._predict_started
        self._predict_started = True
        return self._predict(self.preprocessor.transform(obs, episode_start), deterministic), None

    @abstractmethod
    def _predict(self, state: np.ndarray, deterministic: bool) -> Any: ...

    # ---- saving ----------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "lamda": self.lamda, "lr": self.lr, "kappa": self.kappa,
                "optimizer": self.optimizer_name, "hidden": list(self.hidden), "sparsity": self.sparsity,
                "track_overshoot": self.track_overshoot, "domain": self.domain, "seed": self.seed,
                "backend": self.backend, **self.techniques(),
                "preprocessing": self.preprocessing.to_dict(), **self._algorithm_config()}

    def techniques(self) -> dict[str, bool]:
        """Which stream-x techniques this agent uses (False: switched off)."""
        return {"overshoot_bound": self.overshoot_bound, "sparse_init": self.sparse_init, "layer_norm": self.layer_norm,
                "normalize_observation": self.preprocessing.normalize_observation,
                "scale_reward": self.preprocessing.scale_reward, "time_info": bool(self.preprocessing.time_limit)}

    def _algorithm_config(self) -> dict[str, Any]:
        return {}

    def _counters(self) -> dict[str, Any]:
        return {"num_steps": self.num_steps, "num_episodes": self.num_episodes,
                "overshoot_count": self.overshoot_count}

    def save(self, path: str | os.PathLike, extra_metadata: dict[str, str] | None = None) -> None:
        """Write weights, traces, optimizer and normalizer state, RNG state, counters and config
        to one safetensors file (atomically: a temporary file, then a rename). ``extra_metadata``
        (strings) travels in the same file, e.g. a training run's own state."""
        import re

        from safetensors import SafetensorError
        from safetensors.numpy import save_file

        from streamrl import __version__

        tensors = {f"{name}.{k}": v for name, learner in self.learners.items() for k, v in learner.state_dict().items()}
        tensors.update({f"preprocessor.{k}": v for k, v in self.preprocessor.state_dict().items()})
        tensors = {k: np.array(v, order="C") for k, v in tensors.items()}  # (ascontiguousarray makes 0-d 1-d)
        metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "streamrl_version": __version__,
                    "algorithm": self.algorithm,
                    "env_id": self.env.spec.id if self.env is not None and self.env.spec else "",
                    "config": json.dumps(self.config()), "counters": json.dumps(self._counters()),
                    "rng": json.dumps(self.rng.bit_generator.state),
                    "predict_rng": json.dumps(self.predict_rng.bit_generator.state),
                    "observation_space": json.dumps(_space_to_json(self.observation_space)),
                    "action_space": json.dumps(_space_to_json(self.action_space)),
                    "custom_network": str(self._custom_network),
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

    @classmethod
    def load(cls, path: str | os.PathLike, env: gym.Env | None = None, network: Any = None, *,
             env_started: bool = False) -> "StreamAgent":
        """Rebuild an agent saved with :meth:`save` (no code is executed from the file). An agent
        built on a custom network needs that network (freshly constructed) passed again.

        ``env`` must be the environment the agent was trained on (same id, same spaces). With
        ``env_started=True`` that env already continues the saved run (its random state restored):
        learn() then resets it without a seed instead of reseeding it."""
        from safetensors import safe_open

        from streamrl.algorithms import ALGORITHMS

        if env_started and env is None:
            raise ValueError("env_started=True says the env continues the saved run: pass that env too")
        metadata = read_metadata(path)
        with safe_open(os.fspath(path), framework="numpy") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        algorithm = metadata["algorithm"]
        if algorithm not in ALGORITHMS:
            raise ValueError(f"{path} holds an agent of an algorithm this streamrl does not know ({algorithm!r}); "
                             "upgrade streamrl")
        agent_cls = ALGORITHMS[algorithm]
        if cls is not StreamAgent and not issubclass(agent_cls, cls):
            raise ValueError(f"{path} holds a {agent_cls.__name__} agent, not a {cls.__name__}; load it with "
                             f"{agent_cls.__name__}.load or StreamAgent.load")
        if metadata["custom_network"] == "True" and network is None:
            raise ValueError(f"{path} was trained with a custom network: pass network= to load()")
        config = json.loads(metadata["config"])
        config["preprocessing"] = PreprocessingConfig(**config["preprocessing"])
        config["hidden"] = tuple(config["hidden"])
        spaces = {"observation_space": _space_from_json(json.loads(metadata["observation_space"])),
                  "action_space": _space_from_json(json.loads(metadata["action_space"]))}
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
        for k, v in json.loads(metadata["counters"]).items():
            setattr(agent, k, v)
        agent.env_started = env_started
        return agent  # it starts a new episode at its first act(), clearing any saved traces
