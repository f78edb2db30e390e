"""Steps per second of each agent on the paper's workloads, both backends in the same run.

    streamrl bench [--steps N] [--repeats K] [--only ALGO:ENV ...] [--busy N]
    (or: python -m streamrl.running.bench)

For each workload four worker processes start side by side: the environment alone (random
actions, drawn before timing), the agent on the torch backend, the agent on the fused backend,
and the fused networks alone (each step's forward, evaluate and update calls, all on one state,
with no environment and no agent code in between: an optimistic bound on the fused agent's
speed, as the calls run with warm caches and a one-hot output gradient, and no trace is ever
cleared); an agent the fused kernels cannot run (AVG) gets the first two only, and "-" in the
fused columns. They take turns, one repeat each in a rotating order, so a slow moment of the machine
lands on all of them rather than on one. Each repeat of an agent builds a fresh one (seed =
repeat), warms up for 100 steps, then times ``steps`` steps of act -> env.step -> observe. The
table gives medians over the repeats, the ratios fused/torch and fused/env-only as medians of
the per-repeat ratios, the p50 / p99 latency of one act + observe on the fused backend, and each
worker's peak resident memory (the fused worker never imports torch; the kernels are compiled
beforehand in a process of their own, so compiling counts in neither time nor memory). Absolute numbers depend
on the machine and on what else it is doing; the ratios measured in the same run are the
comparable part. ``--busy N`` keeps N more processes spinning on the CPU for the whole run, as
other programs sharing the machine would.

A Ctrl-C stops the bench in one line (its child processes ignore it: the bench stops them), and
the spinners end with the bench even when it is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import signal
import statistics
import time
import warnings
from typing import Callable, Iterator

import numpy as np

WORKLOADS = [("q", "CartPole-v1"), ("sarsa", "CartPole-v1"), ("ac", "CartPole-v1"),
             ("q", "MinAtar/Breakout-v1"), ("iq", "MinAtar/Breakout-v1"), ("qrc", "MinAtar/Breakout-v1"),
             ("ac", "MinAtar/Breakout-v1"),
             ("ac", "HalfCheetah-v5"), ("iac", "HalfCheetah-v5"), ("td", "HalfCheetah-v5"),
             ("q", "BreakoutNoFrameskip-v4"), ("avg", "HalfCheetah-v5")]
KINDS = ("env", "torch", "fused", "network")
# Agents the fused kernels cannot run (AVG: its actor learns through the critic's action gradient):
# their rows measure the env alone and the torch backend, and leave the fused columns empty.
TORCH_ONLY = ("avg",)


def kinds_of(algorithm: str) -> tuple[str, ...]:
    """The workers measured for ``algorithm``."""
    return ("env", "torch") if algorithm in TORCH_ONLY else KINDS


def env_only_run(env_id: str, steps: int, seed: int) -> tuple[float, np.ndarray]:
    from streamrl.envs import make_env

    env = make_env(env_id, seed=seed)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    # drawn before the clock starts, as the agents' loops time no sampling (a Box sample costs
    # about a third of a MuJoCo step)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start), np.zeros(0)


def agent_run(algorithm: str, env_id: str, steps: int, seed: int, backend: str) -> tuple[float, np.ndarray]:
    """Steps per second of the whole loop, and the seconds of each act + observe."""
    from streamrl.algorithms import ALGORITHMS
    from streamrl.envs import make_env

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


def network_only_run(algorithm: str, env_id: str, steps: int, seed: int) -> tuple[float, np.ndarray]:
    """Steps per second of the fused networks' own calls (the agent's ``_network_calls``: each
    learner's forward and update, and an evaluate for those that bootstrap), all on one state from
    a short warm-up, with delta = 0: the same passes over the weights as a step's."""
    from streamrl.algorithms import ALGORITHMS
    from streamrl.envs import make_env

    agent = ALGORITHMS[algorithm](make_env(env_id, seed=seed), seed=seed, backend="fused")
    agent.learn(100)
    while agent._state is None:  # the warm-up ended an episode: take one step into the next
        agent.learn(1)
    state, one_step = agent._state, agent._network_calls()
    start = time.perf_counter()
    for _ in range(steps):
        one_step(state)
    return steps / (time.perf_counter() - start), np.zeros(0)


def _quiet_engines(env_id: str) -> None:
    """Silences what the engines say that would land between the table's rows: MuJoCo's deprecation
    of an attribute in Gymnasium's HalfCheetah model, ALE's start-up banner (an info message)."""
    from streamrl.envs import MuJoCoWarning, domain_of

    warnings.filterwarnings("ignore", "MuJoCo: compiler attribute", MuJoCoWarning)
    if domain_of(env_id) == "atari":
        try:
            import ale_py

            ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Warning)
        except ImportError:  # (the worker says what is missing when it makes the env)
            pass


