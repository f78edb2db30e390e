"""Mutation audit: does the test suite notice when the method is changed?

Each mutation below is one small change to the source that a reader of the paper would call a
bug (gamma replaced by 1, a bootstrap through a terminal, SARSA becoming Q-learning, ...). For
each, this copies the last commit (or, with --worktree, the working tree) to a temporary folder,
applies that one change, and runs the tests named for it there, with a fresh Numba cache (kernels
compiled from the changed source). A mutation is *caught* when at least one of those tests fails.

    python tools/mutation_audit.py                 # every mutation, one line each
    python tools/mutation_audit.py --only td-gamma-1 sarsa-bootstraps-on-max
    python tools/mutation_audit.py --list

Run it from the repository's root, in the environment the tests run in. It exits 1 if a mutation
survives (or cannot be applied: the source moved on and the mutation must follow it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # what must catch it (pytest node ids or files)
    what: str


TARGETS = "tests/algorithms/test_td_targets.py"
QRC_TESTS = "tests/algorithms/test_qrc.py"
AVG_TESTS = "tests/algorithms/test_avg.py"
MUTATIONS = [
    Mutation("td-gamma-1", "src/streamrl/algorithms/td.py",
             "delta = c + agent.gamma * bootstrap * v.evaluate(s_next)[0] - v_s",
             "delta = c + 1.0 * bootstrap * v.evaluate(s_next)[0] - v_s",
             (TARGETS, "tests/algorithms/test_td.py"), "Stream TD's (and AC's critic's) gamma replaced by 1"),
    Mutation("td-bootstraps-through-terminal", "src/streamrl/algorithms/td.py",
             "delta = c + agent.gamma * bootstrap * v.evaluate(s_next)[0] - v_s",
             "delta = c + agent.gamma * v.evaluate(s_next)[0] - v_s",
             (TARGETS, "tests/algorithms/test_td.py"), "Stream TD bootstraps through terminal and truncated steps"),
    Mutation("q-bootstraps-through-terminal", "src/streamrl/algorithms/q.py",
             "delta = r + self.gamma * bootstrap * greedy_value(self.q.evaluate(s_next)) - self.q_sa",
             "delta = r + self.gamma * greedy_value(self.q.evaluate(s_next)) - self.q_sa",
             (TARGETS,), "Stream Q bootstraps through terminal and truncated steps"),
    Mutation("q-bootstraps-on-the-action-taken", "src/streamrl/algorithms/q.py",
             "delta = r + self.gamma * bootstrap * greedy_value(self.q.evaluate(s_next)) - self.q_sa",
             "delta = r + self.gamma * bootstrap * self.q.evaluate(s_next)[a] - self.q_sa",
             (TARGETS,), "Stream Q bootstraps on q(s', a) instead of max q(s', .)"),
    Mutation("sarsa-bootstraps-on-max", "src/streamrl/algorithms/sarsa.py",
             "q_next_a = q_next[a_next] if bootstrap else 0.0",
             "q_next_a = q_next.max() if bootstrap else 0.0",
             (TARGETS,), "Stream SARSA bootstraps on max q(s', .): Q-learning"),
    Mutation("epsilon-never-decays", "src/streamrl/algorithms/epsilon_greedy.py",
             "return max(self.epsilon_start + slope * self.num_steps, self.epsilon_end)",
             "return self.epsilon_start",
             (TARGETS,), "epsilon stays at its start"),
    Mutation("q-keeps-traces-after-nongreedy", "src/streamrl/algorithms/q.py",
             "reset=done or self.nongreedy", "reset=done",
             ("tests/algorithms/test_q_and_sarsa.py",), "Stream Q keeps its traces after a non-greedy action"),
    Mutation("lambda-0", "src/streamrl/algorithms/base.py",
             "gamma: float = 0.99, lamda: float = 0.8,", "gamma: float = 0.99, lamda: float = 0.0,",
             ("tests/algorithms/test_q_and_sarsa.py",), "the agents' lambda is 0"),
    Mutation("trace-decay-without-lambda", "src/streamrl/steprules/base.py",
             "self.decay = gamma * lamda", "self.decay = gamma",
             ("tests/steprules/test_obgd.py", "tests/algorithms/test_q_and_sarsa.py"),
             "every step rule's trace decays by gamma alone"),
    Mutation("kappa-policy-dropped", "src/streamrl/steprules/base.py",
             'key = name if role == "value" else f"{name}_policy"', "key = name",
             ("tests/algorithms/test_ac.py",), "the actor's step rule takes the critic's kappa (2, not 3)"),
    Mutation("kappa-dropped-from-the-bound", "src/streamrl/steprules/obgd.py",
             "bound = lr * kappa * max(abs(delta), 1.0) * trace_l1", "bound = lr * max(abs(delta), 1.0) * trace_l1",
             ("tests/steprules/test_obgd.py",), "ObGD's bound without kappa"),
    Mutation("adaptive-without-bias-correction", "src/streamrl/steprules/obgd.py",
             "correction, eps_ = real(1.0 - beta2**t), real(eps)", "correction, eps_ = real(1.0), real(eps)",
             ("tests/steprules/test_obgd.py",), "AdaptiveObGD's second moment without its bias correction"),
    Mutation("entropy-sign-flipped", "src/streamrl/algorithms/ac.py",
             "entropy_coef = self.entropy_coef * np.sign(delta)", "entropy_coef = -self.entropy_coef * np.sign(delta)",
             ("tests/algorithms/test_ac.py",), "Stream AC's entropy term against sign(delta)"),
    Mutation("entropy-term-deleted", "src/streamrl/algorithms/ac.py",
             "entropy_coef = self.entropy_coef * np.sign(delta)", "entropy_coef = 0.0 * np.sign(delta)",
             ("tests/algorithms/test_ac.py",), "Stream AC without its entropy term"),
    Mutation("actor-learns-from-minus-delta", "src/streamrl/algorithms/ac.py",
             "entropy_coef), delta,", "entropy_coef), -delta,",
             ("tests/algorithms/test_ac.py",), "Stream AC's actor steps against delta"),
    Mutation("qrc-target-not-differentiated", "src/streamrl/steprules/qrc.py",
             "zh_ * (gb_ * gnext[i] - gq[i])", "zh_ * (0.0 * gnext[i] - gq[i])",
             (QRC_TESTS,), "QRC(lambda) without the gradient through the max target"),
    Mutation("qrc-h-not-regularized", "src/streamrl/steprules/qrc.py",
             "- h_ * gh[i] - beta_ * w[i]", "- h_ * gh[i] - 0.0 * w[i]",
             (QRC_TESTS,), "QRC(lambda)'s secondary network without its beta regularization"),
    Mutation("qrc-bootstraps-through-terminal", "src/streamrl/algorithms/qrc.py",
             "bootstrap = terminated or truncated, self._bootstrap(terminated, truncated)",
             "bootstrap = terminated or truncated, 1.0",
             (QRC_TESTS,), "QRC(lambda) bootstraps through a termination"),
    Mutation("qrc-keeps-traces-after-nongreedy", "src/streamrl/algorithms/qrc.py",
             "reset = done or self.nongreedy", "reset = done",
             (QRC_TESTS,), "QRC(lambda) keeps its traces after a non-greedy action"),
    Mutation("avg-log-variance-read-as-log-std", "src/streamrl/networks/pnorm.py",
             "std = (0.5 * log_var).exp()", "std = log_var.exp()",
             (AVG_TESTS,), "AVG's actor takes its log-variance head for a log standard deviation"),
    Mutation("avg-without-penultimate-norm", "src/streamrl/networks/pnorm.py",
             "features = self.norm(self.trunk(x))", "features = self.trunk(x)",
             (AVG_TESTS,), "AVG's networks without penultimate normalization"),
    Mutation("avg-bootstraps-through-terminal", "src/streamrl/algorithms/avg.py",
             "bootstrap = self._bootstrap(terminated, truncated)", "bootstrap = 1.0",
             (AVG_TESTS,), "AVG bootstraps through a termination"),
]


def copy_tree(target: Path, worktree: bool) -> None:
    """The last commit, or the working tree as git sees it (tracked and untracked files, not ignored
    ones), into ``target``."""
    target.mkdir(parents=True)
    if not worktree:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        return
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def apply(mutation: Mutation, tree: Path) -> None:
    path = tree / mutation.path
    text = path.read_text()
    count = text.count(mutation.old)
    if count != 1:
        raise ValueError(f"{mutation.name}: {mutation.path} holds the original line {count} times, not once; "
                         "update the mutation to follow the source")
    path.write_text(text.replace(mutation.old, mutation.new))


def run(mutation: Mutation, worktree: bool, keep: bool) -> tuple[str, list[str], float]:
    """'caught' (with the failing tests), 'survived', or 'error' (with pytest's last lines)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutation.name}-") as folder:
        tree = Path(folder) / "tree"
        copy_tree(tree, worktree)
        apply(mutation, tree)
        env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}", "NUMBA_CACHE_DIR": f"{folder}/numba"}
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
                                 *mutation.tests], cwd=tree, env=env, capture_output=True, text=True)
        if keep:
            shutil.copytree(tree, ROOT / ".mutants" / mutation.name, dirs_exist_ok=True)
    failed = re.findall(r"^FAILED (\S+)", result.stdout, re.MULTILINE)
    seconds = time.perf_counter() - start
    if result.returncode == 1 and failed:
        return "caught", failed, seconds
    if result.returncode == 0:
        return "survived", [], seconds
    return "error", result.stdout.strip().splitlines()[-3:], seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutations")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--worktree", action="store_true", help="mutate the working tree, not the last commit")
    parser.add_argument("--keep", action="store_true", help="keep each mutated tree in .mutants/NAME")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    unknown = set(args.only or ()) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation {sorted(unknown)[0]!r}; --list shows them")
    if args.list:
        for m in chosen:
            print(f"{m.name:<36} {m.what}")
        return 0
    survivors = 0
    for m in chosen:
        state, detail, seconds = run(m, args.worktree, args.keep)
        survivors += state != "caught"
        print(f"{m.name:<36} {state:<8} {seconds:5.0f} s  {m.what}", flush=True)
        for line in detail:
            print(f"    {line}", flush=True)
    print(f"{len(chosen) - survivors} of {len(chosen)} mutations caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
