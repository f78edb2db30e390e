"""``streamrl report``: learning curves, final returns and cross-environment statistics of many
runs, written as Markdown with PNG figures.

Definitions (the report restates them):

- A run folder is any folder below the given paths with ``config.json`` and ``episodes.csv``;
  runs are grouped by method (the config's ``label`` if present, else its ``algorithm``) and
  environment id.
- A run's final return is the mean return of the episodes that ended in the last 10% of its step
  budget (``end_step > 0.9 * steps``); if none ended there, the return of its last episode.
- Per environment, the learning curves and the final-return table show the mean over seeds with
  a 95% percentile-bootstrap interval over seeds (resampling whole runs), NumPy's PCG64 seeded
  with ``BOOTSTRAP_SEED``.
- Across environments final returns are normalised per environment: divided by the paper's
  stream-x figure where the paper gives one for that environment, else min-max scaled over all
  runs' final returns on it. The interquartile mean (IQM) with stratified-bootstrap 95% intervals
  and the probability of improvement come from rliable.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import re
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from streamrl.core.files import atomic_path
from streamrl.running.figures import save_figure
from streamrl.running.plot import (
    CURVE_WINDOW,
    GRID_POINTS,
    SeedRun,
    draw_curves,
    find_run_folders,
    method_name,
    read_run,
)
from streamrl.running.train import read_run_config

BOOTSTRAP_SEED = 0
DEFAULT_REPS = 2000
CONFIDENCE = 0.95
FINAL_PERCENT = 10  # the final return averages the episodes that ended in this last part of the budget
_CHUNK = 256  # bootstrap replicates averaged at a time (bounds memory for long curves and many seeds)

# The paper's final average episodic returns (Elsayed, Vasan & Mahmood 2024, the figures of its
# stream-barrier and Atari comparisons). "classic" is the paper's stream algorithm with every stream-x technique off.
PUBLISHED = {
    "Hopper-v4": {"classic": 0, "PPO1": 449, "SAC1": 276, "stream-x": 2173, "PPO": 2041, "SAC": 2304},
    "Walker2d-v4": {"classic": 0, "PPO1": 415, "SAC1": 624, "stream-x": 4335, "PPO": 2386, "SAC": 5098},
    "dog-stand (DMC)": {"classic": 0, "PPO1": 205, "SAC1": 0, "stream-x": 757, "PPO": 239, "SAC": 0},
    "cheetah-run (DMC)": {"classic": 0, "PPO1": 180, "SAC1": 282, "stream-x": 715, "PPO": 416, "SAC": 896},
    "Breakout": {"classic": 43, "DQN1": 2, "stream-x": 225, "DQN": 385},
    "Enduro": {"classic": 52, "DQN1": 0, "stream-x": 1156, "DQN": 729},
}
# Which streamrl algorithm is the paper's stream-x (and, techniques off, classic) method in each row.
STREAM_ALGORITHM = {"Hopper-v4": "ac", "Walker2d-v4": "ac", "dog-stand (DMC)": "ac",
                    "cheetah-run (DMC)": "ac", "Breakout": "q", "Enduro": "q"}
BATCH_METHODS = ("ppo", "ppo1", "sac", "sac1", "dqn", "dqn1")
_PAPER_ROWS = ((re.compile(r"(Hopper|Walker2d)-v[45]"), "{}-v4"),
               (re.compile(r"dm_control/(dog-stand|cheetah-run)-v\d+"), "{} (DMC)"),
               (re.compile(r"(?:ALE/)?(Breakout|Enduro)(?:NoFrameskip)?-v[45]"), "{}"))


@dataclass(frozen=True)
class Run:
    folder: Path
    method: str
    env_id: str
    seed: int
    steps: int  # the step budget
    episode_ends: np.ndarray
    returns: np.ndarray
    wall_time: float | None  # seconds, as the run measured it

    @property
    def final_return(self) -> float | None:
        return final_return(self.episode_ends, self.returns, self.steps)


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    count: int  # the runs behind it


@dataclass(frozen=True)
class Normaliser:
    low: float
    high: float
    how: str
    from_runs: bool = False  # scaled by the runs themselves (no published figure)

    def __call__(self, finals: np.ndarray) -> np.ndarray:
        if self.high == self.low:  # every run on the env ended equal: the middle of the scale
            return np.full(len(finals), 0.5)
        return (finals - self.low) / (self.high - self.low)


@dataclass
class Statistics:
    runs: list[Run]
    skipped: list[str]  # folders left out, each with the reason
    groups: dict[tuple[str, str], list[Run]]  # (method, env id) -> runs with episodes, by seed
    final: dict[tuple[str, str], Estimate]
    normalisers: dict[str, Normaliser]
    scores: dict[str, dict[str, np.ndarray]]  # method -> env id -> normalised final returns
    iqm: dict[str, Estimate]
    improvement: dict[tuple[str, str], Estimate]  # (x, y) -> P(x > y)
    reps: int
    failed: dict[tuple[str, str], list[tuple[int, str]]]  # (method, env id) -> (seed, error) of runs that failed


def final_return(episode_ends: np.ndarray, returns: np.ndarray, budget: int) -> float | None:
    """Mean return of the episodes that ended in the last FINAL_PERCENT of ``budget`` steps; the
    last episode's if none did; None without episodes."""
    if not len(returns):
        return None
    last = returns[np.asarray(episode_ends) * 100 > budget * (100 - FINAL_PERCENT)]  # integers: exact
    return float(np.mean(last)) if len(last) else float(returns[-1])


