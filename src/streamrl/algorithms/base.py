"""What every agent shares: construction from an env or from spaces, the learning-side
preprocessing, the step-by-step interface (``act`` / ``observe``), ``learn``, ``predict`` and
``save`` / ``load`` (the file itself: :mod:`streamrl.algorithms.agent_file`). The algorithms
themselves (TD error, action choice, trace clearing) are in the sibling modules, one file each.
"""

from __future__ import annotations

import copy
import math
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Mapping, NamedTuple

import gymnasium as gym
import numpy as np

from streamrl.algorithms import agent_file
from streamrl.algorithms.options import AgentOptions
from streamrl.algorithms.techniques import apply_preprocessing_switches, check_switch
from streamrl.envs.make import DOMAINS, domain_of, make_env, preprocessing_for
from streamrl.envs.normalization import NonFiniteObservation
from streamrl.envs.preprocessing import PreprocessingConfig, Preprocessor
from streamrl.learners import Learner, make_learner
from streamrl.networks.spec import NetworkSpec
from streamrl.steprules import step_rule_class
from streamrl.steprules.base import StepRule


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
    change_ratio: float | None = None  # Intentional updates: first-order output change over the intended one
    actor_change_ratio: float | None = None


@dataclass(frozen=True)
class Episode:
    end_step: int  # agent steps taken when the episode ended
    episode_return: float  # raw (unscaled) return
    length: int


Callback = Callable[["StreamAgent", StepInfo, "Episode | None"], "bool | None"]


def _learning_side_wrapper_in(env: gym.Env) -> str | None:
    from streamrl.envs.wrappers import LEARNING_SIDE_WRAPPERS

    while isinstance(env, gym.Wrapper):
        if isinstance(env, LEARNING_SIDE_WRAPPERS):
            return type(env).__name__
        env = env.env
    return None


def as_env(env: gym.Env | str, seed: int | None = None) -> gym.Env:
    """The env an agent, ``load`` or ``evaluate`` was given: an env id made by ``make_env(id,
    seed=seed)`` (the domain's environment-side pipeline), or an env of its own, checked to be one
    env without the learning-side stages the agent applies itself."""
    if isinstance(env, str):
        return make_env(env, seed=seed)
    if hasattr(env, "num_envs"):  # Gymnasium's and Stable-Baselines3's vector envs
        raise ValueError(f"{type(env).__name__} is a vector env; a streaming agent learns from one env: give one "
                         "env or an env id")
    if not all(hasattr(env, name) for name in ("observation_space", "action_space", "reset", "step")):
        raise ValueError(f"expected a Gymnasium env or an env id such as 'CartPole-v1', got {type(env).__name__}")
    wrapped = _learning_side_wrapper_in(env)
    if wrapped:
        raise ValueError(f"the env is already wrapped in streamrl.envs.{wrapped}; the agent applies that "
                         "stage itself: make the env with make_env(env_id) (normalize=False)")
    return env


def reports_episodes(env: gym.Env) -> bool:
    """Whether ``env`` reports each real episode's raw return and length in ``info["episode"]``:
    it has Gymnasium's RecordEpisodeStatistics among its wrappers, as make_env's pipelines do (on
    Atari below the life-loss terminals, so it reports game overs). Otherwise learn() and
    evaluate() count them, from one terminal or truncated step to the next."""
    while True:
        if isinstance(env, gym.wrappers.RecordEpisodeStatistics):
            return True
        if not isinstance(env, gym.Wrapper):
            return False
        env = env.env


def episode_from_info(info: Mapping[str, Any]) -> tuple[float, int] | None:
    """(raw return, length) of the episode that ``info`` reports as ended (None if it reports none)."""
    if "episode" not in info:
        return None
    return float(np.asarray(info["episode"]["r"]).item()), int(np.asarray(info["episode"]["l"]).item())


AGENT_CLASSES: dict[str, type["StreamAgent"]] = {}  # algorithm name -> class, as the classes are defined