def _compile(connection, algorithm: str, env_id: str) -> None:
    """Fills Numba's on-disk cache before the workers start, so they load the kernels instead of
    compiling them: on a machine's first run that takes ~30 s and ~370 MB, which would count as
    the fused worker's peak memory. Answers None, or what went wrong in one line."""
    from streamrl.algorithms import ALGORITHMS
    from streamrl.envs import make_env

    _quiet_engines(env_id)
    try:
        ALGORITHMS[algorithm](make_env(env_id, seed=0), seed=0, backend="fused").warm_up()
    except Exception as e:
        answer = f"{type(e).__name__}: {str(e).splitlines()[0]}" if str(e).strip() else type(e).__name__
    else:
        answer = None
    with contextlib.suppress(BrokenPipeError):  # (the bench is gone: nobody to tell)
        connection.send(answer)


def _worker(connection, kind: str, algorithm: str, env_id: str, steps: int) -> None:
    """Runs one repeat per request (a seed), answers (steps/s, latencies, peak RSS in MB so far).
    Ends quietly when the bench is gone (killed: its end of the pipe closed)."""
    import resource  # (POSIX only: imported where used, so the CLI that imports this module runs anywhere)

    _quiet_engines(env_id)
    with contextlib.suppress(EOFError, BrokenPipeError):
        while (seed := connection.recv()) is not None:
            try:
                if kind == "env":
                    rate, latencies = env_only_run(env_id, steps * 5, seed)
                elif kind == "network":
                    rate, latencies = network_only_run(algorithm, env_id, steps, seed)
                else:
                    rate, latencies = agent_run(algorithm, env_id, steps, seed, kind)
            except Exception as e:  # e.g. an unknown env id: the parent says it in one line
                connection.send(str(e).splitlines()[0] if str(e) else type(e).__name__)
                return
            connection.send((rate, latencies, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _answer(connection, process) -> object:
    """What ``process`` sends next, or, if it died first (killed, say for memory: -9; or crashed in
    compiled code), one line saying so."""
    try:
        return connection.recv()
    except EOFError:  # (the parent closed its copy of the child's end: a dead child ends the wait)
        process.join()
        return f"the process died with exit code {process.exitcode}"


def _start_deaf_to_ctrl_c(process: mp.process.BaseProcess) -> None:
    """Starts ``process`` ignoring SIGINT from its first instruction: a terminal's Ctrl-C reaches the
    whole process group, and a child's KeyboardInterrupt (even one still importing) prints its own
    traceback; the bench stops its children itself. An ignored signal stays ignored across exec
    (and Python then installs no KeyboardInterrupt handler). A Ctrl-C in the few milliseconds of a
    start is lost with it: a second one stops the bench."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_child(target: Callable, *args: object) -> tuple:
    """A child process running ``target(connection, *args)`` in a clean interpreter (so its peak
    memory is its own), and the bench's end of the connection."""
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args), daemon=True)
    _start_deaf_to_ctrl_c(process)
    child.close()  # (the child's end lives in the child: if it dies, recv() ends instead of waiting)
    return parent, process


def _spin(bench: int) -> None:
    """Keeps one core busy (``--busy``) while the process ``bench`` lives: a killed bench runs no
    cleanup, so the spinner checks about every millisecond that it is still the bench's child."""
    while os.getppid() == bench:
        for _ in range(100_000):
            pass


@contextlib.contextmanager
def busy(count: int) -> Iterator[list[mp.process.BaseProcess]]:
    """``count`` processes spinning on the CPU until the block ends; yields them."""
    spinners = [mp.get_context("spawn").Process(target=_spin, args=(os.getpid(),), daemon=True)
                for _ in range(count)]
    try:
        for process in spinners:
            _start_deaf_to_ctrl_c(process)
        yield spinners
    finally:
        for process in spinners:
            if process.pid is not None:  # (started)
                process.terminate()
                process.join()


