"""Steps per second of the paper authors' reference scripts, as the README's comparison measured them.

    python benchmarks/authors_reference.py SCRIPTS [--steps N] [--repeats K] [--only WORKLOAD ...]

SCRIPTS is a folder holding the authors' scripts (a clone of
https://github.com/mohmdelsayed/streaming-drl: stream_q.py, stream_ac_discrete.py,
stream_q_minatar.py, stream_ac_continuous.py, stream_q_atari.py and the modules they import).
They are not part of streamrl and are not fetched: give a folder you have. They run unmodified,
with their own defaults and seed 0, each repeat in a fresh process; what Gymnasium 1.x renamed or
changed since they were written is bridged here, at run time:

- RecordEpisodeStatistics reports an episode's return as a number; the scripts index it ([0]).
- MinAtar and ALE register their environment ids on request.
- GrayScaleObservation is now GrayscaleObservation; FrameStack(env, 4) is now
  FrameStackObservation(env, stack_size=4), which stacks into the space's declared dtype (uint8
  for Atari frames): the space is declared float64, as the normalized frames it stacks are. It
  gives an array where the old one gave LazyFrames, so the Atari script's sample_action() takes
  its ndarray branch (one more tensor conversion a step, against a step of ~5 ms).

The clock runs from the agent's first sample_action() to the env.close() that follows the
script's step loop: environment and network construction, the seeded reset and saving the
results stay out. Needs torch, and the extras of the environments measured.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import resource
import statistics
import subprocess
import sys
import time

WORKLOADS = {  # name: (script, env id, default steps)
    "q_cartpole": ("stream_q", "CartPole-v1", 5000),
    "ac_cartpole": ("stream_ac_discrete", "CartPole-v1", 3000),
    "q_minatar": ("stream_q_minatar", "MinAtar/Breakout-v1", 5000),
    "ac_halfcheetah": ("stream_ac_continuous", "HalfCheetah-v5", 5000),
    "q_atari": ("stream_q_atari", "BreakoutNoFrameskip-v4", 1500),
}


def _bridge_gymnasium(env_id: str) -> None:
    """What the scripts call, as Gymnasium 1.x provides it (see the module's docstring); only the
    engine ``env_id`` needs is imported, as the peak memory counts it."""
    import gymnasium as gym
    import numpy as np

    class EpisodeStatisticsAsArrays(gym.wrappers.RecordEpisodeStatistics):
        def step(self, action):
            obs, reward, terminated, truncated, info = super().step(action)
            if "episode" in info:
                info["episode"] = {key: np.array([value]) for key, value in info["episode"].items()}
            return obs, reward, terminated, truncated, info

    def frame_stack(env, num_stack):
        env.observation_space = gym.spaces.Box(-np.inf, np.inf, env.observation_space.shape, np.float64)
        return gym.wrappers.FrameStackObservation(env, stack_size=num_stack)

    gym.wrappers.RecordEpisodeStatistics = EpisodeStatisticsAsArrays
    gym.wrappers.GrayScaleObservation = gym.wrappers.GrayscaleObservation
    gym.wrappers.FrameStack = frame_stack
    if env_id.startswith("MinAtar/"):
        import minatar.gym

        minatar.gym.register_envs()
    elif env_id.endswith("NoFrameskip-v4"):
        import ale_py

        gym.register_envs(ale_py)


def run_once(scripts: str, workload: str, steps: int) -> None:
    """One run in this process; prints 'steps_per_second peak_mb'."""
    import gymnasium as gym

    name, env_id, _ = WORKLOADS[workload]
    _bridge_gymnasium(env_id)
    sys.path.insert(0, scripts)
    os.chdir(scripts)  # (the scripts save their results beside themselves)
    module = importlib.import_module(name)
    agent_class = next(c for c in vars(module).values() if isinstance(c, type) and hasattr(c, "sample_action"))
    marks: dict[str, float] = {}
    sample_action = agent_class.sample_action

    def first_sample_action(self, s):
        marks["start"] = time.perf_counter()
        self.sample_action = sample_action.__get__(self)  # later calls go straight to theirs
        return sample_action(self, s)

    close = gym.Wrapper.close

    def close_after_the_loop(self):
        if "start" in marks:  # (a close before the first action is not the loop's end)
            marks.setdefault("end", time.perf_counter())
        return close(self)

    agent_class.sample_action, gym.Wrapper.close = first_sample_action, close_after_the_loop
    path = os.path.join(scripts, name + ".py")
    with open(path, encoding="utf-8") as f:
        main_block = [node for node in ast.parse(f.read(), path).body if isinstance(node, ast.If)][-1]
    sys.argv = [path, "--env_name", env_id, "--seed", "0", "--total_steps", str(steps)]
    exec(compile(ast.Module(body=main_block.body, type_ignores=[]), path, "exec"), vars(module))
    if "end" not in marks:
        raise RuntimeError(f"{name}.py acted {'' if 'start' in marks else 'never '}but closed no env after its loop: "
                           "this harness times from the first action to that close()")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(steps / (marks["end"] - marks["start"]), peak_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scripts", help="folder holding the authors' scripts")
    parser.add_argument("--steps", type=int, help="steps per run (default: per workload, 1,500 to 5,000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="+", choices=list(WORKLOADS), metavar="WORKLOAD",
                        help=f"measure only these: {', '.join(WORKLOADS)}")
    parser.add_argument("--run-once", metavar="WORKLOAD", help=argparse.SUPPRESS)  # (a repeat's own process)
    args = parser.parse_args()
    scripts = os.path.abspath(args.scripts)
    if (args.steps is not None and args.steps <= 0) or args.repeats <= 0:
        sys.exit("--steps and --repeats must be positive")
    if args.run_once:
        run_once(scripts, args.run_once, args.steps)
        return
    missing = [WORKLOADS[w][0] + ".py" for w in args.only or WORKLOADS
               if not os.path.isfile(os.path.join(scripts, WORKLOADS[w][0] + ".py"))]
    if missing:
        sys.exit(f"{scripts} lacks {', '.join(missing)}: give the folder of the authors' scripts")
    runs = f"{args.repeats} runs" if args.repeats != 1 else "1 run"
    print(f"the authors' scripts: steps per second, median of {runs} (each in a fresh process); peak memory in MB")
    print(f"{'workload':<15} {'steps':>6} {'steps/s':>8} {'peak MB':>8}")
    for workload in args.only or WORKLOADS:
        steps = args.steps or WORKLOADS[workload][2]
        rates, peaks = [], []
        for _ in range(args.repeats):
            result = subprocess.run([sys.executable, __file__, scripts, "--run-once", workload, "--steps", str(steps)],
                                    capture_output=True, text=True)
            if result.returncode < 0:
                sys.exit(f"{workload}: the script's process was killed by signal {-result.returncode}")
            if result.returncode != 0:
                lines = result.stderr.strip().splitlines() or ["no message"]
                sys.exit(f"{workload}: the script failed: {lines[-1]}")
            rate, peak = map(float, result.stdout.split()[-2:])
            rates.append(rate)
            peaks.append(peak)
        print(f"{workload:<15} {steps:>6} {statistics.median(rates):>8,.0f} {max(peaks):>8.0f}", flush=True)


if __name__ == "__main__":
    main()
