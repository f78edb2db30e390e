"""Evaluation without learning: :func:`evaluate` (``streamrl.evaluate``) on any env, and
``streamrl eval``'s episodes on a new env, with an optional video rendered offscreen."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import gymnasium as gym
import numpy as np

from streamrl.algorithms import StreamAgent
from streamrl.algorithms.agent_file import check_env_fits
from streamrl.algorithms.base import as_env, episode_from_info, reports_episodes
from streamrl.core.console import spinner, transient_bar
from streamrl.core.extras import require
from streamrl.core.files import WriteError, atomic_path
from streamrl.envs import domain_of, make_env
from streamrl.running.warm_up import warm_up

VIDEO_FPS = {"classic": 50, "mujoco": 50, "dmc": 50, "minatar": 15, "atari": 30}


def prepare_offscreen_rendering(env_id: str) -> None:
    """MuJoCo renders without a display through OSMesa, pygame through SDL's dummy driver; choose
    them unless the user chose otherwise."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if domain_of(env_id) in ("mujoco", "dmc") and "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = "osmesa"
        os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
        try:
            import mujoco  # noqa: F401  (it sets up OpenGL as MUJOCO_GL says when first imported)
        except ModuleNotFoundError:  # (make_env names the missing extra)
            pass
        except Exception as e:  # no OSMesa library, typically: PyOpenGL fails inside mujoco's import
            raise OSError(f"{env_id} cannot render offscreen here: importing mujoco with MUJOCO_GL=osmesa failed "
                          f"({type(e).__name__}: {e}); install OSMesa (apt-get install libosmesa6) or set "
                          "MUJOCO_GL=egl") from None


def _frame(env) -> np.ndarray:
    frame = np.asarray(env.render())
    if frame.dtype != np.uint8:  # MinAtar renders floats in [0, 1] at 10x10
        frame = (np.clip(frame, 0, 1) * 255).astype(np.uint8)
    if frame.shape[0] < 100:  # upscale tiny frames so the video is watchable
        scale = 320 // frame.shape[0]
        frame = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    return frame


def evaluate(agent: StreamAgent, env: gym.Env | str, n_episodes: int = 10, deterministic: bool = True,
             seed: int | None = None, return_lengths: bool = False) -> list[float] | tuple[list[float], list[int]]:
    """The raw returns of ``n_episodes`` episodes of ``agent`` acting on ``env`` without learning,
    as Stable-Baselines3's ``evaluate_policy(..., return_episode_rewards=True)`` gives them; with
    ``return_lengths``, ``(returns, lengths)``.

    ``env``: an env of its own (not the agent's training env, whose episode learn() goes on
    with), or an env id, which ``make_env(id, seed=seed)`` makes. ``seed`` seeds the first reset.
    The agent does not change: a copy of it acts (predict() with ``deterministic``), so its
    weights, statistics, counters and random streams are as they were. Episodes are the env's
    own where it reports them (make_env's pipelines: on Atari a game over, not a lost life),
    else counted from one terminal or truncated step to the next."""
    if not isinstance(n_episodes, (int, np.integer)) or isinstance(n_episodes, bool) or n_episodes <= 0:
        raise ValueError(f"n_episodes must be a positive integer, got {n_episodes!r}")
    if env is not None and env is agent.env:
        raise ValueError("evaluate() needs an env of its own: the agent's env holds the episode learn() goes on "
                         "with; pass another env, or the env id")
    made = isinstance(env, str)
    env = as_env(env, seed)
    try:
        spec = getattr(agent.env, "spec", None)
        check_env_fits(env, f"the {type(agent).__name__} agent", spec.id if spec is not None else None,
                       agent.observation_space, agent.action_space)
        returns, lengths, _ = _episodes(agent._twin(), env, int(n_episodes), seed, deterministic)
    finally:
        if made:
            env.close()
    return (returns, lengths) if return_lengths else returns


def evaluate_run(agent: StreamAgent, env_id: str, episodes: int, seed: int = 0, video: Path | None = None,
                 max_episode_steps: int | None = None, progress: bool = False) -> tuple[list[float], int]:
    """``streamrl eval``: the returns of ``episodes`` deterministic episodes of ``agent`` (which
    does not learn) on a new ``env_id`` env, and the number of video frames written; with
    ``progress``, a live bar of episodes and steps that leaves nothing behind."""
    if episodes <= 0:
        raise ValueError(f"--episodes must be positive, got {episodes}")
    options = {"render_mode": "rgb_array"} if video is not None else {}
    if max_episode_steps is not None:
        if max_episode_steps <= 0:
            raise ValueError(f"--max-episode-steps must be positive, got {max_episode_steps}")
        options["max_episode_steps"] = max_episode_steps
    if video is None:
        return _run_episodes(agent, env_id, episodes, seed, options, progress, None)
    imageio = require("imageio.v2", "video", "video")  # said before the episodes run, not after
    prepare_offscreen_rendering(env_id)
    # Each frame goes to the encoder as it comes, so memory stays flat however long the episodes;
    # until the end the video is a temporary file, removed on any error.
    with atomic_path(video) as tmp, _Encoder(imageio, tmp, video, VIDEO_FPS[domain_of(env_id)]) as writer:
        returns, frames = _run_episodes(agent, env_id, episodes, seed, options, progress, writer)
        with spinner(f"writing {video} ({frames:,} frames)", progress):
            writer.close()  # the encoder's last frames
    return returns, frames


