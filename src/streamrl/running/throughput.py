"""Steps per second of each agent on the paper's workloads, as medians over repeats.

    python -m streamrl.running.throughput [--steps N] [--repeats K]

Each repeat builds a fresh agent and times ``learn(steps)`` after a short warm-up; the env-only
loop (random actions, no learning) is timed in the same run so the ratio is meaningful on a noisy
machine. Absolute numbers depend on the machine; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

from streamrl.algorithms import ALGORITHMS
from streamrl.envs import make_env

WORKLOADS = [("q", "CartPole-v1"), ("sarsa", "CartPole-v1"), ("ac", "CartPole-v1"),
             ("q", "MinAtar/Breakout-v1"), ("ac", "MinAtar/Breakout-v1"), ("ac", "HalfCheetah-v5"),
             ("td", "HalfCheetah-v5")]


def env_only_steps_per_second(env_id: str, steps: int) -> float:
    env = make_env(env_id, seed=0)
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def agent_steps_per_second(algorithm: str, env_id: str, steps: int, seed: int) -> float:
    agent = ALGORITHMS[algorithm](make_env(env_id, seed=seed), seed=seed)
    agent.learn(100)  # warm-up: first calls allocate
    start = time.perf_counter()
    agent.learn(steps)
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'algorithm':<9} {'environment':<22} {'agent steps/s':>14} {'env-only steps/s':>17} {'agent/env':>10}")
    for algorithm, env_id in WORKLOADS:
        agent = [agent_steps_per_second(algorithm, env_id, args.steps, seed) for seed in range(args.repeats)]
        env = [env_only_steps_per_second(env_id, args.steps * 5) for _ in range(args.repeats)]
        a, e = statistics.median(agent), statistics.median(env)
        print(f"{algorithm:<9} {env_id:<22} {a:>14,.0f} {e:>17,.0f} {a / e:>10.3f}", flush=True)


if __name__ == "__main__":
    main()