def paper_row(env_id: str) -> str | None:
    """The row of the paper's table for ``env_id`` (v5 MuJoCo and ALE ids map to the paper's v4 rows)."""
    for pattern, row in _PAPER_ROWS:
        match = pattern.fullmatch(env_id)
        if match:
            return row.format(match.group(1))
    return None


def paper_column(method: str, row: str) -> str | None:
    """The paper's column for a method name: ``ac``/``stream-x`` -> stream-x (``q`` on Atari),
    ``classic``/``classic-ac``/``ac-classic`` -> classic, ``ppo1`` -> PPO1 and so on."""
    name, algorithm = method.lower().replace("_", "-"), STREAM_ALGORITHM[row]
    if name in BATCH_METHODS:
        return name.upper()
    if name in (algorithm, "stream-x", f"stream-{algorithm}", f"{algorithm}-stream-x"):
        return "stream-x"
    if name in ("classic", f"classic-{algorithm}", f"{algorithm}-classic"):
        return "classic"
    return None


def published(method: str, env_id: str) -> tuple[float, str, str] | None:
    """(figure, paper row, paper column) where the paper gives a figure for this method and env."""
    row = paper_row(env_id)
    column = paper_column(method, row) if row else None
    if column is None or column not in PUBLISHED[row]:
        return None
    return PUBLISHED[row][column], row, column


def read_report_run(folder: Path) -> Run:
    """One run folder, or a one-line ValueError naming it and what is wrong."""
    def unreadable(why: str) -> ValueError:
        return ValueError(f"run folder {folder} is unreadable: {why}; fix or remove it")

    try:
        read_run_config(folder)
    except ValueError as e:  # not JSON, or without the keys every run has
        raise unreadable(str(e).split("; ")[0]) from None
    try:
        config, episode_ends, returns = read_run(folder)
    except KeyError as e:
        raise unreadable(f"episodes.csv has no column {e}") from None
    except (ValueError, TypeError) as e:
        raise unreadable(f"episodes.csv holds a bad value ({e})") from None
    except OSError as e:
        raise unreadable(str(e)) from None
    if not np.all(np.diff(episode_ends) > 0):
        raise unreadable("the end steps in episodes.csv do not increase")
    if not np.all(np.isfinite(returns)):
        raise unreadable("episodes.csv holds a return that is not a finite number")
    try:
        steps, seed = int(config["steps"]), int(config["seed"])
    except (ValueError, TypeError):
        raise unreadable(f"config.json's steps and seed must be integers, got {config['steps']!r} and "
                         f"{config['seed']!r}") from None
    try:
        wall_time = _wall_time(folder)
    except (ValueError, OSError) as e:
        raise unreadable(str(e)) from None
    return Run(folder, str(method_name(config)), str(config["env_id"]), seed, steps, episode_ends, returns, wall_time)


