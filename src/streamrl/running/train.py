"""A training run on disk: config, episode log, summary, final agent and learning curve."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streamrl.algorithms import ALGORITHMS, Episode, StreamAgent
from streamrl.envs import make_env
from streamrl.running.files import atomic_path


RUN_FILES = ("config.json", "episodes.csv", "summary.json", "agent.safetensors", "learning_curve.png")


@dataclass
class RunResult:
    out_dir: Path
    episodes: list[Episode]
    wall_time: float


def write_json(path: Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2) + "\n")


def train_run(algorithm: str, env_id: str, steps: int, seed: int, out_dir: Path,
              agent_options: dict[str, Any] | None = None, progress: bool = True) -> RunResult:
    """Train ``algorithm`` on ``env_id`` for ``steps`` steps and write the run folder."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    if steps <= 0:
        raise ValueError(f"--steps must be a positive number of steps, got {steps}")
    env = make_env(env_id, seed=seed)
    try:
        agent: StreamAgent = ALGORITHMS[algorithm](env, seed=seed, **(agent_options or {}))
    except TypeError as e:  # a --set value of the wrong kind reaches the agent's arithmetic
        raise ValueError(f"bad agent option value ({e}); check the --set values") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:  # a rerun with --overwrite must not leave the old results beside the new
        (out_dir / name).unlink(missing_ok=True)
    from streamrl import __version__

    write_json(out_dir / "config.json", {"algorithm": algorithm, "env_id": env_id, "steps": steps, "seed": seed,
                                         "agent": agent.config(), "streamrl_version": __version__})
    episodes: list[Episode] = []
    start = time.perf_counter()
    log_path = out_dir / "episodes.csv"
    with atomic_path(log_path) as tmp, open(tmp, "w", newline="") as log:
        writer = csv.writer(log)
        writer.writerow(["end_step", "return", "length", "wall_time"])
        display = _Progress(steps, algorithm, env_id) if progress else None

        def on_step(agent: StreamAgent, info: Any, episode: Episode | None) -> None:
            if episode is not None:
                episodes.append(episode)
                writer.writerow([episode.end_step, f"{episode.episode_return:.6g}", episode.length,
                                 f"{time.perf_counter() - start:.3f}"])
            if display is not None:
                display.update(agent, episode, episodes)

        try:
            agent.learn(steps, callback=on_step)
        finally:
            env.close()
            if display is not None:
                display.close()
        log.flush()
    wall = time.perf_counter() - start
    agent.save(out_dir / "agent.safetensors")
    returns = [e.episode_return for e in episodes]
    write_json(out_dir / "summary.json", {
        "steps": agent.num_steps, "episodes": len(episodes), "wall_time_s": round(wall, 3),
        "steps_per_second": round(agent.num_steps / wall, 1),
        "mean_return_last_10": float(np.mean(returns[-10:])) if returns else None,
        "best_return": max(returns) if returns else None})
    if returns:
        from streamrl.running.plots import learning_curve

        learning_curve(episodes, out_dir / "learning_curve.png", f"{ALGORITHMS[algorithm].__name__} on {env_id}")
    return RunResult(out_dir, episodes, wall)


class _Progress:
    """A live bar: steps, steps/s, ETA, last and mean episodic return, epsilon where it applies."""

    def __init__(self, total: int, algorithm: str, env_id: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]} steps/s"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[stats]}"), refresh_per_second=4)
        self.task = self.progress.add_task(f"{algorithm} {env_id}", total=total, rate="-", stats="")
        self.progress.start()
        self.start, self.done = time.perf_counter(), 0

    def update(self, agent: StreamAgent, episode: Episode | None, episodes: list[Episode]) -> None:
        self.done += 1
        if self.done % 200 and episode is None:
            return
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        stats = ""
        if episodes:
            recent = [e.episode_return for e in episodes[-10:]]
            stats = f"return last {episodes[-1].episode_return:.1f} mean10 {np.mean(recent):.1f}"
        if hasattr(agent, "epsilon"):
            stats += f" eps {agent.epsilon:.3f}"
        self.progress.update(self.task, completed=self.done, rate=f"{rate:,.0f}", stats=stats)

    def close(self) -> None:
        self.progress.update(self.task, completed=self.done)
        self.progress.stop()
