"""Running a Stable-Baselines3 baseline as a streamrl run (see :mod:`streamrl.baselines` for what
each name means).

The env is streamrl's own env-side pipeline (``make_env``: flattening, episode statistics, action
clipping, Atari frame processing) in SB3's ``DummyVecEnv``; the learning-side stages of the
stream-x agents (observation normalization, reward scaling, time feature) are not applied. No
``Monitor`` is added: the episode statistics of ``make_env`` already give SB3 (and the episode
log) each real episode's raw return and length, and on Atari a Monitor outside the life-loss
wrapper would count lives as episodes. Atari observations get SB3's usual 4-frame
``VecFrameStack`` and ``CnnPolicy``; every other domain uses ``MlpPolicy``.

A run takes exactly ``steps`` environment steps: learning stops there, so a PPO rollout cut
short by the budget is not trained on. The run folder holds config.json (with every
hyperparameter that SB3 received, defaults included), episodes.csv, timing.csv, summary.json,
learning_curve.png and TensorBoard episode scalars. No model is saved: SB3's own format unpickles
on load, and these baselines are only measured, never evaluated or resumed later; so there is no
checkpoint either, and ``--resume`` says to start the run again.
"""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np

from streamrl.algorithms import Episode
from streamrl.baselines import BASELINES, check_baseline_options, sb3_parameters
from streamrl.core.extras import require
from streamrl.core.progress import ProgressBar
from streamrl.core.tensorboard import tensorboardx
from streamrl.envs.make import domain_of, make_env
from streamrl.running.progress import ProgressFile
from streamrl.running.signals import SignalFlag
from streamrl.running.train import Interrupted, RunResult, owned_run_folder, start_run_folder, write_results

VEC_NORMALIZE_DOMAINS = ("mujoco", "dmc")  # where the RL Zoo's PPO normalizes


def _json_value(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except TypeError:
        return False


def baseline_hyperparameters(algorithm: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the SB3 constructor gets: its defaults, the -1 version's changes, then ``options``."""
    defaults = {name: p.default for name, p in sb3_parameters(algorithm).items()
                if p.default is not inspect.Parameter.empty and _json_value(p.default)}
    return {**defaults, **BASELINES[algorithm].hyperparameters, **(options or {})}


def make_baseline_model(algorithm: str, env_id: str, seed: int, options: dict[str, Any] | None = None):
    """The SB3 model of ``algorithm`` on ``env_id``, seeded, with its vectorized env."""
    options = dict(options or {})
    check_baseline_options(algorithm, options)
    sb3 = require("stable_baselines3", "sb3", f"the {algorithm} baseline (Stable-Baselines3)")
    import torch
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecNormalize

    torch.set_num_threads(1)  # small networks (threads cost more than they give); sweeps run a process per core

    baseline = BASELINES[algorithm]
    domain = domain_of(env_id)
    vec_normalize = options.pop("vec_normalize", baseline.sb3_class == "PPO" and domain in VEC_NORMALIZE_DOMAINS)
    env = make_env(env_id, seed=seed)
    needs = {"DQN": gym.spaces.Discrete, "SAC": gym.spaces.Box}.get(baseline.sb3_class)
    if needs is not None and not isinstance(env.action_space, needs):
        env.close()
        other = "sac, sac1" if needs is gym.spaces.Discrete else "dqn, dqn1"
        raise ValueError(f"{algorithm} needs {needs.__name__} actions and {env_id} has "
                         f"{type(env.action_space).__name__} actions; use {other}, ppo or ppo1")
    if domain == "atari":  # one grey channel, then SB3's usual stack of 4 frames
        env = gym.wrappers.ReshapeObservation(env, (*env.observation_space.shape, 1))
    venv = DummyVecEnv([lambda: env])
    if domain == "atari":
        venv = VecFrameStack(venv, 4)
    hyperparameters = baseline_hyperparameters(algorithm, options)
    if vec_normalize:
        venv = VecNormalize(venv, gamma=hyperparameters.get("gamma", 0.99))
    policy = "CnnPolicy" if domain == "atari" else "MlpPolicy"
    try:
        model = getattr(sb3, baseline.sb3_class)(policy, venv, seed=seed, verbose=0, **hyperparameters)
    except (TypeError, AssertionError, ValueError) as e:  # SB3 checks its own arguments
        venv.close()
        raise ValueError(f"bad {algorithm} option ({e}); check the --set values") from None
    # SB3's default logger makes an empty folder in the temp dir on every learn(); the run folder
    # is the log here
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))
    return model, {**hyperparameters, "vec_normalize": bool(vec_normalize), "policy": policy,
                   "device": str(model.device)}


