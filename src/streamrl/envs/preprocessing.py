"""The learning-side half of each domain pipeline, with one home: inside the agent.

``make_env`` builds the environment-side half (flattening, episode statistics, action
clipping, Atari frame processing). Everything that keeps statistics the agent must save and
restore (observation normalization, reward scaling, the time feature, the Atari frame stack
that follows normalization) lives here, so it is applied exactly once whether the agent trains
on a Gymnasium env or is fed raw numbers step by step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, asdict

import numpy as np

from streamrl.envs.normalization import (NonFiniteObservation, ObservationNormalizer, RewardScaler, TimeFeature,
                                         all_finite)


@dataclass(frozen=True)
class PreprocessingConfig:
    normalize_observation: bool = True
    scale_reward: bool = True
    time_limit: int | None = None  # append the time feature when set
    frame_stack: int = 0  # stack this many normalized frames (Atari)
    channels_last: bool = False  # move a trailing channel axis to the front (MinAtar)

    def to_dict(self) -> dict:
        return asdict(self)


class Preprocessor:
    """Turns raw observations and rewards into what the network and the TD error see."""

    def __init__(self, obs_shape: tuple[int, ...], gamma: float, config: PreprocessingConfig) -> None:
        self.config = config
        self.obs_shape = tuple(obs_shape)
        self.obs_norm = ObservationNormalizer(self.obs_shape) if config.normalize_observation else None
        self.reward_scaler = RewardScaler(gamma) if config.scale_reward else None
        self.time = TimeFeature(config.time_limit) if config.time_limit else None
        self.eval_time = TimeFeature(config.time_limit) if config.time_limit else None
        self.frames: deque = deque(maxlen=max(config.frame_stack, 1))
        self.eval_frames: deque = deque(maxlen=max(config.frame_stack, 1))
        # Vectors (classic control, MuJoCo, DMC) are normalized straight into the state array.
        self._vector = len(self.obs_shape) == 1 and not config.frame_stack and not config.channels_last
        self._channels_first = (len(self.obs_shape) - 1, *range(len(self.obs_shape) - 1))
        self.output_shape = self._output_shape()

    def _output_shape(self) -> tuple[int, ...]:
        shape = self.obs_shape
        if self.config.channels_last:
            shape = (shape[-1], *shape[:-1])
        if self.config.frame_stack:
            shape = (self.config.frame_stack, *shape)
        if self.time is not None:
            shape = (shape[0] + 1,)
        return shape

    def _checked(self, obs: np.ndarray, update: bool) -> np.ndarray:
        """The observation as an array of the right shape. One that is learned from (``update``)
        must be finite: the normalizer's compiled loop checks that, else it is checked here."""
        x = np.asarray(obs)
        if x.shape != self.obs_shape:
            raise ValueError(f"observation has shape {x.shape}, expected {self.obs_shape}; "
                             "pass the raw observation of the environment the agent was built for")
        if update and self.obs_norm is None and not all_finite(x):
            raise NonFiniteObservation(x)
        return x

    def _frame(self, obs: np.ndarray, update: bool) -> np.ndarray:
        x = self._checked(obs, update)
        if self.obs_norm is not None:
            # computed in float64 and stored as float32 at once: the numbers of a float64 frame
            # cast later, without the float64 copies (an Atari frame stack is 225 KB in float64)
            normalized = np.empty(x.size, dtype=np.float32)
            x = self.obs_norm(x, update=update, out=normalized).reshape(x.shape)
        else:
            x = x.astype(np.float32)  # frames (and the saved stack) are float32 either way
        if self.config.channels_last:  # the last axis to the front (np.moveaxis, without its checks)
            x = x.transpose(self._channels_first)
        return x

    def _assemble(self, x: np.ndarray, frames: deque, start: bool, time_value: float | None) -> np.ndarray:
        if self.config.frame_stack:
            if start:
                frames.extend([x] * self.config.frame_stack)
            else:
                frames.append(x)
            x = np.stack(frames)
        out = np.ascontiguousarray(x, dtype=np.float32)  # a copy only if needed (channels moved to the front)
        if time_value is not None:
            out = np.append(out, np.float32(time_value))
        return out

    def _vector_state(self, obs: np.ndarray, update: bool, time_value: float | None) -> np.ndarray:
        x = self._checked(obs, update)
        out = np.empty(self.output_shape, dtype=np.float32)
        if self.obs_norm is not None:
            self.obs_norm(x, update=update, out=out[:x.size])
        else:
            out[:x.size] = x
        if time_value is not None:
            out[-1] = time_value
        return out

    def _process(self, obs: np.ndarray, update: bool, frames: deque, start: bool, time_value: float | None):
        if self._vector:
            return self._vector_state(obs, update, time_value)
        return self._assemble(self._frame(obs, update), frames, start, time_value)

    def reset(self, obs: np.ndarray) -> np.ndarray:
        """First observation of an episode (it counts in the statistics). An observation holding a
        NaN or inf is refused (NonFiniteObservation) with every statistic and counter untouched."""
        state = self._process(obs, True, self.frames, True, self.time.value(0) if self.time is not None else None)
        if self.time is not None:
            self.time.reset()
        return state

    def step(self, obs: np.ndarray, reward: float, terminated: bool, truncated: bool) -> tuple[np.ndarray, float]:
        """Next observation and reward of a transition; returns what the agent learns from. An
        observation holding a NaN or inf is refused (NonFiniteObservation) before anything,
        the reward's statistics and the clock included, has taken the transition in."""
        t = self.time.value(self.time.steps + 1) if self.time is not None else None
        state = self._process(obs, True, self.frames, False, t)
        if self.time is not None:
            self.time.step()
        if self.reward_scaler is not None:
            reward = self.reward_scaler(reward, terminated or truncated)
        return state, float(reward)

    def transform(self, obs: np.ndarray, episode_start: bool) -> np.ndarray:
        """For evaluation: frozen statistics and a separate episode clock and frame stack."""
        t = None
        if self.eval_time is not None:
            t = self.eval_time.reset() if episode_start else self.eval_time.step()
        return self._process(obs, False, self.eval_frames, episode_start, t)

    def state_dict(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {}
        if self.obs_norm is not None:
            state.update({f"obs.{k}": v for k, v in self.obs_norm.stats.state_dict().items()})
        if self.reward_scaler is not None:
            state.update({f"reward.{k}": v for k, v in self.reward_scaler.state_dict().items()})
        if self.time is not None:
            state["time.steps"] = np.array(self.time.steps)
        if self.config.frame_stack and self.frames:
            state["frames"] = np.stack(self.frames)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        def sub(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if self.obs_norm is not None:
            self.obs_norm.stats.load_state_dict(sub("obs."))
        if self.reward_scaler is not None:
            self.reward_scaler.load_state_dict(sub("reward."))
        if self.time is not None:
            self.time.steps = int(state["time.steps"])
        if "frames" in state:
            self.frames.clear()
            self.frames.extend(np.array(f, dtype=np.float32) for f in state["frames"])