def _wall_time(folder: Path) -> float | None:
    """The run's wall time from summary.json, else from the last row of timing.csv, else None."""
    if (folder / "summary.json").is_file():
        try:
            wall = json.loads((folder / "summary.json").read_text()).get("wall_time_s")
        except (json.JSONDecodeError, AttributeError):
            raise ValueError("summary.json is not a JSON object") from None
        if wall is not None:
            return float(wall)
    if (folder / "timing.csv").is_file():
        rows = list(csv.DictReader((folder / "timing.csv").open()))
        try:
            return float(rows[-1]["wall_time"]) if rows else None
        except (KeyError, TypeError, ValueError):
            raise ValueError("timing.csv lacks a wall_time column of numbers") from None
    return None


def bootstrap_mean_interval(values: np.ndarray, reps: int, seed: int = BOOTSTRAP_SEED,
                            confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over the rows (seeds) of ``values`` (seeds x points) and its percentile-bootstrap
    interval at each point: ``reps`` resamples of the rows with replacement, drawn at once as
    ``default_rng(seed).integers(0, seeds, (reps, seeds))``; NaNs (a seed without a value there)
    are left out of each mean."""
    index = np.random.default_rng(seed).integers(0, len(values), size=(reps, len(values)))
    means = np.empty((reps, values.shape[1]))
    alpha = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():  # points no resampled seed reaches are NaN, not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        for start in range(0, reps, _CHUNK):
            means[start:start + _CHUNK] = np.nanmean(values[index[start:start + _CHUNK]], axis=1)
        low, high = np.nanpercentile(means, [alpha, 100 - alpha], axis=0)
        return np.nanmean(values, axis=0), low, high


def _rliable():
    from streamrl.core.extras import require

    what = "streamrl report's cross-environment statistics"
    return require("rliable.library", "report", what), require("rliable.metrics", "report", what)


@contextlib.contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """rliable 1.2.0's stratified bootstraps draw from NumPy's global generator (its random_state
    argument does not reach them), so each estimate seeds it, and the caller's state comes back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _interval(library, arrays: list[np.ndarray], statistic, reps: int) -> tuple[float, float]:
    with _global_numpy_seed(BOOTSTRAP_SEED):
        _, intervals = library.get_interval_estimates({"x": arrays}, statistic, reps=reps,
                                                      confidence_interval_size=CONFIDENCE)
    return float(intervals["x"][0, 0]), float(intervals["x"][1, 0])


def interquartile_means(scores: dict[str, dict[str, np.ndarray]], reps: int) -> dict[str, Estimate]:
    """Each method's IQM over all its runs on all its envs (rliable's aggregate_iqm), with a
    stratified-bootstrap interval: runs resampled within each env (rliable's
    StratifiedIndependentBootstrap, one (runs x 1) array per env, envs in sorted order)."""
    library, metrics = _rliable()

    def iqm(*per_env: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(np.concatenate(per_env))])

    estimates = {}
    for method, per_env in sorted(scores.items()):
        arrays = [per_env[env][:, None] for env in sorted(per_env)]
        low, high = _interval(library, arrays, iqm, reps)
        estimates[method] = Estimate(float(iqm(*arrays)[0]), low, high, sum(len(a) for a in arrays))
    return estimates


def _mean_improvement(*pairs: np.ndarray) -> np.ndarray:
    """Mean over envs of P(x > y) (ties count one half) for arrays x_1, y_1, x_2, y_2, ...: the
    Mann-Whitney U / (n m) that rliable's probability_of_improvement computes with scipy, written
    with NumPy for the bootstrap replicates (scipy's call dominates their time a hundredfold)."""
    per_env = [np.mean((x[:, None, 0] > y[None, :, 0]) + 0.5 * (x[:, None, 0] == y[None, :, 0]))
               for x, y in zip(pairs[::2], pairs[1::2])]
    return np.array([np.mean(per_env)])


