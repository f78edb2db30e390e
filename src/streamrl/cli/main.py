"""``streamrl``: one entry point, with subcommands.

    streamrl train [ALGO] [ENV] [--steps N] [--seed S] [--out DIR] [--set key=value ...] [--resume RUN] [--track]
    streamrl options ALGO [--set step_rule=NAME]
    streamrl eval RUN_OR_CHECKPOINT [--episodes K] [--video FILE.mp4]
    streamrl plot RUNS ... [--out FILE.png]
    streamrl predict [--csv FILE --target COLUMN] [--gamma G] [--out DIR]
    streamrl bench [--steps N] [--repeats K] [--only ALGO:ENV ...] [--busy N]
    streamrl report RESULTS ... [--out DIR] [--reps N]
    streamrl sweep FILE.yaml [--out RESULTS] [--workers N] [--ray ADDRESS|auto] [--dry-run]
    streamrl reproduce PRESET [--scale F] [--baseline-scale F] [--seeds N] [--out RESULTS] [sweep options]

Every mistake ends with one line on stderr that says what is wrong and how to fix it, and a
non-zero exit status.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import sys
from pathlib import Path

from streamrl.algorithms import ALGORITHMS
from streamrl.algorithms.techniques import PRESETS as TECHNIQUE_PRESETS
from streamrl.running import bench


def _parse_value(text: str):
    if text.lower() in ("true", "false"):  # as TOML, YAML and JSON spell them
        return text.lower() == "true"
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
    with contextlib.ExitStack() as owner:  # the run folder's lock, from before its files are checked to the run's end
        return _train_owning(args, owner)


def _train_owning(args: argparse.Namespace, owner: contextlib.ExitStack) -> int:
    from streamrl.running.train import CHECKPOINT, Interrupted, read_run_config, run_lock, train_run

    if args.resume:
        run = Path(args.resume)
        read_run_config(run)  # (a folder that holds no run is said before a lock file is made in it)
        owner.enter_context(run_lock(run))
        config = read_run_config(run)
        if args.steps is not None and args.steps < config["steps"]:
            raise ValueError(f"--steps {args.steps} is below the run's {config['steps']} steps")
        if (run / "summary.json").exists() and (args.steps or config["steps"]) <= config["steps"]:
            raise ValueError(f"{run} is finished ({config['steps']:,} steps); to train it further, resume with "
                             "--steps N above that")
        algorithm, env_id, seed, out = config["algorithm"], config["env_id"], config["seed"], run
        steps, overrides, every = args.steps or config["steps"], {}, config.get("checkpoint_every", 10_000)
        if args.set or args.preset:
            raise ValueError("--set and --preset cannot change a run being resumed: its agent options are in the "
                             "checkpoint")
        if args.label is not None:
            raise ValueError("--label cannot change a run being resumed: its label is in its config.json")
        label = config.get("label")
    else:
        config = _read_config(Path(args.config)) if args.config else {}

        def pick(name: str, default):  # the command line wins over the config file
            given = getattr(args, name)
            return given if given is not None else config.get(name, default)

        algorithm, env_id, seed = pick("algorithm", "q"), pick("env", "CartPole-v1"), pick("seed", 0)
        label = pick("label", f"{algorithm}-{args.preset}" if args.preset else algorithm)  # classic apart
        steps, every = pick("steps", 30_000), pick("checkpoint_every", 10_000)
        overrides = _train_options(algorithm, args.preset, {**config.get("agent", {}), **_parse_overrides(args.set)})
        out = Path(args.out or f"runs/{algorithm}-{env_id.replace('/', '_')}-seed{seed}")
        if out.exists() and not out.is_dir():  # (said before any work, not after the kernels compile)
            raise ValueError(f"{out} is a file, not a run folder; give --out a folder (made if missing)")
        # Owned before its files are looked at: a second run there stops now, not after compiling.
        owner.enter_context(run_lock(out))
        if (out / "summary.json").exists() and not args.overwrite:
            raise ValueError(f"{out} already holds a finished run; pass --out DIR for a new one or --overwrite")
        if (out / "config.json").exists() and not args.overwrite:  # a stopped run: its checkpoint is not thrown away
            resume = f"resume it with: streamrl train --resume {out}; or " if (out / CHECKPOINT).exists() else ""
            raise ValueError(f"{out} already holds an unfinished run; {resume}pass --out DIR for a new one or "
                             "--overwrite to start it over")
    from streamrl.baselines import BASELINES

    progress_file = Path(args.progress_file) if args.progress_file else None
    tracking = _tracking(args, out, {"algorithm": algorithm, "env_id": env_id, "steps": steps, "seed": seed,
                                     "label": label or algorithm, "agent": overrides, "resumed": bool(args.resume)})
    try:
        with tracking as tracked:
            if algorithm in BASELINES:  # Stable-Baselines3: the same files, no checkpoint (they cannot resume)
                from streamrl.baselines.sb3 import baseline_run

                result = baseline_run(algorithm, env_id, steps, seed, out, overrides, progress=not args.quiet,
                                      resume=bool(args.resume), tensorboard=not args.no_tensorboard, label=label,
                                      progress_file=progress_file)
            else:
                result = train_run(algorithm, env_id, steps, seed, out, overrides, progress=not args.quiet,
                                   checkpoint_every=every, resume=bool(args.resume),
                                   tensorboard=not args.no_tensorboard, label=label, progress_file=progress_file)
            if tracked is not None:  # the run's own files, as written: the agent's whole config and the summary
                import json

                tracked.config.update({"agent": json.loads((out / "config.json").read_text())["agent"]},
                                      allow_val_change=True)
                tracked.summary.update(json.loads((out / "summary.json").read_text()))
    except Interrupted as stop:
        if stop.checkpoint_step is None:
            print(f"streamrl: interrupted at step {stop.step:,} before the first checkpoint; nothing to resume "
                  f"(to start over, run the command again with --overwrite)", file=sys.stderr)
        else:
            print(f"streamrl: interrupted at step {stop.step:,}; checkpoint at step {stop.checkpoint_step:,}: "
                  f"resume with: streamrl train --resume {out}", file=sys.stderr)
        return 130
    from streamrl.core.progress import RETURN_WINDOW

    recent = [e.episode_return for e in result.episodes][-RETURN_WINDOW:]
    tail = f"; mean return of the last {len(recent)} episodes {sum(recent) / len(recent):.1f}" if recent else ""
    print(f"trained {steps:,} steps in {result.wall_time:.1f} s{tail}")
    written = ", ".join(p.name for p in sorted(out.iterdir()) if not p.name.startswith("."))
    print(f"run folder: {out} ({written})")
    return 0


def _tracking(args: argparse.Namespace, out: Path, config: dict) -> contextlib.AbstractContextManager:
    """With --track, the Weights & Biases run of this training (its name the run folder's); else nothing."""
    if not args.track:
        if args.wandb_project or args.wandb_entity:
            raise ValueError("--wandb-project and --wandb-entity name where --track logs: add --track")
        return contextlib.nullcontext()
    if args.no_tensorboard:
        raise ValueError("--track sends the run's TensorBoard scalars to Weights & Biases: drop --no-tensorboard")
    from streamrl.running.tracking import wandb_run

    return wandb_run(args.wandb_project or "streamrl", args.wandb_entity, out.name, config["label"], config)


def _options(args: argparse.Namespace) -> int:
    """Every option of an algorithm, its default and meaning (and its step rule's)."""
    from streamrl.baselines import BASELINES
    from streamrl.steprules import STEP_RULES

    chosen = _parse_overrides(args.set)
    others = sorted(set(chosen) - {"step_rule"})
    if others:
        raise ValueError(f"streamrl options takes --set step_rule=NAME only (to list that rule's options), got "
                         f"{others[0]!r}")
    if args.algorithm in BASELINES:
        from streamrl.baselines import baseline_options

        if chosen:
            raise ValueError(f"{args.algorithm} is a Stable-Baselines3 baseline, without step rules: drop --set")
        print(f"{args.algorithm} (Stable-Baselines3 {BASELINES[args.algorithm].sb3_class}): options of streamrl train "
              f"{args.algorithm} --set KEY=VALUE, described by SB3's documentation")
        _print_options(baseline_options(args.algorithm))
        return 0
    agent = ALGORITHMS[args.algorithm]
    options = agent.options(chosen.get("step_rule"))
    rule = next(o.default for o in options if o.name == "step_rule")
    print(f"{agent.__name__} ({args.algorithm}): options of streamrl train {args.algorithm} --set KEY=VALUE (and of "
          "config and sweep files)")
    _print_options([(o.name, o.default, o.meaning) for o in options if o.rule is None])
    others = ", ".join(name for name, rule_class in STEP_RULES.items() if name != rule and (
        rule_class.for_algorithms is None or args.algorithm in rule_class.for_algorithms)
        and (agent.step_rules is None or name in agent.step_rules))  # (the rules it may use)
    mentioned = (f" (the other rules, {others}, have their own: streamrl options {args.algorithm} --set "
                 "step_rule=NAME)") if others else ""
    print(f"\nstep rule {rule}'s options{mentioned}")
    _print_options([(o.name, o.default, o.meaning) for o in options if o.rule is not None])
    return 0


def _print_options(rows: list[tuple[str, object, str]]) -> None:
    """Aligned columns: option, default (as --set takes it), meaning."""
    def text(value: object) -> str:
        if isinstance(value, (tuple, list)):
            return f"[{','.join(text(v) for v in value)}]"
        return value if isinstance(value, str) else repr(value)

    shown = [(name, text(default), meaning) for name, default, meaning in rows]
    width = max(len(name) for name, _, _ in shown)
    default_width = max(len(default) for _, default, _ in shown)
    for name, default, meaning in shown:
        print(f"  {name:<{width}}  {default:<{default_width}}  {meaning}".rstrip())


def _train_algorithms() -> list[str]:
    """Every algorithm name of 'streamrl train': the stream-x agents, then the SB3 baselines."""
    from streamrl.baselines import BASELINES

    return [*ALGORITHMS, *BASELINES]


def _train_options(algorithm: str, preset: str | None, overrides: dict) -> dict:
    """The checked agent options of a new run: a preset's, then the config file's and --set's."""
    from streamrl.algorithms.techniques import preset_options
    from streamrl.baselines import BASELINES, check_baseline_options

    if algorithm in BASELINES:
        if preset:
            raise ValueError(f"--preset {preset} switches stream-x techniques; {algorithm} is a "
                             "Stable-Baselines3 baseline without them")
        check_baseline_options(algorithm, overrides)
        return overrides
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(_train_algorithms())}")
    overrides = {**(preset_options(preset) if preset else {}), **overrides}
    ALGORITHMS[algorithm].check_options(overrides)
    return overrides