class StreamAgent(AgentOptions, ABC):
    """Base of the agents; see the subclasses for each algorithm.

    ``env`` is a Gymnasium env, or an env id that ``make_env(id, seed=seed)`` makes (the domain's
    environment-side pipeline, seeded with the agent's seed); without one, give the spaces and
    use ``act``/``observe``. ``streamrl options ALGO`` (or :meth:`options`) lists every option.

    ``step_rule`` names how each network's weights move (:mod:`streamrl.steprules`: ``"obgd"``,
    ``"adaptive"``); the rule's own options come as keywords (ObGD: ``lr``, ``kappa``,
    ``kappa_policy`` for an actor, ``overshoot_bound``). Each stream-x technique can be switched
    off on its own (see :mod:`streamrl.algorithms.techniques`): ``overshoot_bound``,
    ``sparse_init``, ``layer_norm``, and the learning-side stages ``normalize_observation``,
    ``scale_reward``, ``time_info`` (None: as the domain's pipeline, or ``preprocessing``, says)."""

    needs_action: ClassVar[bool] = True  # observe() learns about the action act() chose

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "algorithm" in vars(cls):
            AGENT_CLASSES[cls.algorithm] = cls  # (for load(): a file names its algorithm)

    def __init__(self, env: gym.Env | str | None = None, *, observation_space: gym.Space | None = None,
                 action_space: gym.Space | None = None, domain: str | None = None, seed: int | None = None,
                 gamma: float = 0.99, lamda: float = 0.8, step_rule: str = "obgd", network: Any = None,
                 hidden: tuple[int, ...] | None = None, preprocessing: PreprocessingConfig | None = None,
                 sparsity: float = 0.9, track_overshoot: bool = False, backend: str = "auto",
                 torch_threads: int | None = 1, sparse_init: bool = True, layer_norm: bool = True,
                 normalize_observation: bool | None = None, scale_reward: bool | None = None,
                 time_info: bool | None = None, reward_trace_reset: str | None = None,
                 bootstrap_truncated: bool = False, **step_rule_options: Any) -> None:
        if env is not None:
            env = as_env(env, seed)  # (an env id: make_env(id, seed=seed))
            observation_space, action_space = env.observation_space, env.action_space
            spec = getattr(env, "spec", None)
            env_id = spec.id if spec is not None else None
            domain = domain or (domain_of(env_id) if env_id else "classic")
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
        self.env = env
        self.observation_space, self.action_space, self.domain = observation_space, action_space, domain
        # Discrete action i goes to the env as the space's own scalar start + i, as its sample()
        # gives actions (Gymnasium's contains() takes a Python int through np.iinfo: 6 against
        # 2.5 us on these machines, in every classic-control step's assert).
        self._discrete_actions = (tuple(action_space.dtype.type(action_space.start + i) for i in range(action_space.n))
                                  if isinstance(action_space, gym.spaces.Discrete) else None)
        self.seed = seed
        self.gamma, self.lamda = gamma, lamda
        self.step_rule, self.step_rule_options = step_rule, self._rule_options(step_rule, step_rule_options)
        self.sparsity, self.track_overshoot = sparsity, track_overshoot
        self.hidden = tuple(hidden) if hidden is not None else DOMAINS[domain].hidden
        for name, value in (("sparse_init", sparse_init), ("layer_norm", layer_norm),
                            ("bootstrap_truncated", bootstrap_truncated)):
            check_switch(name, value)
        self.sparse_init, self.layer_norm, self.bootstrap_truncated = sparse_init, layer_norm, bootstrap_truncated
        self.preprocessing = apply_preprocessing_switches(preprocessing or self._default_preprocessing(env, domain),
                                                          domain, normalize_observation, scale_reward, time_info,
                                                          reward_trace_reset)
        self.backend, self.torch_threads = backend, torch_threads
        self.rng = np.random.default_rng(seed)
        # predict() draws from its own generator, so evaluating never changes the training stream
        self.predict_rng = np.random.default_rng(None if seed is None else [seed, 1])
        self.preprocessor = Preprocessor(observation_space.shape, gamma, self.preprocessing)
        self.num_steps = 0  # transitions learned from
        self.num_episodes = 0
        self.overshoot_count = 0
        # the return and length so far of learn()'s episode, where the env does not report them
        self._episode_return, self._episode_length = 0.0, 0
        self._state: np.ndarray | None = None  # processed current state; None at an episode start
        self._acted = False
        self._predict_started = False
        self._last_raw: Any = None
        self._env_obs: Any = None
        self.env_started = False  # learn() has reset the env (or load() was told it was)
        self.custom_network = network is not None
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

    def _make_learner(self, n_outputs: int, role: str = "value", network: Any = None,
                      hidden: tuple[int, ...] | None = None, rule: type[StepRule] | None = None,
                      rule_options: dict[str, Any] | None = None) -> Learner:
        """A learner for one of the agent's networks: ``role`` 'value' (a critic, a Q or TD network)
        or 'policy', which some step rules' options tell apart (ObGD's kappa and kappa_policy).
        ``rule`` and ``rule_options``: a step rule other than the agent's (QRC's secondary network)."""
        if rule is None:
            rule = step_rule_class(self.step_rule)
            rule_options = rule.options_for(role, self.step_rule_options)
        return make_learner(self._network_spec(n_outputs, hidden), rule, rule_options, gamma=self.gamma,
                            lamda=self.lamda, backend=self.backend, sparsity=self.sparsity, sparse_init=self.sparse_init,
                            layer_norm=self.layer_norm, rng=self.rng, module=network, torch_threads=self.torch_threads)

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
        hint = "; with overshoot_bound=False try a smaller lr" if self.step_rule_options.get("overshoot_bound") is False \
            else ""
        return (f"; the agent diverged before that (non-finite weights in {' and '.join(diverged)}), so its action "
                f"was not a number{hint}")

    def _bootstrap(self, terminated: bool, truncated: bool) -> float:
        """1.0 where the TD target bootstraps on the next state, 0.0 at a terminal. A time-limit
        truncation is a terminal unless ``bootstrap_truncated``: with the time feature it is one of
        the time-augmented state (stream-x); without it, the state goes on (Intentional AC)."""
        return 0.0 if terminated or (truncated and not self.bootstrap_truncated) else 1.0

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
        twin = self._twin()
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

    def _twin(self) -> "StreamAgent":
        """A deep copy of the agent without its env (or what else :meth:`_not_copied` names): what
        the copy does changes nothing of this agent, its env or its random streams (warm_up and
        streamrl.evaluate run on one)."""
        return copy.deepcopy(self, {id(thing): None for thing in self._not_copied()})  # (memo: those become None)

    def _network_calls(self) -> Callable[[np.ndarray], None]:
        """One step's calls on the networks at a given state, with delta = 0 (the same passes over
        the weights as a step's): what ``streamrl bench`` times alone, without the env or the agent.
        Per learner: forward, evaluate where it bootstraps (all but an actor), update. The calls
        change the agent's traces (and QRC's h, by its beta term): for a throwaway agent only."""
        calls = [(learner, name != "actor", np.eye(learner.n_outputs)[0]) for name, learner in self.learners.items()]

        def one_step(state: np.ndarray) -> None:
            for learner, bootstraps, grad_out in calls:
                learner.forward(state)
                if bootstraps:
                    learner.evaluate(state)
                learner.update(grad_out, 0.0, False)
        return one_step

    def _not_copied(self) -> tuple[Any, ...]:
        """What :meth:`_twin` leaves out (it may hold what cannot be copied: a socket, a lock)."""
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
    def learn(self, total_steps: int, callback: Callback | None = None, progress_bar: bool = False,
              tensorboard_log: str | os.PathLike | None = None) -> list[Episode]:
        """Interact with the env for ``total_steps`` steps, learning from each; returns the episodes
        that ended (end step, raw return, length). A callback returning False stops early.

        Episodes are the env's own where it reports them in ``info["episode"]`` (make_env's
        pipelines do: on Atari a game over, not a lost life); on any other env learn() counts each
        one's rewards and steps from one terminal or truncated step to the next.

        ``progress_bar``: a live bar of steps, steps/s and recent returns (first the kernels are
        compiled, under a spinner). ``tensorboard_log``: a folder that gets the TensorBoard scalars
        ``streamrl train`` writes (needs the 'tensorboard' extra): each episode's return and length,
        and per 1,000 steps the TD error, step size and how often the bound acted; later calls add
        to the same folder, at the agent's own step count."""
        if self.env is None:
            raise ValueError("learn() needs an env: construct the agent with one, or use act()/observe()")
        if not isinstance(total_steps, (int, np.integer)) or isinstance(total_steps, bool) or total_steps <= 0:
            raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
        total_steps = int(total_steps)
        if tensorboard_log is not None:
            from streamrl.core.tensorboard import ScalarLog, tensorboardx

            tensorboardx("learn(tensorboard_log=...)")  # (a missing extra is said before a step is taken)
        if progress_bar:
            from streamrl.core.console import COMPILING, spinner
            from streamrl.core.progress import ProgressBar

            with spinner(COMPILING):  # compiling is not learning: it stays out of the bar's rate
                self.warm_up()
        self._on_learn_start(total_steps)
        if self._env_obs is None and self.env_started:  # an earlier learn() stopped at an episode end
            self._env_obs, _ = self.env.reset()
            self._episode_return, self._episode_length = 0.0, 0
        elif self._env_obs is None:
            # a fresh agent seeds the env with its own seed; a loaded one draws a new seed, so it
            # does not replay the episodes it has already learned from
            env_seed = self.seed if self.num_steps == 0 or self.seed is None else int(self.rng.integers(2**31))
            self._env_obs, _ = self.env.reset(seed=env_seed)
            self._state = None
            self._episode_return, self._episode_length = 0.0, 0
        self.env_started = True
        counting = not reports_episodes(self.env)
        episode_return, episode_length = self._episode_return, self._episode_length
        episodes: list[Episode] = []
        obs = self._env_obs
        scalars = bar = None
        try:
            if tensorboard_log is not None:
                scalars = ScalarLog(tensorboard_log)
            if progress_bar:
                spec = getattr(self.env, "spec", None)
                name = spec.id if spec is not None else type(self.env.unwrapped).__name__
                bar = ProgressBar(self.num_steps + total_steps, self.num_steps, self.algorithm, name)
            for _ in range(total_steps):
                action = self.act(obs)
                next_obs, reward, terminated, truncated, env_info = self.env.step(action)
                reward = float(reward)
                info = self.observe(reward, next_obs, bool(terminated), bool(truncated))
                if counting:
                    episode_return += reward
                    episode_length += 1
                episode = None
                if terminated or truncated:
                    ended = episode_from_info(env_info)  # a real episode end (Atari: game over, not a lost life)
                    if counting:
                        ended = ended or (episode_return, episode_length)
                        episode_return, episode_length = 0.0, 0
                    if ended is not None:
                        episode = Episode(self.num_steps, *ended)
                        episodes.append(episode)
                        self.num_episodes += 1
                if scalars is not None:
                    scalars.step(self.num_steps, info)
                    if episode is not None:
                        scalars.episode(episode)
                if bar is not None:
                    bar.update(self, episode, episodes)
                # the callback runs before the env resets, so a checkpoint it takes at an episode end
                # holds the env's random state from before the next episode's reset
                stop = callback is not None and callback(self, info, episode) is False
                if terminated or truncated:
                    self._env_obs = obs = None if stop else self.env.reset()[0]
                else:
                    self._env_obs = obs = next_obs
                if stop:
                    break
        finally:
            self._episode_return, self._episode_length = episode_return, episode_length  # (a later learn() goes on)
            for shown in (bar, scalars):
                if shown is not None:
                    shown.close()
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
        """The constructor's options that rebuild this agent (saved in its file; see :meth:`load`)."""
        return {"gamma": self.gamma, "lamda": self.lamda, "step_rule": self.step_rule, **self.step_rule_options,
                "hidden": list(self.hidden), "sparsity": self.sparsity, "track_overshoot": self.track_overshoot,
                "domain": self.domain, "seed": self.seed, "backend": self.backend,
                "sparse_init": self.sparse_init, "layer_norm": self.layer_norm,
                "bootstrap_truncated": self.bootstrap_truncated,
                **{k: v for k, v in self.techniques().items() if k in ("normalize_observation", "scale_reward",
                                                                      "time_info")},
                "preprocessing": self.preprocessing.to_dict(), **self._algorithm_config()}

    def techniques(self) -> dict[str, bool]:
        """Which stream-x techniques this agent uses (False: switched off); the overshoot bound only
        where the step rule has one."""
        bound = {"overshoot_bound": self.step_rule_options["overshoot_bound"]} \
            if "overshoot_bound" in self.step_rule_options else {}
        return {**bound, "sparse_init": self.sparse_init, "layer_norm": self.layer_norm,
                "normalize_observation": self.preprocessing.normalize_observation,
                "scale_reward": self.preprocessing.scale_reward, "time_info": bool(self.preprocessing.time_limit)}

    def _algorithm_config(self) -> dict[str, Any]:
        return {}

    def counters(self) -> dict[str, Any]:
        """What the agent has counted (saved in its file; restored by :meth:`restore_counters`)."""
        return {"num_steps": self.num_steps, "num_episodes": self.num_episodes,
                "overshoot_count": self.overshoot_count}

    def restore_counters(self, saved: dict[str, Any]) -> None:
        """Sets the counters of :meth:`counters` from a saved file: exactly those names, each of the
        same type (an integer, or True/False), or a one-line error with nothing set."""
        mine = self.counters()
        if not isinstance(saved, dict) or set(saved) != set(mine):
            names = sorted(set(saved) ^ set(mine)) if isinstance(saved, dict) else ["(not a table)"]
            raise ValueError(f"the saved counters do not match a {type(self).__name__}'s (differ in: "
                             f"{', '.join(names)}); the file is damaged or was edited")
        for name, value in saved.items():
            if type(value) is not type(mine[name]) or (isinstance(value, int) and value < 0):
                raise ValueError(f"the saved counter {name} is {value!r}; a {type(self).__name__} counts it as a "
                                 f"non-negative {type(mine[name]).__name__}: the file is damaged or was edited")
        for name, value in saved.items():
            setattr(self, name, value)

    def save(self, path: str | os.PathLike, extra_metadata: dict[str, str] | None = None) -> None:
        """Write weights, traces, step-rule and normalizer state, RNG state, counters and config to
        one safetensors file (atomically: a temporary file, then a rename). ``extra_metadata``
        (strings) travels in the same file, e.g. a training run's own state."""
        agent_file.save_agent(self, path, extra_metadata)

    @classmethod
    def load(cls, path: str | os.PathLike, env: gym.Env | str | None = None, network: Any = None, *,
             env_started: bool = False) -> "StreamAgent":
        """Rebuild an agent saved with :meth:`save` (no code is executed from the file). An agent
        built on a custom network needs that network (freshly constructed) passed again.

        ``env`` must be the environment the agent was trained on (same id, same spaces), or its id
        (made by make_env; learn() seeds it at its first reset). With ``env_started=True`` that env
        already continues the saved run (its random state restored): learn() then resets it
        without a seed instead of reseeding it."""
        if isinstance(env, str) and env_started:
            raise ValueError("env_started=True says the env continues the saved run: pass that env, not an env id")
        return agent_file.load_agent(path, AGENT_CLASSES, cls, None if env is None else as_env(env), network,
                                     env_started)
