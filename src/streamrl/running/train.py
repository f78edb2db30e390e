"""A training run on disk: config, episode log, checkpoints with exact resume, summary, final
agent and learning curve.

Checkpoints are taken at episode ends (the first one after every ``checkpoint_every`` steps).
There every algorithm has just cleared its traces, so the agent file, the environment's random
state (saved before its next reset) and the episodes so far are the whole state of the run: a
run resumed from any checkpoint ends with the same episode log and the same final weights as the
uninterrupted run. On Ctrl-C or SIGTERM the run goes on to the end of the current episode (at
most ``GRACE_STEPS`` more steps), checkpoints there and stops; a second signal stops at once,
keeping the previous checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from streamrl.algorithms import ALGORITHMS, Episode, StreamAgent
from streamrl.algorithms.agent_file import read_metadata
from streamrl.core.files import WriteError, remove_temporaries, write_csv, write_json
from streamrl.core.progress import ProgressBar
from streamrl.core.tensorboard import ScalarLog, tensorboardx
from streamrl.envs import make_env
from streamrl.envs.random_state import get_random_state, set_random_state
from streamrl.running.progress import ProgressFile
from streamrl.running.signals import SignalFlag
from streamrl.running.warm_up import warm_up

RUN_FILES = ("config.json", "episodes.csv", "timing.csv", "summary.json", "agent.safetensors",
             "learning_curve.png", "checkpoint.safetensors")
CHECKPOINT = "checkpoint.safetensors"
LOCK = ".run.lock"  # held by the process that trains the run (see run_lock)
GRACE_STEPS = 20_000


class Interrupted(Exception):
    """The run stopped on a signal; ``checkpoint_step`` is where it can resume (None: nowhere)."""

    def __init__(self, step: int, checkpoint_step: int | None) -> None:
        super().__init__(step, checkpoint_step)
        self.step, self.checkpoint_step = step, checkpoint_step


@dataclass
class RunResult:
    out_dir: Path
    episodes: list[Episode]
    wall_time: float


RUN_CONFIG_KEYS = ("algorithm", "env_id", "steps", "seed")
RUN_CONFIG_TYPES = {"algorithm": str, "env_id": str, "steps": int, "seed": int, "checkpoint_every": int, "label": str,
                    "agent": dict}


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The config.json of a run folder, checked to hold what a run needs."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a run folder (no config.json): give the --out folder of a 'streamrl train'")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is corrupted ({e}); train the run again") from None
    missing = [key for key in RUN_CONFIG_KEYS if not isinstance(config, dict) or key not in config]
    if missing:
        raise ValueError(f"{path} is corrupted (no {missing[0]!r}); train the run again")
    for key, kind in RUN_CONFIG_TYPES.items():  # a hand-edited "steps": "60000" would fail deep in the run
        value = config.get(key)
        if key in config and (not isinstance(value, kind) or isinstance(value, bool)
                              or (key in ("steps", "checkpoint_every") and value <= 0)):
            what = {int: "an integer", str: "a string", dict: "a table of agent options"}[kind]
            what = "a positive integer" if key in ("steps", "checkpoint_every") else what
            raise ValueError(f"{path} is corrupted ({key!r} must be {what}, got {value!r}); put the value back "
                             "or train the run again")
    return config


_held: dict[str, int] = {}  # run folders this process owns -> depth (train_run inside the CLI's own lock)


@contextlib.contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
    """Own the run folder ``out_dir`` for the block: an exclusive flock of ``out_dir/.run.lock``,
    which the kernel drops when the process dies, so a killed run's lock file blocks nobody. The
    file holds the owner's PID for a second process's message, and goes at the end; folders the
    lock had to make go too if nothing else was written in them. Reentrant within a process."""
    import fcntl

    key = os.path.realpath(out_dir)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    made = [p for p in (out_dir, *out_dir.parents) if not p.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK
    try:
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as e:
                raise WriteError(e.errno, e.strerror, str(path)) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 32).decode(errors="replace").strip()
                os.close(fd)
                who, stop = (f"process {owner}", f" (kill {owner})") if owner.isdigit() else ("another process", "")
                raise ValueError(f"{out_dir} is in use: {who} is training a run there (it holds {path}); wait for "
                                 f"it to end or stop it{stop}") from None
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break  # (else the owner removed the file as we opened it: lock the file now there)
            os.close(fd)
        with contextlib.suppress(OSError):  # the PID only serves the message: a full disk does not stop the run
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
            path.unlink(missing_ok=True)  # while still locked: a waiting process then sees the file gone
            os.close(fd)
    finally:
        for folder in made:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()


def run_identity(config: dict[str, Any]) -> dict[str, Any]:
    """What tells a run from another, from its config.json: the algorithm, the env, the seed and a
    SHA-256 of the agent options (canonical JSON). The run's checkpoints and agent file carry it."""
    options = json.dumps(config.get("agent"), sort_keys=True, separators=(",", ":"))
    return {"algorithm": config["algorithm"], "env_id": config["env_id"], "seed": config["seed"],
            "agent_config_sha256": hashlib.sha256(options.encode()).hexdigest()}