def improvement_probabilities(scores: dict[str, dict[str, np.ndarray]], reps: int) -> dict[tuple[str, str], Estimate]:
    """P(X > Y) for every two methods over the envs both ran on: the point estimate is rliable's
    probability_of_improvement averaged over those envs; the interval resamples each method's
    runs within each env independently (StratifiedIndependentBootstrap). P(Y > X) = 1 - P(X > Y)."""
    library, metrics = _rliable()
    estimates = {}
    for x, y in combinations(sorted(scores), 2):
        envs = sorted(set(scores[x]) & set(scores[y]))
        if not envs:
            continue
        arrays = [a[:, None] for env in envs for a in (scores[x][env], scores[y][env])]
        value = float(np.mean([metrics.probability_of_improvement(scores[x][env][:, None], scores[y][env][:, None])
                               for env in envs]))
        low, high = _interval(library, arrays, _mean_improvement, reps)
        count = sum(len(a) for a in arrays)
        estimates[(x, y)] = Estimate(value, low, high, count)
        estimates[(y, x)] = Estimate(1 - value, 1 - high, 1 - low, count)
    return estimates


def normaliser(env_id: str, finals: np.ndarray) -> Normaliser:
    """Divide by the paper's stream-x figure for the env where it has one (above zero); else
    min-max over all runs' final returns on the env."""
    row = paper_row(env_id)
    if row is not None and PUBLISHED[row].get("stream-x", 0) > 0:
        figure = PUBLISHED[row]["stream-x"]
        return Normaliser(0.0, figure, f"÷ {figure:,}, the paper's stream-x figure ({row})")
    low, high = float(np.min(finals)), float(np.max(finals))
    return Normaliser(low, high, f"min-max over all runs' final returns: (x − {low:,.1f}) / "
                                 f"({high:,.1f} − {low:,.1f})" if high > low else
                      f"all runs' final returns equal {low:,.1f}: every run scores 0.5", from_runs=True)


def _shown(folder: Path) -> Path:
    """A folder as the report names it: relative to the working directory when inside it (a
    committed report then names no machine's home), else as found."""
    try:
        return folder.relative_to(Path.cwd())
    except ValueError:
        return folder


def _sweep_status(folder: Path) -> tuple[str, str | None] | None:
    """(state, error) from a sweep's status.json in ``folder``, or None without a readable one."""
    try:
        status = json.loads((folder / "status.json").read_text())
        return str(status["state"]), status.get("error")
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _unfinished_reason(folder: Path) -> str:
    """Why a run folder has no episodes.csv: a sweep's status.json says it, else the run has not finished."""
    status = _sweep_status(folder)
    if status is None:
        return "no episodes.csv (the run has not finished)"
    if status[0] == "failed":
        return f"failed: {status[1] or 'no error recorded'}"
    return f"no episodes.csv (sweep state: {status[0]})"


def _failed_run(folder: Path) -> tuple[str, str, int, str] | None:
    """(method, env id, seed, error) of a sweep run that failed (e.g. a classic agent that diverged),
    so the report can show it beside its setting; None for other unfinished folders."""
    status = _sweep_status(folder)
    if status is None or status[0] != "failed":
        return None
    try:
        config = read_run_config(folder)
        return str(method_name(config)), str(config["env_id"]), int(config["seed"]), status[1] or "no error recorded"
    except (ValueError, TypeError, KeyError):
        return None


