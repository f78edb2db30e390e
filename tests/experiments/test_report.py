"""streamrl report on a small synthetic results folder (real files): final returns, bootstrap
intervals, IQM and probability of improvement against hand numbers and independent NumPy
implementations of the same bootstraps; the Markdown, the figures, the CLI and its errors."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from streamrl.experiments.report import (
    _mean_improvement,
    bootstrap_mean_interval,
    compute_statistics,
    final_return,
    paper_row,
    published,
    write_report,
)
from tests.helpers import streamrl as run

REPS = 400
BUDGET = 1000
HOPPER_PAPER = 2173  # the paper's stream-x figure for Hopper-v4, the normaliser of Hopper-v5
# Final returns chosen so the normalised scores are exact binary fractions.
FINALS = {
    ("ac", "Hopper-v5"): [s * HOPPER_PAPER for s in (0.75, 1.0, 1.5, 2.0)],
    ("ppo1", "Hopper-v5"): [s * HOPPER_PAPER for s in (0.125, 0.25, 0.375, 0.5)],
    ("ac", "CartPole-v1"): [300.0, 400.0, 500.0, 500.0],
    ("ppo1", "CartPole-v1"): [100.0, 150.0, 200.0, 250.0],
}
FINALS.update({("ac-copy", env): FINALS[("ac", env)] for env in ("Hopper-v5", "CartPole-v1")})
# normalised by hand: Hopper ÷ 2173; CartPole min-max over all its runs, (x - 100) / (500 - 100)
SCORES = {"ac": {"Hopper-v5": [0.75, 1.0, 1.5, 2.0], "CartPole-v1": [0.5, 0.75, 1.0, 1.0]},
          "ppo1": {"Hopper-v5": [0.125, 0.25, 0.375, 0.5], "CartPole-v1": [0.0, 0.125, 0.25, 0.375]}}
SCORES["ac-copy"] = SCORES["ac"]


def write_run(folder, config, episodes, summary=None, timing=None):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    with (folder / "episodes.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["end_step", "return", "length"])
        writer.writerows([end, repr(ret), 1] for end, ret in episodes)
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    if timing is not None:
        (folder / "timing.csv").write_text(f"end_step,wall_time\n500,1.0\n{BUDGET},{timing}\n")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """ac and ppo1 by algorithm, ac-copy by label (same finals as ac), 4 seeds each on two envs;
    wall times from summary.json (ac), timing.csv (ppo1) or nowhere (ac-copy); plus an unfinished
    folder and a run without episodes, which the report leaves out."""
    root = tmp_path_factory.mktemp("results")
    for (method, env), finals in FINALS.items():
        for seed, final in enumerate(finals):
            config = {"algorithm": "ac" if method == "ac-copy" else method, "env_id": env, "steps": BUDGET,
                      "seed": seed, **({"label": "ac-copy"} if method == "ac-copy" else {})}
            # the first episode ends before the last 10% and does not count; the other two do
            episodes = [(500, -1000.0), (950, final - 10.0), (BUDGET, final + 10.0)]
            write_run(root / "runs" / f"{method}-{env}-s{seed}", config, episodes,
                      summary={"wall_time_s": 30.0} if method == "ac" else None,
                      timing=15.0 if method == "ppo1" else None)
    (root / "runs" / "unfinished").mkdir()
    (root / "runs" / "unfinished" / "config.json").write_text(json.dumps({"algorithm": "ac"}))
    (root / "runs" / "diverged").mkdir()  # as a sweep leaves a failed run
    (root / "runs" / "diverged" / "config.json").write_text(json.dumps({"algorithm": "ac", "label": "ac-classic"}))
    (root / "runs" / "diverged" / "status.json").write_text(json.dumps(
        {"state": "failed", "error": "streamrl: error: non-finite reward nan at step 4; the agent diverged"}))
    # failed runs of a whole setting: a row beside the returns (Walker2d-v5 has nothing else)
    for env, seed, step in (("Hopper-v5", 0, 5), ("Hopper-v5", 1, 4), ("Walker2d-v5", 0, 6)):
        folder = root / "runs" / f"ac-classic-{env}-s{seed}"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"algorithm": "ac", "label": "ac-classic", "env_id": env,
                                                        "steps": BUDGET, "seed": seed}))
        (folder / "status.json").write_text(json.dumps({"state": "failed", "error": (
            f"streamrl: error: non-finite reward nan at step {step}; nothing was learned from it; the agent "
            "diverged before that (non-finite weights in actor), so its action was not a number")}))
    write_run(root / "runs" / "no-episodes", {"algorithm": "ac", "env_id": "CartPole-v1", "steps": 10, "seed": 9}, [])
    return root


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return write_report([results], out, reps=REPS), out


def trim_mean_by_hand(values):
    """The interquartile mean: drop the lowest and highest quarter (rounded down), average the rest."""
    values, cut = np.sort(values), int(0.25 * len(values))
    return values[cut:len(values) - cut].mean()


def percentile_interval(replicates):
    alpha = (1 - 0.95) / 2  # as arch computes it
    return np.percentile(replicates, [100 * alpha, 100 * (1 - alpha)])


def stratified_bootstrap(arrays, statistic, reps):
    """rliable 1.2.0's StratifiedIndependentBootstrap, independently: per replicate, each array's
    runs redrawn with np.random.choice(n, (n, 1)) in order, from the global generator seeded with 0."""
    np.random.seed(0)
    replicates = [statistic(*[a[np.random.choice(len(a), (len(a), 1))[:, 0]] for a in arrays]) for _ in range(reps)]
    return percentile_interval(replicates)


def test_final_return_by_hand():
    ends, returns = np.array([400, 850, 901, 1000]), np.array([1.0, 2.0, 3.0, 5.0])
    assert final_return(ends, returns, 1000) == 4.0  # episodes ending after step 900: (3 + 5) / 2
    assert final_return(np.array([900, 1000]), np.array([7.0, 9.0]), 1000) == 9.0  # 900 is not in the last 10%
    assert final_return(np.array([300, 600]), np.array([1.0, 2.0]), 1000) == 2.0  # none there: the last episode
    assert final_return(np.array([], dtype=int), np.array([]), 1000) is None


def test_paper_rows_and_columns():
    assert paper_row("Hopper-v5") == paper_row("Hopper-v4") == "Hopper-v4"
    assert paper_row("ALE/Breakout-v5") == paper_row("BreakoutNoFrameskip-v4") == "Breakout"
    assert paper_row("dm_control/dog-stand-v0") == "dog-stand (DMC)"
    assert paper_row("CartPole-v1") is None and paper_row("HalfCheetah-v5") is None
    assert published("ac", "Walker2d-v5") == (4335, "Walker2d-v4", "stream-x")
    assert published("classic-ac", "Walker2d-v5") == (0, "Walker2d-v4", "classic")
    assert published("ppo1", "Hopper-v5") == (449, "Hopper-v4", "PPO1")
    assert published("sac1", "dm_control/cheetah-run-v0") == (282, "cheetah-run (DMC)", "SAC1")
    assert published("q", "ALE/Enduro-v5") == (1156, "Enduro", "stream-x")
    assert published("ac", "ALE/Enduro-v5") is None  # the paper's stream-x on Atari is Q(λ)
    assert published("dqn", "Hopper-v5") is None and published("ac-lambda0.5", "Hopper-v5") is None


def test_bootstrap_band_by_hand():
    values = np.array([[1.0, np.nan], [3.0, 5.0], [8.0, 7.0]])
    mean, low, high = bootstrap_mean_interval(values, reps=300, seed=4)
    assert mean.tolist() == [4.0, 6.0]  # the second point's mean leaves out the seed without a value
    index = np.random.default_rng(4).integers(0, 3, size=(300, 3))
    assert [low[0], high[0]] == pytest.approx(percentile_interval(values[index, 0].mean(axis=1)), abs=1e-12)
    second = values[index, 1]
    kept = ~np.all(np.isnan(second), axis=1)  # a resample of only the first seed has no value there
    assert [low[1], high[1]] == pytest.approx(percentile_interval(np.nanmean(second[kept], axis=1)), abs=1e-12)


def test_improvement_statistic_by_hand_and_as_rliable_has_it():
    from rliable.metrics import probability_of_improvement

    def pair(x, y):
        return _mean_improvement(np.array(x, float)[:, None], np.array(y, float)[:, None])[0]

    assert pair([1, 2, 3], [2, 2]) == 0.5  # 0 + 0 + ½ + ½ + 1 + 1 out of 6 pairs
    assert pair([3, 4], [1, 2, 3.5]) == 5 / 6
    assert pair([1, 2], [1, 2]) == 0.5
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.integers(0, 4, (5, 1)).astype(float), rng.integers(0, 4, (3, 1)).astype(float)
        assert _mean_improvement(x, y)[0] == pytest.approx(probability_of_improvement(x, y), abs=1e-15)


def test_final_returns_and_their_intervals(report):
    stats, _ = report
    assert sorted(stats.final) == sorted(FINALS)
    for key, finals in FINALS.items():
        estimate = stats.final[key]
        assert estimate.count == 4 and estimate.value == pytest.approx(np.mean(finals), abs=1e-9)
        index = np.random.default_rng(0).integers(0, 4, size=(REPS, 4))
        expected = percentile_interval(np.array(finals)[index].mean(axis=1))
        assert [estimate.low, estimate.high] == pytest.approx(expected, abs=1e-9)
    assert stats.final[("ac", "Hopper-v5")].value == 2852.0625  # (0.75 + 1 + 1.5 + 2) / 4 x 2173


def test_normalised_scores_and_interquartile_means(report):
    stats, _ = report
    assert {m: {e: s.tolist() for e, s in per_env.items()} for m, per_env in stats.scores.items()} == SCORES
    # ac: sorted scores 0.5 .75 .75 1 1 1 1.5 2 -> drop two at each end -> (.75 + 1 + 1 + 1) / 4
    assert stats.iqm["ac"].value == 0.9375 == stats.iqm["ac-copy"].value
    # ppo1: 0 .125 .125 .25 .25 .375 .375 .5 -> (.125 + .25 + .25 + .375) / 4
    assert stats.iqm["ppo1"].value == 0.25
    for method in ("ac", "ppo1"):
        arrays = [np.array(SCORES[method][env]) for env in ("CartPole-v1", "Hopper-v5")]
        expected = stratified_bootstrap(arrays, lambda *a: trim_mean_by_hand(np.concatenate(a)), REPS)
        assert [stats.iqm[method].low, stats.iqm[method].high] == pytest.approx(expected, abs=1e-12)
        assert stats.iqm[method].low < stats.iqm[method].value < stats.iqm[method].high
    assert stats.iqm["ac-copy"] == stats.iqm["ac"]  # each estimate seeds the bootstrap afresh


def test_probability_of_improvement(report):
    stats, _ = report
    one, zero = stats.improvement[("ac", "ppo1")], stats.improvement[("ppo1", "ac")]
    # every ac run beats every ppo1 run on both envs: so does every resample
    assert (one.value, one.low, one.high) == (1.0, 1.0, 1.0) and (zero.value, zero.low, zero.high) == (0.0, 0.0, 0.0)
    tie = stats.improvement[("ac", "ac-copy")]
    assert tie.value == 0.5  # identical runs
    arrays = [np.array(SCORES[m][env]) for env in ("CartPole-v1", "Hopper-v5") for m in ("ac", "ac-copy")]

    def by_hand(*a):
        return np.mean([np.mean([(x > y) + 0.5 * (x == y) for x in a[i] for y in a[i + 1]]) for i in (0, 2)])

    assert [tie.low, tie.high] == pytest.approx(stratified_bootstrap(arrays, by_hand, REPS), abs=1e-12)
    assert tie.low < 0.5 < tie.high
    reverse = stats.improvement[("ac-copy", "ac")]
    assert (reverse.value, reverse.low, reverse.high) == pytest.approx((0.5, 1 - tie.high, 1 - tie.low))


def test_markdown_tables_and_figures(report, results):
    stats, out = report
    text = (out / "report.md").read_text()
    ac, ppo1 = stats.final[("ac", "Hopper-v5")], stats.final[("ppo1", "Hopper-v5")]
    assert f"| ac | 4 | 1,000 | 2,852.1 | [{ac.low:,.1f}, {ac.high:,.1f}] | 2,173 (stream-x) |" in text
    assert f"| ppo1 | 4 | 1,000 | 679.1 | [{ppo1.low:,.1f}, {ppo1.high:,.1f}] | 449 (PPO1) |" in text
    copy = stats.final[("ac-copy", "Hopper-v5")]  # a label the paper has no figure for
    assert f"| ac-copy | 4 | 1,000 | 2,852.1 | [{copy.low:,.1f}, {copy.high:,.1f}] | — |" in text
    assert "| method | seeds | steps per run | final return | 95% CI | paper (Hopper-v4) |" in text
    assert "| Hopper-v5 | ÷ 2,173, the paper's stream-x figure (Hopper-v4) |" in text
    assert "| CartPole-v1 | min-max over all runs' final returns: (x − 100.0) / (500.0 − 100.0) |" in text
    iqm = stats.iqm["ac"]
    assert f"| ac | 8 | CartPole-v1, Hopper-v5 | 0.938 | [{iqm.low:.3f}, {iqm.high:.3f}] |" in text
    assert "| ac | — | " in text and "| 1.00 [1.00, 1.00] |" in text and "| ppo1 | 0.00 [0.00, 0.00] |" in text
    # wall time: 4 x 30 s from summary.json, 4 x 15 s from timing.csv, ac-copy has none
    assert "| ac | Hopper-v5 | 4 | 1,000 | 2 min 00 s | 33 |" in text
    assert "| ppo1 | CartPole-v1 | 4 | 1,000 | 1 min 00 s | 67 |" in text
    assert "| ac-copy | CartPole-v1 | 4 | 1,000 | — (4 runs unknown) | — |" in text
    assert "| all |  | 24 |  | 6 min 00 s (8 runs unknown) |  |" in text
    assert "CPUs" in text and "IQM" in text
    assert f"- {(results / 'runs' / 'unfinished').resolve()}: no episodes.csv (the run has not finished)" in text
    assert (f"- {(results / 'runs' / 'diverged').resolve()}: failed: streamrl: error: non-finite reward nan at "
            "step 4; the agent diverged") in text
    assert f"- {(results / 'runs' / 'no-episodes').resolve()}: no finished episode" in text
    diverged = ("streamrl: error: non-finite reward nan at step {}; nothing was learned from it; the agent diverged "
                "before that (non-finite weights in actor), so its action was not a number")
    assert stats.failed == {("ac-classic", "Hopper-v5"): [(0, diverged.format(5)), (1, diverged.format(4))],
                            ("ac-classic", "Walker2d-v5"): [(0, diverged.format(6))]}
    assert ("| ac-classic | 2 (seeds 0, 1) | non-finite reward nan at steps 4, 5; the agent diverged before that "
            "(non-finite weights in actor), so its action was not a number | 0 (classic) |") in text
    walker = text[text.index("## Walker2d-v5"):text.index("## Across environments")]
    assert ("| ac-classic | 1 (seed 0) | non-finite reward nan at step 6; the agent diverged before that "
            "(non-finite weights in actor), so its action was not a number | 0 (classic) |") in walker
    assert "ac-classic-Hopper-v5-s0" not in text  # in the table, not among the folders left out
    assert "different numbers of steps" not in text  # every method here has the same budget
    rows = list(csv.DictReader((out / "final_returns.csv").open()))
    assert len(rows) == 24 and rows[0].keys() == {"method", "env_id", "seed", "steps", "final_return", "episodes",
                                                  "wall_time_s"}
    hopper_ac = sorted((int(r["seed"]), float(r["final_return"])) for r in rows
                       if (r["method"], r["env_id"]) == ("ac", "Hopper-v5"))
    assert hopper_ac == [(seed, final) for seed, final in enumerate(FINALS[("ac", "Hopper-v5")])]
    assert {r["wall_time_s"] for r in rows if r["method"] == "ac"} == {"30.0"}
    for name in ("curves-Hopper-v5.png", "curves-CartPole-v1.png", "aggregate-iqm.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({name})" in text


def test_cli_writes_the_same_report(results, report):
    _, library_out = report
    result = run("report", results, "--reps", REPS)
    assert result.returncode == 0, result.stderr
    assert "ac on Hopper-v5: 4 runs, final return 2,852.1 [" in result.stdout
    assert "ppo1: IQM of normalised final return 0.250 [" in result.stdout
    assert "left out 3 folders" in result.stdout and result.stderr == ""
    out = results / "report"  # the default
    # another process, the same numbers: the report is deterministic
    assert (out / "report.md").read_text() == (library_out / "report.md").read_text()
    assert (out / "final_returns.csv").read_text() == (library_out / "final_returns.csv").read_text()
    assert {p.name for p in out.iterdir()} == {"report.md", "final_returns.csv", "aggregate-iqm.png",
                                               "curves-CartPole-v1.png", "curves-Hopper-v5.png"}


def broken_config(folder):
    (folder / "config.json").write_text("{not json")


def missing_column(folder):
    (folder / "episodes.csv").write_text("end_step,length\n10,10\n")


def missing_key(folder):
    (folder / "config.json").write_text(json.dumps({"algorithm": "ac", "env_id": "CartPole-v1", "steps": 10}))


def broken_summary(folder):
    (folder / "summary.json").write_text("[1, 2]")


def nan_return(folder):
    (folder / "episodes.csv").write_text("end_step,return,length\n10,nan,10\n")


@pytest.mark.parametrize("damage, message", [
    (broken_config, "config.json is corrupted"),
    (missing_column, "episodes.csv has no column 'return'"),
    (missing_key, "config.json is corrupted (no 'seed')"),
    (broken_summary, "summary.json is not a JSON object"),
    (nan_return, "episodes.csv holds a return that is not a finite number"),
])
def test_unreadable_run_folder_is_named_and_nothing_is_written(tmp_path, damage, message):
    good, bad = tmp_path / "results" / "good", tmp_path / "results" / "bad"
    for folder in (good, bad):
        write_run(folder, {"algorithm": "ac", "env_id": "CartPole-v1", "steps": 10, "seed": 0}, [(10, 1.0)])
    damage(bad)
    result = run("report", tmp_path / "results")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"run folder {bad.resolve()} is unreadable: " in result.stderr and "fix or remove it" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "results" / "report").exists()


@pytest.mark.parametrize("args, message", [
    (["nowhere"], "nowhere is not a folder"),
    (["."], "no run folders (config.json and episodes.csv from 'streamrl train') below ."),
    ([".", "--reps", "0"], "--reps must be a positive number"),
])
def test_bad_input(tmp_path, args, message):
    result = run("report", *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_runs_without_episodes_only(tmp_path):
    write_run(tmp_path / "r", {"algorithm": "ac", "env_id": "CartPole-v1", "steps": 10, "seed": 0}, [])
    with pytest.raises(ValueError, match="none of the runs has a finished episode"):
        compute_statistics([tmp_path])


def test_without_rliable_the_message_names_the_extra(results, tmp_path):
    script = ("import sys; sys.modules['rliable'] = None  # any import of rliable now fails\n"
              "from streamrl.cli.main import main; sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", script, "report", str(results), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "needs the 'report' extra: pip install \"streamrl[report]\"" in result.stderr
    assert not out.exists()


def test_curves_show_the_papers_final_return_beside_a_method_that_has_one():
    from matplotlib.figure import Figure

    from streamrl.running.plot import draw_curves

    ax = Figure().subplots()
    run = (np.array([10, 20]), np.array([1.0, 3.0]), 20)
    draw_curves(ax, "Hopper-v5", {"ac": [run], "mine": [run]}, lambda curves: (curves[0], curves[0], curves[0]),
                references={"ac": (2173.0, "paper: stream-x (Hopper-v4), final")})
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [2173.0, 2173.0]
    assert dashed[0].get_label() == "paper: stream-x (Hopper-v4), final"
    assert dashed[0].get_color() == next(line for line in ax.lines if line.get_label() == "ac (1 seed)").get_color()


def test_folders_inside_the_working_directory_are_named_relative_to_it(results, tmp_path):
    result = run("report", results.name, "--reps", REPS, "--out", tmp_path / "report", cwd=results.parent)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert f"- {results.name}/runs/unfinished: no episodes.csv (the run has not finished)" in text
    assert str(results.parent) not in text


def test_runs_ten_times_shorter_get_a_panel_cut_at_their_budget():
    from streamrl.experiments.report import truncated, zoom_budget

    assert zoom_budget([2_000_000, 50_000, 2_000]) == 50_000  # the longest of the short budgets
    assert zoom_budget([2_000_000, 200_000]) == 200_000 and zoom_budget([2_000_000, 200_001]) is None
    long_run = (np.array([100, 1_500, 40_000]), np.array([1.0, 2.0, 3.0]), 2_000_000)
    late_run = (np.array([3_000]), np.array([5.0]), 2_000_000)  # no episode by step 2,000
    short_run = (np.array([900, 2_000]), np.array([4.0, 6.0]), 2_000)
    cut = truncated({"ac": [long_run, late_run], "sac1": [short_run], "late": [late_run]}, 2_000)
    assert list(cut) == ["ac", "sac1"]  # a method with no episode by then has nothing to draw
    (ends, returns, budget), = cut["ac"]
    assert ends.tolist() == [100, 1_500] and returns.tolist() == [1.0, 2.0] and budget == 2_000
    assert cut["sac1"][0][2] == 2_000 and cut["sac1"][0][0].tolist() == [900, 2_000]


def test_methods_with_different_budgets_are_said_to_be_scored_at_their_own(tmp_path):
    for method, budget in (("ac", 1000), ("sac1", 100)):
        for seed in (0, 1):
            write_run(tmp_path / "runs" / f"{method}-{seed}", {"algorithm": method, "env_id": "Hopper-v5",
                                                              "steps": budget, "seed": seed},
                      [(budget // 2, 10.0 + seed), (budget, 20.0 + seed)])
    write_report([tmp_path / "runs"], tmp_path / "report", reps=REPS)
    text = (tmp_path / "report" / "report.md").read_text()
    assert ("**The methods ran for different numbers of steps** (ac: 1,000; sac1: 100): each is scored at the end "
            "of its own budget, so these statistics do not compare methods at equal experience.") in text


def test_one_method_scaled_by_its_own_runs_is_said_to_compare_nothing(tmp_path):
    def report_text(env_id: str) -> str:
        folder = tmp_path / env_id.replace("/", "_")
        for seed in (0, 1, 2):
            write_run(folder / "runs" / f"q-{seed}", {"algorithm": "q", "env_id": env_id, "steps": 100, "seed": seed},
                      [(50, 1.0 + seed), (100, 2.0 + seed)])
        write_report([folder / "runs"], folder / "report", reps=REPS)
        return (folder / "report" / "report.md").read_text()

    sentence = "**One method and no paper figure to scale by:**"
    assert sentence in report_text("MinAtar/Breakout-v1")
    assert sentence not in report_text("BreakoutNoFrameskip-v4")  # scaled by the paper's figure: a score of its own
