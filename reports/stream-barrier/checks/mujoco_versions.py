"""Do two MuJoCo/Gymnasium installs simulate Walker2d-v4 alike? Record the observations under one
fixed sequence of random actions in each install, then compare the recordings.

    python mujoco_versions.py record walker-A.npz       # in each install (needs gymnasium[mujoco])
    python mujoco_versions.py compare walker-A.npz walker-B.npz

Contact dynamics are chaotic: a difference of one rounding step grows within an episode, so the
comparison reports where the recordings first differ and by how much, not only the largest gap.
"""

import argparse

import numpy as np


def record(path: str, env_id: str, steps: int) -> None:
    import gymnasium as gym
    import mujoco

    env = gym.make(env_id)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    rows, episodes = [obs], 0
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(rng.uniform(env.action_space.low, env.action_space.high))
        rows.append(obs)
        if terminated or truncated:
            episodes += 1
            obs, _ = env.reset()
            rows.append(obs)
    versions = f"{env_id}, mujoco {mujoco.__version__}, gymnasium {gym.__version__}, numpy {np.__version__}"
    with open(path, "wb") as f:  # (a file object: np.savez would otherwise add .npz to the name)
        np.savez(f, obs=np.array(rows), versions=versions)
    print(f"{versions}: {steps} steps, {episodes} episodes")


def compare(path_a: str, path_b: str) -> None:
    a, b = np.load(path_a), np.load(path_b)
    print(f"A: {a['versions']}\nB: {b['versions']}")
    obs_a, obs_b = a["obs"], b["obs"]
    n = min(len(obs_a), len(obs_b))
    gap = np.abs(obs_a[:n] - obs_b[:n]).max(axis=1)
    if len(obs_a) != len(obs_b):  # rows = 1 + steps + episodes
        print(f"the episodes end differently: {len(obs_a)} against {len(obs_b)} observations")
    if not gap.any():
        print(f"identical over {n} observations")
        return
    first = int(np.argmax(gap > 0))
    print(f"{n} observations; first difference at observation {first} ({gap[first]:.3g}); "
          f"largest {gap.max():.3g}; median {np.median(gap):.3g}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="record this install's observations")
    rec.add_argument("path")
    rec.add_argument("--env-id", default="Walker2d-v4")
    rec.add_argument("--steps", type=int, default=20_000)
    cmp = commands.add_parser("compare", help="compare two recordings")
    cmp.add_argument("path_a")
    cmp.add_argument("path_b")
    args = parser.parse_args()
    if args.command == "record":
        record(args.path, args.env_id, args.steps)
    else:
        compare(args.path_a, args.path_b)