def measure(algorithm: str, env_id: str, steps: int, repeats: int,
            on_repeat: Callable[[str, int, bool], None] | None = None) -> dict[str, dict]:
    """Per kind: the steps/s of every repeat, the latencies, and the worker's peak memory.
    ``on_repeat(kind, repeat, finished)`` is told when each repeat starts and ends."""
    kinds, compile_error = kinds_of(algorithm), None
    if "fused" in kinds:
        if on_repeat is not None:
            on_repeat("compile", 0, False)
        parent, compiling = _start_child(_compile, algorithm, env_id)
        compile_error = _answer(parent, compiling)
        compiling.join()
    workers = {kind: _start_child(_worker, kind, algorithm, env_id, steps) for kind in kinds}
    results = {kind: {"rates": [], "latencies": [], "peak_mb": 0.0} for kind in kinds}
    try:
        for repeat in range(repeats):
            for i in range(len(kinds)):
                kind = kinds[(repeat + i) % len(kinds)]  # rotate who goes first
                parent, _ = workers[kind]
                if on_repeat is not None:
                    on_repeat(kind, repeat, False)
                parent.send(repeat)
                answer = _answer(parent, workers[kind][1])
                if on_repeat is not None:
                    on_repeat(kind, repeat, True)
                if isinstance(answer, str):
                    raise ValueError(f"bench {algorithm} on {env_id} ({kind}): {answer}")
                rate, latencies, peak = answer
                results[kind]["rates"].append(rate)
                results[kind]["latencies"].append(latencies)
                results[kind]["peak_mb"] = peak
            if compile_error is not None:  # (after one repeat: a bad workload made a worker fail, in its own words)
                raise ValueError(f"bench {algorithm} on {env_id}: compiling the kernels beforehand failed "
                                 f"({compile_error}), so the fused worker's memory would count compiling")
    except BaseException:  # a Ctrl-C, or a worker's error: the others stop now, not after their repeat
        for _, process in workers.values():
            process.terminate()
        raise
    finally:
        for parent, process in workers.values():
            if process.is_alive():
                with contextlib.suppress(OSError):  # (it may be exiting after its own error)
                    parent.send(None)
            process.join(timeout=30)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench's options, for ``streamrl bench`` and for this module run as a script."""
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="+", metavar="ALGO:ENV",
                        help="measure only these workloads, e.g. ac:HalfCheetah-v5")
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="keep N more processes spinning on the CPU meanwhile, as other programs would")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """The bench, with the options of :func:`add_arguments`: prints the table row by row."""
    if args.steps <= 0 or args.repeats <= 0:
        raise ValueError("--steps and --repeats must be positive")
    if args.busy < 0:
        raise ValueError(f"--busy takes a number of processes, 0 or more, not {args.busy}")
    workloads = WORKLOADS
    if args.only:
        from streamrl.algorithms import ALGORITHMS

        workloads = [tuple(w.split(":", 1)) for w in args.only]
        if any(len(w) != 2 or w[0] not in ALGORITHMS for w in workloads):
            raise ValueError(f"--only takes ALGO:ENV pairs with ALGO one of {', '.join(ALGORITHMS)}, "
                             "e.g. --only ac:HalfCheetah-v5")
    sharing = ""
    if args.busy:
        sharing = f"; {args.busy} busy {'process' if args.busy == 1 else 'processes'} sharing the machine"
    print(f"steps per second, medians over {args.repeats} interleaved repeats of {args.steps} steps "
          f"(env only: {args.steps * 5}); peak memory of each worker process in MB{sharing}")
    print(f"{'algorithm':<6} {'environment':<22} {'env only':>9} {'torch':>7} {'fused':>7} {'net only':>8} "
          f"{'fused/torch':>11} {'fused/env':>9} {'p50 us':>7} {'p99 us':>7} {'MB torch':>8} {'MB fused':>8}")
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from streamrl.core.console import transient_bar

    # a live bar below the table
    with busy(args.busy), transient_bar(TextColumn("[bold]bench"), BarColumn(), MofNCompleteColumn(),
                                        TextColumn("{task.description}"), TimeElapsedColumn()) as progress:
        task = progress.add_task("", total=args.repeats * sum(len(kinds_of(a)) for a, _ in workloads))
        for algorithm, env_id in workloads:
            def on_repeat(kind: str, repeat: int, finished: bool) -> None:
                if kind == "compile":
                    progress.update(task, description=f"{algorithm} {env_id}: compiling the kernels")
                    return
                what = {"env": "env alone", "network": "networks alone"}.get(kind, f"{kind} backend")
                progress.update(task, advance=int(finished),
                                description=f"{algorithm} {env_id}: {what}, repeat {repeat + 1}/{args.repeats}")

            _print_row(algorithm, env_id, measure(algorithm, env_id, args.steps, args.repeats, on_repeat))


def _print_row(algorithm: str, env_id: str, r: dict[str, dict]) -> None:
    rates = {kind: statistics.median(r[kind]["rates"]) for kind in r}
    if "fused" not in r:  # (a torch-only agent)
        print(f"{algorithm:<6} {env_id:<22} {rates['env']:>9,.0f} {rates['torch']:>7,.0f} {'-':>7} {'-':>8} "
              f"{'-':>11} {'-':>9} {'-':>7} {'-':>7} {r['torch']['peak_mb']:>8.0f} {'-':>8}", flush=True)
        return
    over_torch = statistics.median(f / t for f, t in zip(r["fused"]["rates"], r["torch"]["rates"]))
    over_env = statistics.median(f / e for f, e in zip(r["fused"]["rates"], r["env"]["rates"]))
    latencies = np.concatenate(r["fused"]["latencies"]) * 1e6
    print(f"{algorithm:<6} {env_id:<22} {rates['env']:>9,.0f} {rates['torch']:>7,.0f} {rates['fused']:>7,.0f} "
          f"{rates['network']:>8,.0f} {over_torch:>11.1f} {over_env:>9.2f} {np.percentile(latencies, 50):>7.0f} "
          f"{np.percentile(latencies, 99):>7.0f} {r['torch']['peak_mb']:>8.0f} {r['fused']['peak_mb']:>8.0f}",
          flush=True)


if __name__ == "__main__":
    main()
