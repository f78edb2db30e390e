"""``streamrl``: one entry point, with subcommands.

    streamrl train [ALGO] [ENV] [--steps N] [--seed S] [--out DIR] [--set key=value ...]
    streamrl bench [--steps N] [--repeats K]

Every mistake ends with one line on stderr that says what is wrong and how to fix it, and a
non-zero exit status.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from streamrl.algorithms import ALGORITHMS


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_overrides(pairs: list[str]) -> dict:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        overrides[key.strip()] = _parse_value(value.strip())
    return overrides


def _train(args: argparse.Namespace) -> int:
    import inspect

    from streamrl.running.train import train_run

    overrides = _parse_overrides(args.set)
    cls = ALGORITHMS[args.algorithm]
    known = {name for klass in cls.__mro__ for name in inspect.signature(klass.__init__).parameters} - {
        "self", "args", "env", "kwargs", "observation_space", "action_space", "network", "preprocessing", "seed"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown --set key {unknown[0]!r} for {cls.__name__}; known keys: {', '.join(sorted(known))}")
    defaults = {name: p.default for klass in reversed(cls.__mro__) if klass is not object
                for name, p in inspect.signature(klass.__init__).parameters.items()}
    for key, value in overrides.items():
        default = defaults.get(key)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"--set {key} expects a number (default {default}), got {value!r}")
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"--set {key} expects True or False, got {value!r}")
    out = Path(args.out or f"runs/{args.algorithm}-{args.env.replace('/', '_')}-seed{args.seed}")
    if (out / "summary.json").exists() and not args.overwrite:
        raise ValueError(f"{out} already holds a finished run; pass --out DIR for a new one or --overwrite")
    result = train_run(args.algorithm, args.env, args.steps, args.seed, out, overrides, progress=not args.quiet)
    returns = [e.episode_return for e in result.episodes]
    tail = f"; mean return of the last 10 episodes {sum(returns[-10:]) / len(returns[-10:]):.1f}" if returns else ""
    print(f"trained {args.steps:,} steps in {result.wall_time:.1f} s{tail}")
    written = ", ".join(p.name for p in sorted(out.iterdir()) if not p.name.startswith("."))
    print(f"run folder: {out} ({written})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from streamrl.running.throughput import main as throughput

    throughput(["--steps", str(args.steps), "--repeats", str(args.repeats)])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamrl", description="Streaming deep RL (stream-x).")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train an agent and write a run folder",
                           description="Train a stream-x agent; a bare 'streamrl train' is a short CartPole demo.")
    train.add_argument("algorithm", nargs="?", default="q", choices=sorted(ALGORITHMS),
                       help="q, sarsa, ac or td (default q)")
    train.add_argument("env", nargs="?", default="CartPole-v1", help="Gymnasium id (default CartPole-v1)")
    train.add_argument("--steps", type=int, default=30_000, help="environment steps (default 30,000)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="run folder (default runs/ALGO-ENV-seedS)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="agent option, e.g. --set lamda=0.9 --set optimizer=adaptive")
    train.add_argument("--overwrite", action="store_true", help="replace a finished run in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)
    bench = sub.add_parser("bench", help="steps per second of each agent, medians over repeats")
    bench.add_argument("--steps", type=int, default=2000)
    bench.add_argument("--repeats", type=int, default=5)
    bench.set_defaults(run=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("streamrl: interrupted", file=sys.stderr)
        return 130
    except (ValueError, ImportError, OSError) as e:
        print(f"streamrl: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