RUN_IDENTITY = "run_identity"  # the agent file's metadata entry (a checkpoint's is in its run state)
IDENTITY_KINDS = {"algorithm": str, "env_id": str, "seed": int, "agent_config_sha256": str}
# the run state of a checkpoint: entry -> its kind (and whether every checkpoint has it)
RUN_STATE_KINDS = {"env_random_state": (dict, True), "episodes": (list, True), "timing": (list, True),
                   "wall_time": ((int, float), True), "identity": (dict, False)}


def check_run_agent(path: Path, config: dict[str, Any]) -> None:
    """Refuse an agent file in a run folder that belongs to another run (copied in, it would
    resume or evaluate the wrong agent): another algorithm or env, or, for a file that carries its
    run's identity, another seed or other agent options."""
    metadata = read_metadata(path)
    saved, run = (metadata["algorithm"], metadata["env_id"]), (config["algorithm"], config["env_id"])
    if saved != run:
        raise ValueError(f"{path} holds an agent trained with {saved[0]} on {saved[1] or 'an unnamed env'}, but "
                         f"the run trains {run[0]} on {run[1]} (config.json): the file comes from another run; put "
                         "the run's own file back or train the run again")
    if "run" in metadata:
        identity = _checked_run_state(path, metadata["run"]).get("identity")
    else:
        identity = _checked_identity(path, metadata[RUN_IDENTITY]) if RUN_IDENTITY in metadata else None
    if identity is None:  # written before files carried their run's identity
        return
    mine = run_identity(config)
    differ = next((f"{word} {identity[key]}; this run's config.json says {word} {mine[key]}"
                   for key, word in (("algorithm", "algorithm"), ("env_id", "env"), ("seed", "seed"))
                   if identity[key] != mine[key]), None)
    if differ is None and identity["agent_config_sha256"] != mine["agent_config_sha256"]:
        differ = _options_differ(json.loads(metadata["config"]), config.get("agent"))
    if differ is not None:
        what = "checkpoint" if "run" in metadata else "agent file"
        raise ValueError(f"{path} belongs to another run ({differ}): put the run's own {what} back or train the run "
                         "again")


def _options_differ(saved: dict[str, Any], run: Any) -> str:
    """The first agent option in which a file's saved config and the run's config.json differ."""
    run = run if isinstance(run, dict) else {}
    key = next((k for k in sorted(set(saved) | set(run)) if saved.get(k, ...) != run.get(k, ...)), None)
    if key is None:
        return "other agent options than this run's config.json"
    theirs, ours = (f"{key} {json.dumps(options[key])}" if key in options else f"no {key}" for options in (saved, run))
    return f"{theirs}; this run's config.json says {ours}"


def read_run_state(path: Path) -> dict[str, Any]:
    """The run state of a training checkpoint, checked to be of the form a run writes."""
    metadata = read_metadata(path)
    if "run" not in metadata:
        raise ValueError(f"{path} is an agent file, not a training checkpoint")
    return _checked_run_state(path, metadata["run"])


def _refuse(path: Path, what: str) -> NoReturn:
    raise ValueError(f"{path}: {what}; the file is damaged or was edited: put the run's own file back or train the "
                     "run again")


def _non_negative(value: Any, integer: bool = False) -> bool:
    return isinstance(value, int if integer else (int, float)) and not isinstance(value, bool) and value >= 0


