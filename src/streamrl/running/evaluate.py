"""Evaluation without learning, with an optional video rendered offscreen."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import numpy as np

from streamrl.algorithms import StreamAgent
from streamrl.algorithms.agent_file import check_env_fits
from streamrl.core.extras import require
from streamrl.core.files import WriteError, atomic_path
from streamrl.envs import domain_of, make_env
from streamrl.running.console import spinner, transient_bar
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


def evaluate(agent: StreamAgent, env_id: str, episodes: int, seed: int = 0, video: Path | None = None,
             max_episode_steps: int | None = None, progress: bool = False) -> tuple[list[float], int]:
    """Returns of ``episodes`` greedy/deterministic episodes (the agent does not learn), and the
    number of video frames written; with ``progress``, a live bar of episodes and steps that
    leaves nothing behind."""
    if episodes <= 0:
        raise ValueError(f"--episodes must be positive, got {episodes}")
    options = {"render_mode": "rgb_array"} if video is not None else {}
    if max_episode_steps is not None:
        if max_episode_steps <= 0:
            raise ValueError(f"--max-episode-steps must be positive, got {max_episode_steps}")
        options["max_episode_steps"] = max_episode_steps
    if video is None:
        return _episodes(agent, env_id, episodes, seed, options, progress, None)
    imageio = require("imageio.v2", "video", "video")  # said before the episodes run, not after
    prepare_offscreen_rendering(env_id)
    # Each frame goes to the encoder as it comes, so memory stays flat however long the episodes;
    # until the end the video is a temporary file, removed on any error.
    with atomic_path(video) as tmp, _Encoder(imageio, tmp, video, VIDEO_FPS[domain_of(env_id)]) as writer:
        returns, frames = _episodes(agent, env_id, episodes, seed, options, progress, writer)
        with spinner(f"writing {video} ({frames:,} frames)", progress):
            writer.close()  # the encoder's last frames
    return returns, frames


def _episodes(agent: StreamAgent, env_id: str, episodes: int, seed: int, options: dict, progress: bool,
              writer: _Encoder | None) -> tuple[list[float], int]:
    """The episodes of :func:`evaluate`; each frame to ``writer`` when given. Returns the returns
    and the number of frames."""
    env = make_env(env_id, seed=seed, **options)
    frames = 0
    returns: list[float] = []
    bar = None
    try:
        check_env_fits(env, f"the {type(agent).__name__} agent", None, agent.observation_space, agent.action_space)
        obs, _ = env.reset(seed=seed)
        start = True
        if writer is not None:
            try:
                frame = _frame(env)
            except Exception as e:  # no OpenGL for MuJoCo, typically
                raise OSError(f"{env_id} cannot render offscreen here ({type(e).__name__}: {e}); for MuJoCo install "
                              "OSMesa (apt-get install libosmesa6) or set MUJOCO_GL=egl") from None
            writer.append_data(frame)
            frames += 1
        if progress:  # (after every check that can fail; compiling is not evaluating, so before the bar)
            warm_up(agent, learning=False)
            bar = _EpisodeBar(episodes, env_id)
        while len(returns) < episodes:
            action, _ = agent.predict(obs, deterministic=True, episode_start=start)
            obs, _, terminated, truncated, info = env.step(action)
            start = False
            if writer is not None:
                writer.append_data(_frame(env))
                frames += 1
            if terminated or truncated:
                if "episode" in info:  # a real episode end (Atari: game over, not a lost life)
                    returns.append(float(np.asarray(info["episode"]["r"]).item()))
                obs, _ = env.reset()
                start = True
            if bar is not None:
                bar.step(len(returns))
    finally:
        env.close()
        if bar is not None:
            bar.close()
    return returns, frames


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