def _error_summary(errors: list[str]) -> str:
    """Runs' errors in a few words: the first clause of each (and the divergence, if one is named),
    step numbers gathered ("at steps 4, 5")."""
    clauses: dict[str, list[str]] = defaultdict(list)
    for error in errors:
        first, *rest = error.removeprefix("streamrl: error: ").split("; ")
        # the first clause, and why if the agent diverged (a classic agent without the bound)
        clause = "; ".join([first, *[part for part in rest if "diverged" in part][:1]])
        step = re.search(r"at step ([\d,]+)", clause)
        clauses[re.sub(r"at step [\d,]+", "at step {}", clause)].append(step.group(1) if step else "")
    parts = []
    for clause, steps in clauses.items():
        known = sorted({s for s in steps if s}, key=lambda s: int(s.replace(",", "")))
        parts.append(clause.replace("at step {}", f"at step{'s' * (len(known) > 1)} {', '.join(known)}")
                     if known else clause)
    return "; ".join(parts)


def compute_statistics(paths: Sequence[Path], reps: int = DEFAULT_REPS) -> Statistics:
    """Read every run below ``paths`` and compute all the report's numbers (nothing is written)."""
    if reps < 1:
        raise ValueError(f"--reps must be a positive number of bootstrap resamples, got {reps}")
    folders, unfinished = find_run_folders(paths)
    if not folders:
        where = ", ".join(str(p) for p in paths)
        raise ValueError(f"no run folders (config.json and episodes.csv from 'streamrl train') below {where}")
    runs = [read_report_run(folder) for folder in folders]
    failed: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    skipped = []
    for folder in unfinished:
        if (run := _failed_run(folder)) is not None:
            failed[run[:2]].append(run[2:])
        else:
            skipped.append(f"{_shown(folder)}: {_unfinished_reason(folder)}")
    skipped += [f"{_shown(run.folder)}: no finished episode" for run in runs if not len(run.returns)]
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: (r.seed, str(r.folder))):
        if len(run.returns):
            groups[(run.method, run.env_id)].append(run)
    if not groups:
        raise ValueError("none of the runs has a finished episode: train them longer")
    groups = dict(sorted(groups.items()))
    final = {}
    for key, members in groups.items():
        finals = np.array([[run.final_return] for run in members])
        mean, low, high = bootstrap_mean_interval(finals, reps)
        final[key] = Estimate(float(mean[0]), float(low[0]), float(high[0]), len(members))
    envs = sorted({env for _, env in groups})
    normalisers = {env: normaliser(env, np.array([r.final_return for (_, e), m in groups.items() if e == env
                                                  for r in m])) for env in envs}
    scores: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for (method, env), members in groups.items():
        scores[method][env] = normalisers[env](np.array([run.final_return for run in members]))
    scores = dict(scores)
    return Statistics(runs, skipped, groups, final, normalisers, scores, interquartile_means(scores, reps),
                      improvement_probabilities(scores, reps), reps, {k: sorted(v) for k, v in sorted(failed.items())})


FINALS_FILE = "final_returns.csv"
ZOOM_RATIO = 10  # budgets this many times shorter than the longest get a panel of their own


def zoom_budget(budgets: list[int]) -> int | None:
    """The longest budget at least ZOOM_RATIO times shorter than the longest one, if any."""
    short = [b for b in budgets if b * ZOOM_RATIO <= max(budgets)]
    return max(short) if short else None


def truncated(methods: dict[str, list[SeedRun]], steps: int) -> dict[str, list[SeedRun]]:
    """Every run cut at ``steps``: its episodes that ended by then, its budget at most ``steps``."""
    cut = {method: [(ends[ends <= steps], returns[ends <= steps], min(total, steps))
                    for ends, returns, total in members if (ends <= steps).any()]
           for method, members in methods.items()}
    return {method: members for method, members in cut.items() if members}


