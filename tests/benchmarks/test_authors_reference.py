"""benchmarks/authors_reference.py, which times the paper authors' scripts. Those are not in this
repository (nor fetched), so a script of the same shape stands in: the module-level agent class
with sample_action(), a main() that indexes the episode return as Gymnasium 0.29 gave it, and the
argparse block the harness runs."""

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).parents[2] / "benchmarks" / "authors_reference.py"
STAND_IN = '''import argparse
import gymnasium as gym
import numpy as np


class StreamQ:
    def sample_action(self, s):
        return int(np.random.randint(2))


def main(env_name, seed, total_steps):
    np.random.seed(seed)
    env = gym.wrappers.RecordEpisodeStatistics(gym.make(env_name))
    agent, returns = StreamQ(), []
    s, _ = env.reset(seed=seed)
    for t in range(total_steps):
        s, r, terminated, truncated, info = env.step(agent.sample_action(s))
        if terminated or truncated:
            returns.append(info["episode"]["r"][0])  # (a number in Gymnasium 1.x: the harness bridges it)
            s, _ = env.reset()
    env.close()
    FAIL
    print("returns", len(returns), "steps", total_steps)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--env_name", default="Acrobot-v1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--total_steps", type=int, default=10)
    args = parser.parse_args()
    main(args.env_name, args.seed, args.total_steps)
'''


def harness(scripts: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HARNESS), str(scripts), "--only", "q_cartpole", *args],
                          capture_output=True, text=True, timeout=300)


def test_times_the_script_s_own_loop_with_the_harness_s_arguments(tmp_path):
    (tmp_path / "stream_q.py").write_text(STAND_IN.replace("    FAIL\n", ""))
    result = harness(tmp_path, "--repeats", "2", "--steps", "400")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("the authors' scripts: steps per second, median of 2 runs") and len(lines) == 3
    name, steps, rate, peak = lines[2].split()
    assert (name, steps) == ("q_cartpole", "400") and float(rate.replace(",", "")) > 0 and float(peak) > 0
    once = subprocess.run([sys.executable, str(HARNESS), str(tmp_path), "--run-once", "q_cartpole", "--steps", "400"],
                          capture_output=True, text=True, timeout=300)
    assert "returns" in once.stdout and "steps 400" in once.stdout  # CartPole-v1, 400 steps: its env and steps


def test_a_failing_script_is_named_in_one_line(tmp_path):
    (tmp_path / "stream_q.py").write_text(STAND_IN.replace("    FAIL\n", "    raise ValueError('boom')\n"))
    result = harness(tmp_path, "--repeats", "1", "--steps", "50")
    assert result.returncode == 1 and result.stderr.strip() == "q_cartpole: the script failed: ValueError: boom"


def test_a_folder_without_the_scripts_is_refused(tmp_path):
    result = harness(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"{tmp_path} lacks stream_q.py: give the folder of the authors' scripts"