CONFIG_KEYS = ("algorithm", "env", "steps", "seed", "checkpoint_every", "label", "agent")


def _read_config(path: Path) -> dict:
    """A run config in TOML or JSON: algorithm, env, steps, seed, checkpoint_every, [agent] options."""
    import json
    import tomllib

    if not path.is_file():
        raise ValueError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        config = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"config file {path} is malformed: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"config file {path} must hold a table of settings")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"config file {path}: unknown key {unknown[0]!r}; known keys: {', '.join(CONFIG_KEYS)}")
    if not isinstance(config.get("agent", {}), dict):
        raise ValueError(f"config file {path}: 'agent' must be a table of agent options")
    kinds = {int: "an integer", str: "a string"}
    for key, kind in (("steps", int), ("seed", int), ("checkpoint_every", int), ("algorithm", str), ("env", str),
                      ("label", str)):
        if key in config and (not isinstance(config[key], kind) or isinstance(config[key], bool)):
            raise ValueError(f"config file {path}: {key} must be {kinds[kind]}, got {config[key]!r}")
    return config


def _checkpoint_and_env(target: Path) -> tuple[Path, str]:
    """A run folder or an agent file -> (agent file, env id)."""
    from streamrl.algorithms.agent_file import read_metadata
    from streamrl.running.train import check_run_agent, read_run_config

    if target.is_dir():
        config = read_run_config(target)
        path = target / "agent.safetensors"
        if config.get("agent", {}).get("library") == "stable-baselines3":
            raise ValueError(f"{target} is a {config['algorithm']} run (Stable-Baselines3): baselines keep no model to "
                             "evaluate (SB3's files unpickle on load)")
        if not path.is_file():
            raise ValueError(f"{target} has no agent.safetensors (the run has not finished; resume it with "
                             f"streamrl train --resume {target}, or evaluate its checkpoint.safetensors)")
        check_run_agent(path, config)
        return path, config["env_id"]
    if not target.is_file():
        raise ValueError(f"{target} is neither a run folder with agent.safetensors nor an agent file")
    env_id = read_metadata(target)["env_id"]
    if not env_id:
        raise ValueError(f"{target} does not say which environment it was trained on (it was saved from an "
                         "agent made without an env)")
    return target, env_id


