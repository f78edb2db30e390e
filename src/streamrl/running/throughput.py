"""Steps per second of each agent on the paper's workloads, both backends in the same run.

    streamrl bench [--steps N] [--repeats K]      (or: python -m streamrl.running.throughput)

For each workload it times the environment alone (random actions), then the agent on the torch
backend and on the fused backend: each repeat builds a fresh agent (seed = repeat), warms up for
100 steps, then runs ``steps`` steps of act -> env.step -> observe. It prints medians over the
repeats, the ratios fused/torch and fused/env-only measured in the same run, and the p50 / p99
latency of one act + observe on the fused backend. Absolute numbers depend on the machine and
on what else it is doing; the ratios are the comparable part.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from streamrl.algorithms import ALGORITHMS
from streamrl.envs import make_env

WORKLOADS = [("q", "CartPole-v1"), ("sarsa", "CartPole-v1"), ("ac", "CartPole-v1"),
             ("q", "MinAtar/Breakout-v1"), ("ac", "MinAtar/Breakout-v1"), ("ac", "HalfCheetah-v5"),
             ("td", "HalfCheetah-v5")]


def env_only_steps_per_second(env_id: str, steps: int, seed: int) -> float:
    env = make_env(env_id, seed=seed)
    env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def agent_run(algorithm: str, env_id: str, steps: int, seed: int, backend: str) -> tuple[float, np.ndarray]:
    """Steps per second of the whole loop, and the seconds of each act + observe."""
    env = make_env(env_id, seed=seed)
    agent = ALGORITHMS[algorithm](env, seed=seed, backend=backend)
    agent.learn(100)  # warm-up: compilation, first allocations
    obs = agent._env_obs
    latencies = np.zeros(steps)
    start = time.perf_counter()
    for t in range(steps):
        t0 = time.perf_counter()
        action = agent.act(obs)
        t1 = time.perf_counter()
        next_obs, reward, terminated, truncated, _ = env.step(action)
        t2 = time.perf_counter()
        agent.observe(float(reward), next_obs, terminated, truncated)
        latencies[t] = (t1 - t0) + (time.perf_counter() - t2)
        obs = env.reset()[0] if terminated or truncated else next_obs
    return steps / (time.perf_counter() - start), latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.steps <= 0 or args.repeats <= 0:
        raise ValueError("--steps and --repeats must be positive")
    header = (f"{'algorithm':<6} {'environment':<20} {'env only':>9} {'torch':>7} {'fused':>7} "
              f"{'fused/torch':>11} {'fused/env':>9} {'p50 us':>7} {'p99 us':>7}")
    print("steps per second, medians over", args.repeats, "repeats of", args.steps, "steps")
    print(header)
    for algorithm, env_id in WORKLOADS:
        env_rate = statistics.median(env_only_steps_per_second(env_id, args.steps * 5, s) for s in range(args.repeats))
        rates = {}
        latencies = []
        for backend in ("torch", "fused"):
            runs = [agent_run(algorithm, env_id, args.steps, seed, backend) for seed in range(args.repeats)]
            rates[backend] = statistics.median(r for r, _ in runs)
            if backend == "fused":
                latencies = np.concatenate([lat for _, lat in runs]) * 1e6
        print(f"{algorithm:<6} {env_id:<20} {env_rate:>9,.0f} {rates['torch']:>7,.0f} {rates['fused']:>7,.0f} "
              f"{rates['fused'] / rates['torch']:>11.1f} {rates['fused'] / env_rate:>9.2f} "
              f"{np.percentile(latencies, 50):>7.0f} {np.percentile(latencies, 99):>7.0f}", flush=True)


if __name__ == "__main__":
    main()
