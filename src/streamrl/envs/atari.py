"""Atari frame processing (docs/method.md, "Environment pipelines"), environment side.

No-op starts, frame skip with max-pooling, life loss as terminal, FIRE on reset, 84x84 frames.
Frames come grey from the emulator (ALE's grayscale mode) and are max-pooled and resized in
grey; the reference pools in colour and converts after resizing, which differs only by rounding.
The resize is OpenCV's INTER_AREA (``cv2.resize``) reproduced bit for bit (against OpenCV's x86-64
builds, which fuse no multiply-adds), ~72 against ~110 us per frame in a training loop.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
from numba import njit


class NoopReset(gym.Wrapper):
    """Up to ``noop_max`` no-op actions after each reset, a random number of them."""

    def __init__(self, env: gym.Env, noop_max: int = 30) -> None:
        super().__init__(env)
        self.noop_max = noop_max

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        for _ in range(int(self.unwrapped.np_random.integers(1, self.noop_max + 1))):
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset()
        return obs, info


class MaxAndSkip(gym.Wrapper):
    """Repeat each action ``skip`` times, sum the rewards, max-pool the last two frames."""

    def __init__(self, env: gym.Env, skip: int = 4) -> None:
        super().__init__(env)
        self.skip = skip
        self.frames = np.zeros((2, *env.observation_space.shape), dtype=env.observation_space.dtype)

    def step(self, action):
        total, terminated, truncated, info = 0.0, False, False, {}
        for i in range(self.skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            if i >= self.skip - 2:
                self.frames[i - (self.skip - 2)] = obs
            total += float(reward)
            if terminated or truncated:
                break
        # (a binary ufunc: the same values as frames.max(axis=0), without the reduction machinery)
        return np.maximum(self.frames[0], self.frames[1]), total, terminated, truncated, info


class EpisodicLife(gym.Wrapper):
    """A lost life is a terminal for learning; the real reset happens only at game over."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.lives = 0
        self.game_over = True

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = terminated or truncated
        lives = self.unwrapped.ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        if self.game_over:
            obs, info = self.env.reset(**kwargs)
        else:  # continue the same game after a lost life
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        self.lives = self.unwrapped.ale.lives()
        return obs, info


class FireReset(gym.Wrapper):
    """Press FIRE after reset in games that wait for it."""

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            obs, info = self.env.reset(**kwargs)
        return obs, info