def _eval(args: argparse.Namespace) -> int:
    from streamrl.algorithms import StreamAgent
    from streamrl.running.evaluate import evaluate_run

    path, env_id = _checkpoint_and_env(Path(args.target))
    if args.video and not args.video.endswith(".mp4"):
        raise ValueError(f"--video writes an MP4 file: give a name ending in .mp4, not {args.video!r}")
    agent = StreamAgent.load(path)  # the spaces come from the file; evaluate_run() makes its own env
    returns, frames = evaluate_run(agent, env_id, args.episodes, args.seed, Path(args.video) if args.video else None,
                               args.max_episode_steps, progress=True)
    for i, r in enumerate(returns, 1):
        print(f"episode {i}: return {r:.1f}")
    print(f"{type(agent).__name__} on {env_id}: mean return {sum(returns) / len(returns):.1f} over {len(returns)} "
          f"episode{'s' * (len(returns) > 1)} (deterministic, no learning)")
    if args.video:
        print(f"video: {args.video} ({frames} frames)")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from streamrl.running.plot import plot_runs

    groups, unfinished = plot_runs([Path(r) for r in args.runs], Path(args.out))
    for (algorithm, env_id), n in sorted(groups.items()):
        print(f"{algorithm} on {env_id}: {n} run{'s' * (n > 1)}")
    if unfinished:
        print(f"left out {len(unfinished)} unfinished run folder{'s' * (len(unfinished) > 1)} (no episodes.csv): "
              f"{', '.join(str(folder) for folder in unfinished)}")
    print(f"wrote {args.out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import csv

    import numpy as np

    from streamrl.data import load_weather, predict_rows
    from streamrl.running.train import write_csv

    if args.csv:
        if not args.target:
            raise ValueError("--csv needs --target COLUMN: the column whose discounted future is predicted")
        with open(args.csv, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"{args.csv} has no data rows")
        if args.target not in rows[0]:
            raise ValueError(f"{args.csv} has no column {args.target!r}; its columns: {', '.join(rows[0])}")
        columns = [c for c in rows[0] if _is_number(rows[0][c])]
        try:
            values = np.array([[float(r[c]) for c in columns] for r in rows])
        except ValueError as e:
            raise ValueError(f"{args.csv}: a numeric column holds a non-number ({e})") from None
        target = values[:, columns.index(args.target)]
    else:
        series = load_weather()
        values, columns, target = series.values, list(series.columns), series.column("Dry-bulb (C)")
    from streamrl.core.console import spinner

    # (a machine's first run also compiles the kernels here)
    with spinner(f"Stream TD over {len(target):,} rows (a first run compiles first, ~30 s)"):
        result = predict_rows(values, target, gamma=args.gamma, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "predictions.csv", ["row", "prediction", "discounted_return"],
              [[i, f"{p:.6g}", f"{g:.6g}"] for i, (p, g) in enumerate(zip(result.predictions, result.returns))])
    from streamrl.running.figures import prediction_plot

    prediction_plot(result, out / "predictions.png")
    half = len(target) // 2
    print(f"Stream TD({args.gamma}) on {len(target):,} rows x {len(columns)} columns: RMS error "
          f"{result.rmse(0):.3g} overall, {result.rmse(half):.3g} over the second half")
    print(f"wrote {out / 'predictions.csv'} and {out / 'predictions.png'}")
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _bench(args: argparse.Namespace) -> int:
    bench.run(args)
    return 0


def _report(args: argparse.Namespace) -> int:
    from streamrl.experiments.report import write_report

    out = Path(args.out) if args.out else Path(args.results[0]) / "report"
    stats = write_report([Path(p) for p in args.results], out, args.reps)
    for (method, env_id), estimate in stats.final.items():
        print(f"{method} on {env_id}: {estimate.count} run{'s' * (estimate.count > 1)}, final return "
              f"{estimate.value:,.1f} [{estimate.low:,.1f}, {estimate.high:,.1f}]")
    for method, estimate in stats.iqm.items():
        print(f"{method}: IQM of normalised final return {estimate.value:.3f} "
              f"[{estimate.low:.3f}, {estimate.high:.3f}]")
    if stats.skipped:
        print(f"left out {len(stats.skipped)} folder{'s' * (len(stats.skipped) > 1)} (listed in the report)")
    print(f"wrote {out / 'report.md'}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    spec_path = Path(args.spec)
    return _run_sweep(spec_path, Path(args.out or f"results/{spec_path.stem}"), args, _train_algorithms())


def _run_sweep(spec_path: Path, results: Path, args: argparse.Namespace, known: list[str]) -> int:
    """One sweep (or its plan, with --dry-run); the exit status: 0, 1 if a run failed or was left
    unfinished, 130 if stopped."""
    import shlex

    from streamrl.experiments.runs import plan, train_command
    from streamrl.experiments.sweep import prepare, run_sweep

    spec, runs = prepare(spec_path, results, known)
    _check_variants(spec)
    if args.dry_run:
        for run in runs:
            action = plan(results / "runs" / run.name, args.retry_failed)
            command = "" if action in ("done", "failed") else "  streamrl " + shlex.join(
                train_command(run, spec, results / "runs" / run.name)[3:])  # after 'python -m streamrl'
            print(f"{action:6} {run.name}{command}")
        print(f"{len(runs)} runs in {results} (dry run: nothing started, nothing written)")
        return 0
    result = run_sweep(spec_path, results, args.workers, args.retries, args.ray, args.retry_failed,
                       show=not args.quiet, known_algorithms=known)
    rest = "".join(f", {result.count(s)} {s}" for s in ("interrupted", "pending") if result.count(s))
    print(f"sweep: {len(result.states)} runs: {result.count('done')} done, {result.count('failed')} failed{rest}; "
          f"started {result.started} in {result.wall_time:.1f} s; summary: {results / 'sweep_summary.json'}")
    if result.summary["interrupted_by_user"]:
        print("streamrl: sweep interrupted; rerun the same command to continue", file=sys.stderr)
        return 130
    return 1 if result.count("failed") or result.count("pending") else 0  # pending: a Ray task lost its run


def _reproduce(args: argparse.Namespace) -> int:
    import importlib.util
    import tempfile

    import yaml

    from streamrl.baselines import BASELINES
    from streamrl.experiments.reproduce import PRESETS as EXPERIMENTS
    from streamrl.experiments.reproduce import preset_sweeps

    # the baselines only where Stable-Baselines3 is installed; the preset says what it leaves out
    known = [*ALGORITHMS, *(BASELINES if importlib.util.find_spec("stable_baselines3") else [])]
    sweeps, notes = preset_sweeps(args.preset, args.scale, args.seeds, known, args.baseline_scale, args.part)
    results = Path(args.out or f"results/{args.preset}")
    baselines = f" (batch baselines at {args.baseline_scale:g})" if args.baseline_scale is not None else ""
    budget = "the paper's step budget" if args.scale == 1 else f"{args.scale:g} of the paper's steps"
    print(f"{args.preset}: {EXPERIMENTS[args.preset].description}, at {budget}{baselines}")
    for note in notes:
        print(f"note: {note}")
    status = 0
    for part, spec in sweeps:
        with tempfile.TemporaryDirectory() as folder:  # the sweep keeps its own copy in RESULTS/<part>
            spec_path = Path(folder) / "sweep.yaml"
            spec_path.write_text(f"# streamrl reproduce {args.preset} --scale {args.scale:g}{baselines}: part '{part}'\n"
                                 + yaml.safe_dump(spec, sort_keys=False))
            print(f"part {part}:")
            status = max(status, _run_sweep(spec_path, results / part, args, known))
        if status == 130:
            break
    return status


def _check_variants(spec) -> None:
    """Each variant's options against each algorithm of the sweep, as --set would."""
    from streamrl.baselines import BASELINES, check_baseline_options

    for name, options in spec.variants.items():
        for algorithm in spec.algorithms:
            try:
                if algorithm in BASELINES:
                    check_baseline_options(algorithm, options)
                elif algorithm in ALGORITHMS:
                    ALGORITHMS[algorithm].check_options(options)
            except ValueError as e:
                raise ValueError(f"sweep variant {name!r} with algorithm {algorithm!r}: "
                                 f"{str(e).replace('--set ', '')}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamrl", description="Streaming deep RL (stream-x).")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train an agent and write a run folder",
                           description="Train a streaming agent; a bare 'streamrl train' is a short CartPole demo.")
    train.add_argument("algorithm", nargs="?", choices=_train_algorithms(), metavar="ALGO",
                       help="q, sarsa, ac or td (stream-x; default q), iq, iac or itd (Intentional updates), qrc "
                       "(QRC(lambda)), avg (AVG: continuous actions, torch backend); "
                       "Stable-Baselines3 baselines (the 'sb3' extra): "
                       "ppo, sac, dqn and their batch-size-1 versions ppo1, sac1, dqn1")
    train.add_argument("env", nargs="?", help="Gymnasium id (default CartPole-v1)")
    train.add_argument("--steps", type=int, help="environment steps (default 30,000)")
    train.add_argument("--seed", type=int, help="seed of the agent and the env (default 0)")
    train.add_argument("--config", metavar="FILE", help="TOML or JSON: algorithm, env, steps, seed, "
                       "checkpoint_every and an [agent] table; command-line values win")
    train.add_argument("--out", help="run folder (default runs/ALGO-ENV-seedS)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="agent option, e.g. --set lamda=0.9 --set step_rule=adaptive --set kappa=3; "
                       "'streamrl options ALGO' lists them all with their defaults and meaning")
    train.add_argument("--preset", choices=sorted(TECHNIQUE_PRESETS),
                       help="classic: every stream-x technique off (plain SGD "
                       "on the traces, default init, no layer norm, normalization, scaling or time feature); "
                       "--set values win")
    train.add_argument("--overwrite", action="store_true", help="replace the run in --out, finished or not")
    train.add_argument("--checkpoint-every", type=int, metavar="N",
                       help="checkpoint at the first episode end after every N steps (default 10,000)")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted run from its last checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard scalars")
    train.add_argument("--label", help="the run's group name in reports, stored in config.json (default: ALGO; "
                       "ALGO-classic with --preset classic)")
    train.add_argument("--progress-file", metavar="FILE",
                       help="rewrite FILE every few seconds with the step count (JSON), for a watching sweep")
    train.add_argument("--track", action="store_true", help="log the run to Weights & Biases too (the 'wandb' extra): "
                       "its TensorBoard scalars, config and summary; WANDB_MODE=offline keeps it on this machine")
    train.add_argument("--wandb-project", metavar="NAME", help="the W&B project of --track (default streamrl)")
    train.add_argument("--wandb-entity", metavar="NAME", help="the W&B team or user of --track (default: yours)")
    train.set_defaults(run=_train)
    options = sub.add_parser("options", help="every agent option of an algorithm, with its default and meaning",
                             description="List the options that 'streamrl train ALGO --set KEY=VALUE' (and config "
                             "and sweep files) take, with their defaults and meaning, and those of the step rule.")
    options.add_argument("algorithm", choices=_train_algorithms(), metavar="ALGO",
                         help=f"one of {', '.join(_train_algorithms())}")
    options.add_argument("--set", action="append", default=[], metavar="step_rule=NAME",
                         help="list the options of this step rule instead of the algorithm's own")
    options.set_defaults(run=_options)
    evaluate = sub.add_parser("eval", help="evaluate a trained agent without learning, optionally with video")
    evaluate.add_argument("target", metavar="RUN_OR_CHECKPOINT")
    evaluate.add_argument("--episodes", type=int, default=5)
    evaluate.add_argument("--seed", type=int, default=1000, help="evaluation env seed (default 1000)")
    evaluate.add_argument("--video", metavar="FILE.mp4", help="render the episodes offscreen to an MP4")
    evaluate.add_argument("--max-episode-steps", type=int, help="cut evaluation episodes at this length")
    evaluate.set_defaults(run=_eval)
    plot = sub.add_parser("plot", help="learning curves of runs, mean over seeds with a standard-error band")
    plot.add_argument("runs", nargs="+", metavar="RUNS", help="run folders, or folders searched for them (a sweep's "
                      "results folder), as for streamrl report")
    plot.add_argument("--out", default="learning_curves.png")
    plot.set_defaults(run=_plot)
    predict = sub.add_parser("predict", help="Stream TD(lambda) predictions on a CSV stream or the built-in data")
    predict.add_argument("--csv", help="rows of numbers with a header (default: the built-in weather series)")
    predict.add_argument("--target", help="the column whose discounted future is predicted")
    predict.add_argument("--gamma", type=float, default=0.99)
    predict.add_argument("--seed", type=int, default=0)
    predict.add_argument("--out", default="prediction", help="output folder (default ./prediction)")
    predict.set_defaults(run=_predict)
    bench_parser = sub.add_parser("bench", help="steps per second of each agent, medians over repeats")
    bench.add_arguments(bench_parser)
    bench_parser.set_defaults(run=_bench)
    report = sub.add_parser("report", help="learning curves, final returns and IQM / probability of improvement "
                            "across environments, as Markdown and PNGs")
    report.add_argument("results", nargs="+", metavar="RESULTS", help="folders searched for run folders")
    report.add_argument("--out", help="report folder (default RESULTS/report, for the first RESULTS)")
    report.add_argument("--reps", type=int, default=2000, help="bootstrap resamples per interval (default 2,000)")
    report.set_defaults(run=_report)
    sweep = sub.add_parser("sweep", help="many training runs (algorithms x envs x variants x seeds) on local "
                           "worker processes or a Ray cluster; rerun to continue",
                           description="Run every 'streamrl train' of a sweep file; a rerun skips finished runs "
                           "and resumes interrupted ones from their checkpoints.")
    sweep.add_argument("spec", metavar="FILE.yaml", help="algorithms, envs, seeds, steps, checkpoint_every, "
                       "tensorboard and named variants of agent options")
    sweep.add_argument("--out", metavar="RESULTS", help="results folder (default results/FILE)")
    _add_sweep_options(sweep)
    sweep.set_defaults(run=_sweep)
    reproduce = sub.add_parser("reproduce", help="the paper's experiments as sweeps, at a fraction of its steps",
                               description="Run a preset of the paper's experiments as sweeps (one per part, in "
                               "RESULTS/<part>); rerun to continue.")
    from streamrl.experiments.reproduce import PRESETS as EXPERIMENTS

    reproduce.add_argument("preset", choices=list(EXPERIMENTS), help="; ".join(f"{k}: {p.description}"
                                                                       for k, p in EXPERIMENTS.items()))
    reproduce.add_argument("--scale", type=float, default=1.0,
                           help="fraction of the paper's step budget (default 1: 2M MuJoCo/DMC, 5M MinAtar, 10M Atari)")
    reproduce.add_argument("--baseline-scale", type=float, metavar="F",
                           help="fraction of the paper's steps for the batch baselines (default: --scale); SAC1 and "
                           "PPO1 make tens of steps per second on a laptop")
    reproduce.add_argument("--seeds", type=int, help="seeds per setting (default 5; MinAtar and Atari 3)")
    reproduce.add_argument("--part", nargs="+", metavar="PART", help="run only these parts of the preset (each its "
                           "own sweep in RESULTS/PART), e.g. at a scale of their own")
    reproduce.add_argument("--out", metavar="RESULTS", help="results folder (default results/PRESET)")
    _add_sweep_options(reproduce)
    reproduce.set_defaults(run=_reproduce)
    return parser


def _add_sweep_options(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help=f"runs at once on this machine (default: the number of cores, {os.cpu_count()})")
    sweep.add_argument("--ray", metavar="ADDRESS", help="run on the Ray cluster at ADDRESS (or 'auto'); the "
                       "results folder must be on a filesystem every node sees")
    sweep.add_argument("--retries", type=int, default=2,
                       help="times a run whose process was killed is resumed before it counts as failed (default 2)")
    sweep.add_argument("--retry-failed", action="store_true", help="run again the runs that failed before")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs and what would be done to each")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")


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
    except Exception as e:  # a bug, not a user mistake: still one line, with a way to see more
        if os.environ.get("STREAMRL_DEBUG"):
            raise
        print(f"streamrl: internal error: {type(e).__name__}: {e} (set STREAMRL_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