def write_finals(stats: Statistics, path: Path) -> None:
    """One row per run in the statistics (method, env, seed, budget, final return, wall time), so
    a committed report can be checked or pooled with other runs without the run folders."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "env_id", "seed", "steps", "final_return", "episodes", "wall_time_s"])
        for (method, env), members in stats.groups.items():
            for run in members:
                writer.writerow([method, env, run.seed, run.steps, repr(float(run.final_return)), len(run.returns),
                                 "" if run.wall_time is None else round(run.wall_time, 1)])


def write_report(paths: Sequence[Path], out: Path, reps: int = DEFAULT_REPS) -> Statistics:
    """Compute the statistics, then write ``out``/report.md with its PNG figures (each atomically)."""
    stats = compute_statistics(paths, reps)
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    curve_files = {}
    colors = {method: f"C{i}" for i, method in enumerate(sorted(stats.scores))}
    def band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return bootstrap_mean_interval(curves, stats.reps)

    for env in sorted({env for _, env in stats.groups}):
        methods: dict[str, list[SeedRun]] = {method: [(r.episode_ends, r.returns, r.steps) for r in members]
                                             for (method, e), members in stats.groups.items() if e == env}
        references = {method: (paper[0], f"paper: {paper[2]} ({paper[1]}), final")
                      for method in methods if (paper := published(method, env))}
        zoom = zoom_budget([total for members in methods.values() for _, _, total in members])
        fig = Figure(figsize=(13, 4.5) if zoom else (7, 4.5))
        axes = fig.subplots(1, 2 if zoom else 1, squeeze=False)[0]
        draw_curves(axes[0], env, methods, band, colors, references)
        if zoom:  # the short runs (slow baselines) are a sliver of the long ones' axis: their own panel
            draw_curves(axes[1], f"{env}: the first {zoom:,} steps", truncated(methods, zoom), band, colors)
        curve_files[env] = f"curves-{re.sub(r'[^A-Za-z0-9._-]+', '_', env)}.png"
        save_figure(fig, out / curve_files[env])
    for old in out.glob("curves-*.png"):  # figures of envs an earlier report had and this one has not
        if old.name not in curve_files.values():
            old.unlink()
    _iqm_figure(stats.iqm, out / "aggregate-iqm.png")
    with atomic_path(out / FINALS_FILE) as tmp:
        write_finals(stats, Path(tmp))
    with atomic_path(out / "report.md") as tmp:
        Path(tmp).write_text(render_markdown(stats, paths, curve_files, "aggregate-iqm.png"))
    return stats


def _iqm_figure(iqm: dict[str, Estimate], path: Path) -> None:
    from matplotlib.figure import Figure

    methods = sorted(iqm)
    fig = Figure(figsize=(6, 1.2 + 0.5 * len(methods)))
    ax = fig.subplots()
    for i, method in enumerate(methods):  # colours in the curves' order; first method on top
        estimate = iqm[method]
        ax.barh(-i, estimate.high - estimate.low, left=estimate.low, height=0.6, alpha=0.4, color=f"C{i}")
        ax.plot([estimate.value], [-i], marker="|", markersize=18, markeredgewidth=2, color=f"C{i}")
    ax.set_yticks([-i for i in range(len(methods))], methods)
    ax.use_sticky_edges = False  # bars would pin the x range to their ends
    ax.margins(x=0.08)
    ax.set_xlabel(f"IQM of normalised final return ({CONFIDENCE:.0%} stratified-bootstrap CI)")
    save_figure(fig, path)


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _interval_text(estimate: Estimate, digits: int) -> str:
    if estimate.count < 2:
        return "— (1 run)"
    return f"[{estimate.low:,.{digits}f}, {estimate.high:,.{digits}f}]"


def _duration(seconds: float) -> str:
    """A wall time in its units: 0.4 s, 12.3 s, 4 min 05 s, 2 h 07 min."""
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    if round(seconds) < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def _budgets(runs: list[Run]) -> str:
    low, high = min(r.steps for r in runs), max(r.steps for r in runs)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def _wall_cells(runs: list[Run]) -> tuple[str, str]:
    """The runs' summed wall time, and their steps per second over it (runs that measured one)."""
    timed = [r for r in runs if r.wall_time is not None]
    wall = sum(r.wall_time for r in timed)
    unknown = f" ({len(runs) - len(timed)} runs unknown)" if len(timed) < len(runs) else ""
    rate = f"{sum(r.steps for r in timed) / wall:,.0f}" if wall > 0 else "—"
    return (_duration(wall) if timed else "—") + unknown, rate


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def render_markdown(stats: Statistics, paths: Sequence[Path], curve_files: dict[str, str], iqm_file: str) -> str:
    from streamrl.core.version import __version__

    envs = sorted({env for _, env in stats.groups})
    methods = sorted({method for method, _ in stats.groups})
    used = sum(len(m) for m in stats.groups.values())
    lines = ["# streamrl report", "",
             f"Runs found below {', '.join(f'`{p}`' for p in paths)}: {used} runs of {len(methods)} method"
             f"{'s' * (len(methods) > 1)} on {len(envs)} environment{'s' * (len(envs) > 1)}. "
             f"Written by streamrl {__version__} on {machine_description()}; the run folders do not say "
             f"which machine ran them, and their wall times are their own measurements.", ""]
    lines += ["## Runs and wall time", ""]
    rows = [[method, env, str(len(members)), _budgets(members), *_wall_cells(members)]
            for (method, env), members in stats.groups.items()]
    rows.append(["all", "", str(used), "", _wall_cells([r for m in stats.groups.values() for r in m])[0], ""])
    lines += _table(["method", "environment", "seeds", "steps per run", "wall time (sum over seeds)", "steps/s"], rows)
    for env in sorted({*envs, *(env for _, env in stats.failed)}):  # an env may have failed runs only
        row = paper_row(env)
        if env not in envs:
            lines += [f"## {env}", ""]
            lines += _failed_table(stats, env, row)
            continue
        lines += [f"## {env}", "", f"![learning curves on {env}]({curve_files[env]})", "",
                  f"Curves: mean over seeds of each run's mean return over its last {CURVE_WINDOW} episodes, "
                  f"with a {CONFIDENCE:.0%} bootstrap confidence band. Final return: the mean return of the "
                  f"episodes that ended in the last {FINAL_PERCENT}% of each run's budget, as a mean over seeds "
                  f"with its {CONFIDENCE:.0%} bootstrap interval.", ""]
        rows = []
        for (method, e), members in stats.groups.items():
            if e != env:
                continue
            estimate, paper = stats.final[(method, env)], published(method, env)
            rows.append([method, str(len(members)), _budgets(members), f"{estimate.value:,.1f}",
                         _interval_text(estimate, 1), f"{paper[0]:,} ({paper[2]})" if paper else "—"])
        lines += _table(["method", "seeds", "steps per run", "final return", f"{CONFIDENCE:.0%} CI",
                         f"paper ({row})" if row else "paper"], rows)
        lines += _failed_table(stats, env, row)
    lines += _aggregate_markdown(stats, methods, iqm_file)
    lines += _definitions(stats)
    return "\n".join(lines)