def _run_episodes(agent: StreamAgent, env_id: str, episodes: int, seed: int, options: dict, progress: bool,
                  writer: _Encoder | None) -> tuple[list[float], int]:
    """The episodes of :func:`evaluate_run` on a new env; returns the returns and the number of frames."""
    env = make_env(env_id, seed=seed, **options)
    try:
        check_env_fits(env, f"the {type(agent).__name__} agent", None, agent.observation_space, agent.action_space)
        returns, _, frames = _episodes(agent, env, episodes, seed, True, progress, writer)
    finally:
        env.close()
    return returns, frames


def _episodes(agent: StreamAgent, env: gym.Env, episodes: int, seed: int | None, deterministic: bool,
              progress: bool = False, writer: _Encoder | None = None) -> tuple[list[float], list[int], int]:
    """``episodes`` episodes of ``agent``'s predictions on ``env`` (first reset with ``seed``), each
    frame to ``writer`` when given: their returns, their lengths and the number of frames."""
    name = env.spec.id if getattr(env, "spec", None) is not None else type(env.unwrapped).__name__
    counting = not reports_episodes(env)
    frames = 0
    returns: list[float] = []
    lengths: list[int] = []
    bar = None
    try:
        obs, _ = env.reset(seed=seed)
        start = True
        if writer is not None:
            try:
                frame = _frame(env)
            except Exception as e:  # no OpenGL for MuJoCo, typically
                raise OSError(f"{name} cannot render offscreen here ({type(e).__name__}: {e}); for MuJoCo install "
                              "OSMesa (apt-get install libosmesa6) or set MUJOCO_GL=egl") from None
            writer.append_data(frame)
            frames += 1
        if progress:  # (after every check that can fail; compiling is not evaluating, so before the bar)
            warm_up(agent, learning=False)
            bar = _EpisodeBar(episodes, name)
        episode_return, episode_length = 0.0, 0
        while len(returns) < episodes:
            action, _ = agent.predict(obs, deterministic=deterministic, episode_start=start)
            obs, reward, terminated, truncated, info = env.step(action)
            start = False
            if counting:
                episode_return += float(reward)
                episode_length += 1
            if writer is not None:
                writer.append_data(_frame(env))
                frames += 1
            if terminated or truncated:
                ended = episode_from_info(info)  # a real episode end (Atari: game over, not a lost life)
                if counting:
                    ended = ended or (episode_return, episode_length)
                    episode_return, episode_length = 0.0, 0
                if ended is not None:
                    returns.append(ended[0])
                    lengths.append(ended[1])
                obs, _ = env.reset()
                start = True
            if bar is not None:
                bar.step(len(returns))
    finally:
        if bar is not None:
            bar.close()
    return returns, lengths, frames


class _Encoder:
    """imageio's ffmpeg writer of a video, whose failure is one line naming the video. ffmpeg
    says why it stopped on stderr; imageio reports a broken pipe over many lines; a full disk, the
    usual cause, shows in the free space left."""

    def __init__(self, imageio, tmp: str, video: Path, fps: int) -> None:
        self.writer = imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1)
        self.video = video

    def append_data(self, frame: np.ndarray) -> None:
        try:
            self.writer.append_data(frame)
        except OSError:
            raise self._failed() from None

    def close(self) -> None:
        try:
            self.writer.close()
        except OSError:
            raise self._failed() from None

    def _failed(self) -> WriteError:
        folder = os.statvfs(os.path.dirname(os.path.abspath(self.video)))
        if folder.f_bavail * folder.f_frsize < 2**20:  # (the partial video is still there)
            return WriteError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.video))
        return WriteError(errno.EPIPE, "the ffmpeg encoder stopped; its messages above say why", str(self.video))

    def __enter__(self) -> "_Encoder":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.close()
        else:  # (the error that stopped the episodes is the one to tell)
            with contextlib.suppress(Exception):
                self.writer.close()


class _EpisodeBar:
    """Episodes done of those asked for, and the steps taken, refreshed a few times a second."""

    def __init__(self, episodes: int, env_id: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        self.progress = transient_bar(TextColumn(f"[bold]eval {env_id}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("episodes, {task.fields[steps]:,} steps"), TimeElapsedColumn())
        self.task = self.progress.add_task("", total=episodes, steps=0)
        self.steps = self.episodes = 0
        self.progress.start()

    def step(self, episodes_done: int) -> None:
        self.steps += 1
        if self.steps % 100 == 0 or episodes_done != self.episodes:
            self.episodes = episodes_done
            self.progress.update(self.task, completed=episodes_done, steps=self.steps)

    def close(self) -> None:
        self.progress.stop()
