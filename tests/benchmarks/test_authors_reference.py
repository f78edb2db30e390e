"""benchmarks/authors_reference.py, which times the paper authors' scripts. Those are not in this
repository (nor fetched), so a script of the same shape stands in: the module-level agent class
with sample_action(), a main() that indexes the episode return as Gymnasium 0.29 gave it, and the
argparse block the harness runs."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

HARNESS = Path(__file__).parents[2] / "benchmarks" / "authors_reference.py"
STAND_IN = '''import argparse
import time

import gymnasium as gym
import numpy as np


class StreamQ:
    def sample_action(self, s):
        return int(np.random.randint(2))


def main(env_name, seed, total_steps):
    np.random.seed(seed)
    env = gym.wrappers.RecordEpisodeStatistics(gym.make(env_name))
    agent, returns = StreamQ(), []
    time.sleep(1.0)  # setup, which the harness leaves out of its clock
    loop_start = time.perf_counter()
    s, _ = env.reset(seed=seed)
    for t in range(total_steps):
        s, r, terminated, truncated, info = env.step(agent.sample_action(s))
        if terminated or truncated:
            returns.append(info["episode"]["r"][0])  # (a number in Gymnasium 1.x: the harness bridges it)
            s, _ = env.reset()
    env.close()
    loop_seconds = time.perf_counter() - loop_start
    FAIL
    time.sleep(1.0)  # saving the results, left out too
    print("returns", len(returns), "steps", total_steps, "env", env_name, "seed", seed, "loop", loop_seconds)


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
    assert "steps 400 env CartPole-v1 seed 0" in once.stdout, once  # the harness's arguments, not the defaults
    # The harness's clock lies inside the script's own loop (reset to close): a clock that counted
    # a second of the setup or the saving would be longer than the loop, however fast the machine.
    loop_seconds = float(once.stdout.split(" loop ")[1].split()[0])
    rate_once = float(once.stdout.split()[-2])
    assert 0 < 400 / rate_once <= loop_seconds, once.stdout


def test_a_failing_script_is_named_in_one_line(tmp_path):
    (tmp_path / "stream_q.py").write_text(STAND_IN.replace("    FAIL\n", "    raise ValueError('boom')\n"))
    result = harness(tmp_path, "--repeats", "1", "--steps", "50")
    assert result.returncode == 1 and result.stderr.strip() == "q_cartpole: the script failed: ValueError: boom"


def test_a_folder_without_the_scripts_is_refused(tmp_path):
    result = harness(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"{tmp_path} lacks stream_q.py: give the folder of the authors' scripts"


def test_the_frame_stack_keeps_the_normalized_frames_as_float64():
    """Gymnasium 1.x stacks frames into the space's dtype; an Atari frame space is uint8, and the
    authors' frames are normalized floats by then."""
    import gymnasium as gym

    spec = importlib.util.spec_from_file_location("authors_reference", HARNESS)
    harness_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness_module)
    saved = {name: getattr(gym.wrappers, name, None) for name in ("FrameStack", "GrayScaleObservation",
                                                                    "RecordEpisodeStatistics")}
    try:
        harness_module._bridge_gymnasium("CartPole-v1")
        env = gym.wrappers.TransformObservation(gym.make("CartPole-v1"), lambda obs: obs * 0.5 - 0.25,
                                                gym.spaces.Box(0, 255, (4,), np.uint8))  # declared as frames are
        obs, _ = gym.wrappers.FrameStack(env, 4).reset(seed=0)
        assert obs.dtype == np.float64 and obs.shape == (4, 4)
        np.testing.assert_allclose(obs[-1], env.unwrapped.state * 0.5 - 0.25, rtol=1e-6)
    finally:  # (the bridge patched gymnasium in this process)
        for name, value in saved.items():
            if value is None:
                delattr(gym.wrappers, name)
            else:
                setattr(gym.wrappers, name, value)