def _checked_run_state(path: Path, text: str) -> dict[str, Any]:
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as e:  # (JSONDecodeError is a ValueError; so is a 5,000-digit number)
        _refuse(path, f"its run state is not JSON ({e})")
    if not isinstance(state, dict):
        _refuse(path, "its run state is not a table")
    for key, (kind, required) in RUN_STATE_KINDS.items():
        if key not in state and required:
            _refuse(path, f"its run state has no {key!r}")
        if key in state and (not isinstance(state[key], kind) or isinstance(state[key], bool)):
            _refuse(path, f"its run state's {key!r} is not a {({dict: 'table', list: 'list'}).get(kind, 'number')}")
    unknown = sorted(set(state) - set(RUN_STATE_KINDS))
    if unknown:
        _refuse(path, f"its run state has an unknown entry {unknown[0]!r}")
    for key, form in (("episodes", "[end step, return, length]"), ("timing", "[end step, wall time]")):
        n = form.count(",") + 1
        for row in state[key]:
            if not (isinstance(row, list) and len(row) == n and _non_negative(row[0], integer=True)
                    and isinstance(row[1], (int, float)) and not isinstance(row[1], bool)
                    and (n == 2 or _non_negative(row[2], integer=True))):
                _refuse(path, f"its run state's {key} include {str(row)[:40]}, not {form}")
    if not _non_negative(state["wall_time"]):
        _refuse(path, f"its run state's wall time is {state['wall_time']!r}")
    if "identity" in state:
        _checked_identity(path, state["identity"])
    return state


def _checked_identity(path: Path, identity: Any) -> dict[str, Any]:
    if isinstance(identity, str):  # (an agent file's entry is a string of JSON)
        try:
            identity = json.loads(identity)
        except (ValueError, RecursionError):
            identity = None
    if not (isinstance(identity, dict) and set(identity) == set(IDENTITY_KINDS)
            and all(isinstance(identity[k], kind) and not isinstance(identity[k], bool)
                    for k, kind in IDENTITY_KINDS.items())):
        _refuse(path, "the run identity it carries is not {algorithm, env_id, seed, agent_config_sha256}")
    return identity


def train_run(algorithm: str, env_id: str, steps: int, seed: int, out_dir: Path,
              agent_options: dict[str, Any] | None = None, progress: bool = True,
              checkpoint_every: int = 10_000, resume: bool = False, tensorboard: bool = True,
              label: str | None = None, progress_file: Path | None = None) -> RunResult:
    """Train ``algorithm`` on ``env_id`` up to ``steps`` steps in ``out_dir`` (or resume there).

    ``label`` names the run's group in reports (default: the algorithm). ``progress_file``, when
    given, is rewritten atomically every few seconds with the step count, for a sweep that
    watches many runs. The run owns ``out_dir`` throughout (:func:`owned_run_folder`)."""
    with owned_run_folder(out_dir, progress_file):
        return _train_run(algorithm, env_id, steps, seed, out_dir, agent_options, progress, checkpoint_every, resume,
                          tensorboard, label, progress_file)


@contextlib.contextmanager
def owned_run_folder(out_dir: Path, progress_file: Path | None = None) -> Iterator[None]:
    """``out_dir`` owned by this process for the block (:func:`run_lock`: a second run there is
    refused), cleared of the temporary files of writes killed in an earlier run. A write that fails
    in the block (a full disk, say) ends it with an :class:`OSError` naming the file and the
    checkpoint kept; summary.json, the mark of a finished run, is written last."""
    with run_lock(out_dir):
        # no one else writes these names now
        names = [*RUN_FILES, *([progress_file.name] if progress_file is not None
                               and Path(progress_file).parent.resolve() == out_dir.resolve() else [])]
        remove_temporaries(out_dir, names)
        try:
            yield
        except WriteError as e:
            raise write_failed(e, out_dir) from None


def write_failed(error: WriteError, out_dir: Path) -> OSError:
    """A write of a run that failed: the file and why, what is kept and how to go on, in one line."""
    fix = ("free space" if error.errno in (errno.ENOSPC, errno.EDQUOT)
           else f"make {out_dir} writable" if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else "fix that")
    try:  # the checkpoint on disk, as a resume would find it
        step = json.loads(read_metadata(out_dir / CHECKPOINT)["counters"])["num_steps"]
    except (ValueError, KeyError, TypeError):
        step = None
    if isinstance(step, int):
        then = (f"the last checkpoint, at step {step:,}, is kept: {fix} and resume with streamrl train --resume "
                f"{out_dir}")
    else:
        then = f"the run has no checkpoint to resume from: {fix} and start it again (with --overwrite)"
    failed = OSError(f"{error}; {then}")
    failed.errno = error.errno
    return failed


