"""The learning-side half of each domain pipeline, with one home: inside the agent.

``make_env`` builds the environment-side half (flattening, episode statistics, action
clipping, Atari frame processing). Everything that keeps statistics the agent must save and
restore (observation normalization, reward scaling, the time feature, the Atari frame stack
that follows normalization) lives here, so it is applied exactly once whether the agent trains
on a Gymnasium env or is fed raw numbers step by step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from streamrl.envs.normalization import (
    NonFiniteObservation,
    ObservationNormalizer,
    RewardScaler,
    TimeFeature,
    all_finite,
)

REWARD_TRACE_RESETS = ("episode_end", "termination")


@dataclass(frozen=True)
class PreprocessingConfig:
    normalize_observation: bool = True
    scale_reward: bool = True
    time_limit: int | None = None  # append the time feature when set
    frame_stack: int = 0  # stack this many normalized frames (Atari)
    channels_last: bool = False  # move a trailing channel axis to the front (MinAtar)
    # when reward scaling's discounted return restarts: at every episode end (stream-x), or at a
    # termination only, carrying on across a time-limit truncation (the Intentional-updates release)
    reward_trace_reset: str = "episode_end"

    def __post_init__(self) -> None:
        if self.reward_trace_reset not in REWARD_TRACE_RESETS:
            raise ValueError(f"reward_trace_reset must be one of {', '.join(REWARD_TRACE_RESETS)}, got "
                             f"{self.reward_trace_reset!r}")

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
        if config.time_limit and (len(self.obs_shape) != 1 or config.frame_stack):
            raise ValueError(f"the time feature is appended to vector observations, not to observations of shape "
                             f"{self.obs_shape}{' stacked' if config.frame_stack else ''}: pass time_info=False to the "
                             "agent (or PreprocessingConfig(time_limit=None))")
        # a channels-last frame (MinAtar) is written channels first
        self._channels = self.obs_shape[-1] if config.channels_last else 1
        self._frame_shape = ((self.obs_shape[-1], *self.obs_shape[:-1]) if config.channels_last
                             else self.obs_shape)
        self.output_shape = self._output_shape()

    def _output_shape(self) -> tuple[int, ...]:
        shape = self._frame_shape
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

    def _frame_into(self, x: np.ndarray, out: np.ndarray, update: bool) -> None:
        """The observation, normalized (computed in float64, stored as float32: no float64 copies)
        or cast, written into the flat float32 array ``out`` channels first."""
        if self.obs_norm is not None:
            self.obs_norm.into(x, out, update, self._channels)
        else:
            out.reshape(self._frame_shape)[...] = np.moveaxis(x, -1, 0) if self._channels > 1 else x  # (cast once)

    def _process(self, obs: np.ndarray, update: bool, frames: deque, start: bool, time_value: float | None):
        x = self._checked(obs, update)
        if self.config.frame_stack:  # (Atari) a stack of normalized frames
            frame = np.empty(self._frame_shape, dtype=np.float32)
            self._frame_into(x, frame.reshape(-1), update)
            if start:
                frames.extend([frame] * self.config.frame_stack)
            else:
                frames.append(frame)
            return np.stack(frames)
        state = np.empty(self.output_shape, dtype=np.float32)
        values = state.reshape(-1)
        if time_value is not None:
            values[-1] = time_value
            values = values[:-1]
        self._frame_into(x, values, update)
        return state

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
            ends = terminated if self.config.reward_trace_reset == "termination" else terminated or truncated
            reward = self.reward_scaler(reward, ends)
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
            if self.time.steps < 0:
                raise ValueError(f"the saved time feature has counted {self.time.steps} steps")
        if "frames" in state:
            self.frames.clear()
            self.frames.extend(np.array(f, dtype=np.float32) for f in state["frames"])