def _failed_table(stats: Statistics, env: str, row: str | None) -> list[str]:
    """The runs on ``env`` that stopped with an error, one row per method."""
    failed = [(method, runs) for (method, e), runs in stats.failed.items() if e == env]
    if not failed:
        return []
    rows = []
    for method, runs in failed:
        paper = published(method, env)
        seeds = ", ".join(str(seed) for seed, _ in runs)
        rows.append([method, f"{len(runs)} (seed{'s' * (len(runs) > 1)} {seeds})",
                     _error_summary([error for _, error in runs]), f"{paper[0]:,} ({paper[2]})" if paper else "—"])
    return ["Runs that stopped with an error (no return, so not in the statistics):", "",
            *_table(["method", "runs", "error", f"paper ({row})" if row else "paper"], rows)]


def _aggregate_markdown(stats: Statistics, methods: list[str], iqm_file: str) -> list[str]:
    lines = ["## Across environments", "",
             "Each run's final return is normalised per environment so that environments can be pooled:", ""]
    budgets = {method: sorted({r.steps for (m, _), members in stats.groups.items() if m == method for r in members})
               for method in methods}
    if len({tuple(b) for b in budgets.values()}) > 1:
        lines[2:2] = [f"**The methods ran for different numbers of steps** "
                      f"({'; '.join(f'{m}: ' + ', '.join(f'{b:,}' for b in budgets[m]) for m in methods)}): "
                      "each is scored at the end of its own budget, so these statistics do not compare methods "
                      "at equal experience.", ""]
    lines += _table(["environment", "normalised score"],
                    [[env, stats.normalisers[env].how] for env in sorted(stats.normalisers)])
    if len(methods) == 1 and all(n.from_runs for n in stats.normalisers.values()):
        lines += ["**One method and no paper figure to scale by:** each environment is scaled by this "
                  "method's own runs, so the IQM below only describes how its seeds spread within each "
                  "environment. It compares nothing; the per-environment tables above are the result.", ""]
    lines += ["### Interquartile mean", "", f"![IQM of normalised final returns]({iqm_file})", "",
              f"IQM (rliable `aggregate_iqm`: the mean of the middle 50% of all runs' normalised scores) "
              f"with {CONFIDENCE:.0%} stratified-bootstrap intervals (runs resampled within each "
              f"environment, {stats.reps:,} resamples).", ""]
    lines += _table(["method", "runs", "environments", "IQM", f"{CONFIDENCE:.0%} CI"],
                    [[m, str(stats.iqm[m].count), ", ".join(sorted(stats.scores[m])), f"{stats.iqm[m].value:.3f}",
                      _interval_text(stats.iqm[m], 3)] for m in methods])
    if len(methods) > 1:
        lines += ["### Probability of improvement", "",
                  "P(row > column): the probability that a run of the row's method ends with a higher "
                  "normalised score than a run of the column's on the same environment (ties count "
                  "one half; rliable `probability_of_improvement`), averaged over the environments "
                  f"both ran on, with {CONFIDENCE:.0%} stratified-bootstrap intervals.", ""]
        rows = []
        for x in methods:
            cells = []
            for y in methods:
                estimate = stats.improvement.get((x, y))
                cells.append("—" if estimate is None else f"{estimate.value:.2f} {_interval_text(estimate, 2)}")
            rows.append([x, *cells])
        lines += _table(["P(row > column)", *methods], rows)
    return lines