def _train_run(algorithm: str, env_id: str, steps: int, seed: int, out_dir: Path, agent_options: dict[str, Any] | None,
               progress: bool, checkpoint_every: int, resume: bool, tensorboard: bool, label: str | None,
               progress_file: Path | None) -> RunResult:
    """:func:`train_run` in its owned folder."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    if steps <= 0:
        raise ValueError(f"--steps must be a positive number of steps, got {steps}")
    if checkpoint_every <= 0:
        raise ValueError(f"--checkpoint-every must be positive, got {checkpoint_every}")
    env = make_env(env_id, seed=seed)
    if resume:
        if not (out_dir / CHECKPOINT).is_file():
            how = "finished" if (out_dir / "summary.json").is_file() else "stopped"
            raise ValueError(f"{out_dir} has no checkpoint to continue from: the run {how} before its first one (taken "
                             f"at the first episode end after every --checkpoint-every steps); start it again with "
                             f"--overwrite")
        config = read_run_config(out_dir)
        check_run_agent(out_dir / CHECKPOINT, config)
        run_state = read_run_state(out_dir / CHECKPOINT)
        # the env continues where the checkpoint left it: its next reset draws from its own random stream
        agent = ALGORITHMS[algorithm].load(out_dir / CHECKPOINT, env=env, env_started=True)
        try:
            set_random_state(env, run_state["env_random_state"])
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as e:
            _refuse(out_dir / CHECKPOINT, f"its environment random state does not fit {env_id} ({e})")
        episodes = [Episode(*e) for e in run_state["episodes"]]
        timing = [list(t) for t in run_state["timing"]]
        wall_before = run_state["wall_time"]
    else:
        try:
            agent = ALGORITHMS[algorithm](env, seed=seed, **(agent_options or {}))
        except TypeError as e:  # a --set value of the wrong kind reaches the agent's arithmetic
            raise ValueError(f"bad agent option value ({e}); check the --set values") from None
        episodes, timing, wall_before = [], [], 0.0
    remaining = steps - agent.num_steps
    # (none left on resume: the checkpoint is at the last step and the results were not all written)
    if remaining < 0 or remaining == 0 and not resume:
        raise ValueError(f"the run in {out_dir} already has {agent.num_steps:,} of its {steps:,} steps")
    if tensorboard:  # a missing extra is said before anything is written
        tensorboardx()
    # Compiling is not training: it stays out of the timing and the bar. It comes before anything
    # is written, so a Ctrl-C during a first run's ~30 s of compiling leaves no run folder behind.
    warm_up(agent, show=progress)
    if not resume:
        config = {"algorithm": algorithm, "env_id": env_id, "steps": steps, "seed": seed,
                  "checkpoint_every": checkpoint_every, "label": label or algorithm, "agent": agent.config()}
        start_run_folder(out_dir, config)
    elif config["steps"] != steps:  # an extended run: plots and later resumes read the new length
        (out_dir / "summary.json").unlink(missing_ok=True)  # and it is not finished before its new end
        write_json(out_dir / "config.json", {**config, "steps": steps})
    identity = run_identity(config)  # (config.json's: a resumed run keeps the identity it started with)
    start = time.perf_counter()
    next_checkpoint = (agent.num_steps // checkpoint_every + 1) * checkpoint_every
    last_checkpoint = agent.num_steps if resume else None

    def checkpoint() -> None:
        nonlocal last_checkpoint
        run_state = {"env_random_state": get_random_state(env), "episodes": [list(vars(e).values()) for e in episodes],
                     "timing": timing, "wall_time": wall_before + time.perf_counter() - start, "identity": identity}
        agent.save(out_dir / CHECKPOINT, extra_metadata={"run": json.dumps(run_state)})
        last_checkpoint = agent.num_steps

    display = ProgressBar(steps, agent.num_steps, algorithm, env_id) if progress else None
    reporter = ProgressFile(progress_file, steps) if progress_file is not None else None
    scalars = None
    if tensorboard:
        scalars = ScalarLog(out_dir / "tensorboard", purge_step=agent.num_steps + 1 if resume else None)
    with SignalFlag() as interrupt:
        def on_step(agent: StreamAgent, info: Any, episode: Episode | None) -> bool | None:
            nonlocal next_checkpoint
            if interrupt.at_step == -1:
                interrupt.at_step = agent.num_steps
            if scalars is not None:
                scalars.step(agent.num_steps, info)
                if episode is not None:
                    scalars.episode(episode)
            if episode is not None:
                episodes.append(episode)
                timing.append([episode.end_step, round(wall_before + time.perf_counter() - start, 3)])
                if agent.num_steps >= next_checkpoint or interrupt.at_step is not None:
                    checkpoint()
                    next_checkpoint = (agent.num_steps // checkpoint_every + 1) * checkpoint_every
            if display is not None:
                display.update(agent, episode, episodes)
            if reporter is not None and agent.num_steps % 256 == 0:
                reporter.update(agent.num_steps)
            if interrupt.at_step is not None and (episode is not None
                                                  or agent.num_steps - interrupt.at_step >= GRACE_STEPS):
                return False
            return None

        try:
            if remaining:
                agent.learn(remaining, callback=on_step)
        except KeyboardInterrupt:  # a second signal: stop now, keep the previous checkpoint
            raise Interrupted(agent.num_steps, last_checkpoint) from None
        except ValueError as e:  # e.g. the env produced NaN: name it, and where the run can restart
            where = (f"the last checkpoint is at step {last_checkpoint:,} (streamrl train --resume {out_dir})"
                     if last_checkpoint is not None else "no checkpoint was taken yet")
            raise ValueError(f"{e}; the run stopped, {where}") from None
        finally:
            for resource in (env, display, scalars):
                if resource is not None:
                    resource.close()
    if interrupt.at_step is not None:
        raise Interrupted(agent.num_steps, last_checkpoint)
    if reporter is not None:
        reporter.update(agent.num_steps, final=True)
    wall = wall_before + time.perf_counter() - start
    agent.save(out_dir / "agent.safetensors", extra_metadata={RUN_IDENTITY: json.dumps(identity)})
    write_results(out_dir, episodes, timing, agent.num_steps, wall, f"{ALGORITHMS[algorithm].__name__} on {env_id}")
    return RunResult(out_dir, episodes, wall)


def start_run_folder(out_dir: Path, config: dict[str, Any]) -> None:
    """Make ``out_dir`` without an earlier run's files, and write its config.json."""
    from streamrl.core.version import __version__

    out_dir.mkdir(parents=True, exist_ok=True)
    # a rerun with --overwrite must not leave the old results beside the new; summary.json first, so
    # that a folder is never marked finished without its files
    for name in sorted(RUN_FILES, key=lambda name: name != "summary.json"):
        (out_dir / name).unlink(missing_ok=True)
    if (out_dir / "tensorboard").is_dir():
        import shutil

        shutil.rmtree(out_dir / "tensorboard")
    write_json(out_dir / "config.json", {**config, "streamrl_version": __version__})


def write_results(out_dir: Path, episodes: list[Episode], timing: list[list[Any]], steps: int, wall: float,
                  title: str) -> None:
    """The end of a finished run: episodes.csv, timing.csv, the learning curve and summary.json."""
    write_csv(out_dir / "episodes.csv", ["end_step", "return", "length"],
              [[e.end_step, f"{e.episode_return:.6g}", e.length] for e in episodes])
    write_csv(out_dir / "timing.csv", ["end_step", "wall_time"], timing)
    returns = [e.episode_return for e in episodes]
    if returns:
        from streamrl.running.figures import learning_curve

        learning_curve(episodes, out_dir / "learning_curve.png", title)
    # last: summary.json says the run is finished (to 'streamrl train', sweeps and reports)
    write_json(out_dir / "summary.json", {
        "steps": steps, "episodes": len(episodes), "wall_time_s": round(wall, 3),
        "steps_per_second": round(steps / wall, 1),
        "mean_return_last_10": float(np.mean(returns[-10:])) if returns else None,
        "best_return": max(returns) if returns else None})