def _area_weights(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's INTER_AREA weights along one axis (its computeResizeAreaTab): for each target
    index in turn, the source indices its cell covers, in order, each with the fraction of the
    cell it covers (float32, as OpenCV keeps them). Returns (target index, source index, weight)."""
    scale = 1.0 / (target / source)  # as cv::resize computes it (1 / inv_scale)
    targets, sources, weights = [], [], []
    for t in range(target):
        start, end = t * scale, t * scale + scale
        cell = min(scale, source - start)
        first, last = math.ceil(start), min(math.floor(end), source - 1)
        first = min(first, last)
        covered = []
        if first - start > 1e-3:  # a partly covered source value before the whole ones
            covered.append((first - 1, (first - start) / cell))
        covered += [(i, 1.0 / cell) for i in range(first, last)]
        if end - last > 1e-3:
            covered.append((last, min(end - last, 1.0, cell) / cell))
        for i, weight in covered:
            targets.append(t)
            sources.append(i)
            weights.append(weight)
    return np.array(targets), np.array(sources), np.array(weights, dtype=np.float32)


@njit(cache=True)  # no fast-math: each value is OpenCV's sequence of float32 products and sums
def _area_resize(frame, out, column_taps, column_weights, row_targets, row_sources, row_weights, rows, values, acc):
    """OpenCV's INTER_AREA of a uint8 frame into ``out``, with its float32 operations in its order.
    Each source row is first reduced to the target width (OpenCV's per-row buffer, the columns'
    taps added in order; a column with fewer taps is padded with weight-0 taps after its own, and
    adding +0.0 to a sum of non-negative values changes nothing), once per source row where OpenCV
    recomputes a row shared by two target rows; then the target rows are the weighted sums of
    those rows in OpenCV's order, rounded half to even and saturated as its saturate_cast."""
    n_taps, width = column_taps.shape
    for y in range(frame.shape[0]):
        source_row = frame[y]
        for x in range(source_row.shape[0]):
            values[x] = np.float32(source_row[x])
        row = rows[y]
        taps, weights = column_taps[0], column_weights[0]
        for t in range(width):
            row[t] = values[taps[t]] * weights[t]
        for k in range(1, n_taps):
            taps, weights = column_taps[k], column_weights[k]
            for t in range(width):
                row[t] = row[t] + values[taps[t]] * weights[t]
    target = row_targets[0]
    acc[:] = 0.0
    for j in range(len(row_targets) + 1):
        if j == len(row_targets) or row_targets[j] != target:  # the target row is complete
            out_row = out[target]
            for t in range(width):
                out_row[t] = np.uint8(min(max(np.rint(acc[t]), np.float32(0.0)), np.float32(255.0)))
            if j == len(row_targets):
                break
            target = row_targets[j]
            acc[:] = 0.0
        weight, row = row_weights[j], rows[row_sources[j]]
        for t in range(width):
            acc[t] = acc[t] + weight * row[t]


class Resize(gym.ObservationWrapper):
    """Grey frames resized to size x size by area averaging (cv2.INTER_AREA, bit for bit)."""

    def __init__(self, env: gym.Env, size: int = 84) -> None:
        super().__init__(env)
        space = env.observation_space
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 2 and space.dtype == np.uint8):
            raise ValueError(f"Resize takes grey uint8 frames (a 2-D Box), got {space}; with ALE, make the env "
                             "with obs_type='grayscale'")
        height, width = space.shape
        if size < 1 or height < size or width < size:  # (cv2 interpolates instead when enlarging)
            raise ValueError(f"Resize only shrinks: {height}x{width} frames cannot become {size}x{size}; pass a "
                             "size between 1 and the frame's smaller side")
        if height % size == 0 and width % size == 0:
            raise ValueError(f"{height}x{width} -> {size}x{size} is an integer factor on both axes, where cv2 takes "
                             "another algorithm (its integer path) that Resize does not reproduce; use a size that "
                             "does not divide both sides (or no Resize, for frames already that size)")
        self.size, self._frame_shape = size, space.shape
        self.observation_space = gym.spaces.Box(0, 255, (size, size), dtype=np.uint8)
        columns, column_sources, column_weights = _area_weights(width, size)
        per_column = [np.flatnonzero(columns == t) for t in range(size)]  # each column's taps, in order
        n_taps = max(len(taps) for taps in per_column)
        self._column_taps = np.zeros((n_taps, size), dtype=np.int64)  # padding: source 0, weight 0
        self._column_weights = np.zeros((n_taps, size), dtype=np.float32)
        for t, taps in enumerate(per_column):
            self._column_taps[:len(taps), t], self._column_weights[:len(taps), t] = (column_sources[taps],
                                                                                   column_weights[taps])
        self._row_targets, self._row_sources, self._row_weights = _area_weights(height, size)
        self._rows = np.zeros((height, size), dtype=np.float32)
        self._values = np.zeros(width, dtype=np.float32)
        self._acc = np.zeros(size, dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        if observation.shape != self._frame_shape or observation.dtype != np.uint8:  # (the kernel checks no bounds)
            raise ValueError(f"Resize was built for {self._frame_shape[0]}x{self._frame_shape[1]} uint8 frames, got "
                             f"{observation.shape} {observation.dtype}; the env changed its frames after the wrapper "
                             "was made")
        out = np.empty((self.size, self.size), dtype=np.uint8)
        _area_resize(observation, out, self._column_taps, self._column_weights, self._row_targets, self._row_sources,
                     self._row_weights, self._rows, self._values, self._acc)
        return out


def atari_pipeline(env: gym.Env) -> gym.Env:
    """Episode statistics (real game over) -> no-op starts -> skip 4 -> life loss -> FIRE -> 84x84."""
    env = gym.wrappers.RecordEpisodeStatistics(env)
    env = NoopReset(env, noop_max=30)
    env = MaxAndSkip(env, skip=4)
    env = EpisodicLife(env)
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = FireReset(env)
    return Resize(env, 84)