def _definitions(stats: Statistics) -> list[str]:
    lines = ["## How the numbers are made", "",
             f"- **Final return** of a run: the mean return of the episodes that ended in the last "
             f"{FINAL_PERCENT}% of its step budget (the return of its last episode if none did). The "
             f"tables give the mean over seeds with a {CONFIDENCE:.0%} percentile bootstrap over seeds "
             f"({stats.reps:,} resamples, NumPy PCG64 seeded with {BOOTSTRAP_SEED}).",
             f"- **Curves**: each run's mean return over its last {CURVE_WINDOW} episodes at {GRID_POINTS} "
             f"points from 0 to the longest budget; a run has no value before its first episode ends or past "
             f"its own budget.",
             "- **Paper figures** (Elsayed, Vasan & Mahmood 2024, final average episodic return at the "
             "paper's budget: 2M steps for MuJoCo and DM Control, 10M for Atari) stand beside runs of "
             "the same setting: Hopper-v5 and Walker2d-v5 are shown against the paper's Hopper-v4 and "
             "Walker2d-v4 rows, `ALE/<Game>-v5` and `<Game>NoFrameskip-v4` against the game's row. "
             "Methods map to the paper's columns by name: `ac` (`q` on Atari), `stream-x` -> stream-x; "
             "`classic`, `classic-ac`, `ac-classic` -> classic; `ppo1` -> PPO1, likewise PPO, SAC1, SAC, "
             "DQN1, DQN. Other labels have no paper figure.",
             f"- **Cross-environment statistics** use rliable; its bootstraps (in rliable 1.2.0) draw from NumPy's "
             f"global generator, which the report seeds with {BOOTSTRAP_SEED} for each estimate, so the "
             f"same runs give the same report.",
             f"- **`{FINALS_FILE}`** beside this report: every run's final return, budget, episode count and wall "
             f"time, one row per run.", ""]
    if stats.skipped:
        lines += ["Left out:", "", *(f"- {line}" for line in stats.skipped), ""]
    return lines