def baseline_run(algorithm: str, env_id: str, steps: int, seed: int, out_dir: Path,
                 options: dict[str, Any] | None = None, progress: bool = True, resume: bool = False,
                 tensorboard: bool = True, label: str | None = None, progress_file: Path | None = None) -> RunResult:
    """Train the SB3 baseline ``algorithm`` for exactly ``steps`` env steps, writing a run folder
    (``label`` and ``progress_file`` as for :func:`streamrl.running.train.train_run`)."""
    with owned_run_folder(out_dir, progress_file):
        return _baseline_run(algorithm, env_id, steps, seed, out_dir, options, progress, resume, tensorboard, label,
                             progress_file)


def _baseline_run(algorithm: str, env_id: str, steps: int, seed: int, out_dir: Path, options: dict[str, Any] | None,
                  progress: bool, resume: bool, tensorboard: bool, label: str | None,
                  progress_file: Path | None) -> RunResult:
    if resume:
        raise ValueError(f"{algorithm} runs (Stable-Baselines3) keep no checkpoint and cannot resume; start the run "
                         f"again: streamrl train {algorithm} {env_id} --steps {steps} --seed {seed} --out {out_dir} "
                         "--overwrite")
    if steps <= 0:
        raise ValueError(f"--steps must be a positive number of steps, got {steps}")
    from stable_baselines3.common.callbacks import BaseCallback

    model, hyperparameters = make_baseline_model(algorithm, env_id, seed, options)
    if tensorboard:  # a missing extra is said before anything is written
        tensorboardx()
    import stable_baselines3

    start_run_folder(out_dir, {"algorithm": algorithm, "env_id": env_id, "steps": steps, "seed": seed,
                               "label": label or algorithm,
                               "agent": {"library": "stable-baselines3", "sb3_version": stable_baselines3.__version__,
                                         "sb3_class": BASELINES[algorithm].sb3_class, **hyperparameters}})
    episodes: list[Episode] = []
    timing: list[list[Any]] = []
    display = ProgressBar(steps, 0, algorithm, env_id) if progress else None
    reporter = ProgressFile(progress_file, steps) if progress_file is not None else None
    scalars = None
    if tensorboard:
        from streamrl.core.tensorboard import ScalarLog

        scalars = ScalarLog(out_dir / "tensorboard")
    start = time.perf_counter()

    class EpisodeLog(BaseCallback):
        """Records each real episode end; stops learning at ``steps`` or on a signal."""

        def _on_step(self) -> bool:
            n = self.model.num_timesteps
            episode = None
            for done, info in zip(self.locals["dones"], self.locals["infos"]):
                if done and "episode" in info:
                    episode = Episode(n, float(np.asarray(info["episode"]["r"]).item()),
                                      int(np.asarray(info["episode"]["l"]).item()))
                    episodes.append(episode)
                    timing.append([n, round(time.perf_counter() - start, 3)])
                    if scalars is not None:
                        scalars.episode(episode)
            if reporter is not None and n % 256 == 0:
                reporter.update(n)
            if display is not None:
                counter = SimpleNamespace(num_steps=n)
                if hasattr(self.model, "exploration_rate"):
                    counter.epsilon = self.model.exploration_rate
                display.update(counter, episode, episodes)
            return n < steps and interrupt.at_step is None

    with SignalFlag() as interrupt:
        try:
            model.learn(total_timesteps=steps, callback=EpisodeLog())
        except KeyboardInterrupt:  # a second signal
            raise Interrupted(model.num_timesteps, None) from None
        finally:
            for resource in (model.get_env(), display, scalars):
                if resource is not None:
                    resource.close()
    if interrupt.at_step is not None:
        raise Interrupted(model.num_timesteps, None)
    wall = time.perf_counter() - start
    if reporter is not None:
        reporter.update(model.num_timesteps, final=True)
    write_results(out_dir, episodes, timing, model.num_timesteps, wall,
                  f"{algorithm.upper()} (Stable-Baselines3) on {env_id}")
    return RunResult(out_dir, episodes, wall)
