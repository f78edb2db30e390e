"""streamrl's Intentional AC(lambda) and Q(lambda) in lockstep with the authors' release.

    python benchmarks/intentional_lockstep.py RELEASE [--steps N] [--only ac q] [--seed S]

RELEASE is a folder holding the authors' code (a clone of
https://github.com/sharifnassab/Intentional_RL: optimizer.py, intentional_ac.py,
intentional_q_minatar.py, normalization_wrappers.py, sparse_init.py). It is not part of streamrl
and is not fetched: give a folder you have. Their networks, optimizer and wrappers run unmodified;
the harness only drives them:

- both agents start from the same weights (streamrl's, copied into theirs: the actor's mean and
  std heads are the two halves of streamrl's one output layer);
- both see the same environment: two instances of the same id and seed, each with its own
  pipeline (theirs: their wrappers; streamrl's: make_env and the agent's own preprocessing), both
  stepped with streamrl's action (the actor's raw sample; clipped by each pipeline), and their
  update is given that action, its transition and streamrl's is_nongreedy;
- their step size and norms are read from their optimizer's step as it returns (a profile hook),
  nothing of their code is changed.

It prints, per quantity, the largest relative difference in the first N steps (arrays relative to
their largest entry; TD errors and step sizes relative to their RMS over the run) and the first
step where it exceeds 1e-4 (float32 rounding of the same arithmetic is ~1e-6), then exits 1 if
the two parted before step N. The conventions where the agents differ by default (streamrl clears traces
at every episode end; the released AC script keeps them across a truncation) do not occur within
a Walker2d episode's 1,000 steps of the early runs checked.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lockstep_record import Record, refuse  # noqa: E402

ENVS = {"ac": "Walker2d-v4", "q": "MinAtar/Breakout-v1"}


def recording_steps(optimizer) -> dict:
    """Makes ``optimizer.step`` (their code, unchanged) leave its local variables, as it returns,
    in the dict returned (read with a profile hook)."""
    captured: dict = {}
    step = type(optimizer).step
    code = inspect.unwrap(step).__code__  # (torch wraps an optimizer's step in hooks)

    def profile(frame, event, arg):
        if event == "return" and frame.f_code is code:
            captured.update(frame.f_locals)

    def recording(delta, reset=False):
        captured.clear()
        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            step(optimizer, delta, reset=reset)
        finally:
            sys.setprofile(previous)

    optimizer.step = recording
    return captured


def their_state(optimizer, key: str) -> np.ndarray:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    return np.concatenate([optimizer.state[p][key].detach().numpy().ravel() for p in params])


def copy_weights(ours: list[np.ndarray], module) -> None:
    import torch

    with torch.no_grad():
        for target, source in zip(module.parameters(), ours):
            target.copy_(torch.from_numpy(np.ascontiguousarray(source)).reshape(target.shape))


def actor_parameters(ours: list[np.ndarray], n_actions: int) -> list[np.ndarray]:
    """streamrl's actor (one output layer: means, then std heads) in the order of theirs (fc,
    hidden, linear_mu, linear_std)."""
    *trunk, weight, bias = ours
    return [*trunk, weight[:n_actions], bias[:n_actions], weight[n_actions:], bias[n_actions:]]


def run_ac(release: str, steps: int, seed: int) -> bool:
    import gymnasium as gym
    from normalization_wrappers import NormalizeObservation, ScaleReward

    authors = importlib.import_module("intentional_ac")
    from streamrl import IntentionalAC, make_env

    env_id = ENVS["ac"]
    ours = IntentionalAC(make_env(env_id), seed=seed)
    env = make_env(env_id)
    theirs_env = gym.make(env_id)
    theirs_env = gym.wrappers.FlattenObservation(theirs_env)
    theirs_env = gym.wrappers.ClipAction(theirs_env)
    theirs_env = NormalizeObservation(ScaleReward(theirs_env, gamma=0.99))
    n_obs, n_actions = theirs_env.observation_space.shape[0], theirs_env.action_space.shape[0]
    theirs = authors.IntentionalAC(n_obs=n_obs, n_actions=n_actions, lr=1.0, gamma=0.99, lamda=0.8, eta_policy=0.05,
                                   eta_value=0.5)
    copy_weights(actor_parameters(ours.actor.parameters(), n_actions), theirs.policy_net)
    copy_weights(ours.critic.parameters(), theirs.value_net)
    record = Record()
    obs, _ = env.reset(seed=seed)
    their_obs, _ = theirs_env.reset(seed=seed)
    captured = {"actor": recording_steps(theirs.optimizer_policy), "critic": recording_steps(theirs.optimizer_value)}
    for t in range(1, steps + 1):
        action = ours.act(obs)
        raw = np.asarray(ours.action, dtype=np.float64)
        record.compare(t, "observation (normalized)", ours._state, their_obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        their_next, their_reward, their_terminated, their_truncated, _ = theirs_env.step(raw.astype(np.float32))
        info = ours.observe(float(reward), next_obs, terminated, truncated)
        theirs.update_params(their_obs, raw.astype(np.float32), their_reward, their_next, their_terminated, 0.01)
        record.compare(t, "reward (scaled)", ours.preprocessor.reward_scaler.stats.var,
                       theirs_env.env.reward_stats.var)
        for name, learner, step_size in (("critic", ours.critic, info.step_size),
                                         ("actor", ours.actor, info.actor_step_size)):
            local = captured[name]
            record.compare(t, f"{name} delta", info.delta, local["delta"])
            record.compare(t, f"{name} clipped delta", learner.rule.signal, local["self"].safe_delta)
            record.compare(t, f"{name} step size", step_size, local["step_size"])
        if t % 50 == 0 or t == steps:
            for name, learner, optimizer in (("critic", ours.critic, theirs.optimizer_value),
                                             ("actor", ours.actor, theirs.optimizer_policy)):
                mine = learner.parameters() if name == "critic" else actor_parameters(learner.parameters(),
                                                                                        n_actions)
                record.compare(t, f"{name} weights", np.concatenate([p.ravel() for p in mine]),
                               np.concatenate([p.detach().numpy().ravel() for p in optimizer.param_groups[0]["params"]]))
                nu = learner.rule.nu if name == "critic" else np.concatenate(
                    [a.ravel() for a in actor_parameters(learner.network.split(learner.rule.nu), n_actions)])
                record.compare(t, f"{name} preconditioner", nu, their_state(optimizer, "entrywise_squared_grad"))
        if terminated or truncated:
            obs, _ = env.reset()
            their_obs, _ = theirs_env.reset()
        else:
            obs, their_obs = next_obs, their_next
    return record.report(f"Intentional AC(lambda) on {env_id}, seed {seed}", steps)


def run_q(release: str, steps: int, seed: int) -> bool:
    import gymnasium as gym
    from normalization_wrappers import NormalizeObservation, ScaleReward

    authors = importlib.import_module("intentional_q_minatar")
    from streamrl import IntentionalQ, make_env

    env_id = ENVS["q"]
    ours = IntentionalQ(make_env(env_id), seed=seed, exploration_steps=int(0.2 * steps))
    env = make_env(env_id)
    theirs_env = ScaleReward(NormalizeObservation(gym.make(env_id)), gamma=0.99)
    theirs = authors.IntentionalQ(n_channels=theirs_env.observation_space.shape[-1],
                                  n_actions=theirs_env.action_space.n, gamma=0.99, lamda=0.8, eta_value=0.25)
    copy_weights(ours.q.parameters(), theirs.network)
    record = Record()
    obs, _ = env.reset(seed=seed)
    their_obs, _ = theirs_env.reset(seed=seed)
    captured = recording_steps(theirs.optimizer)
    for t in range(1, steps + 1):
        action = ours.act(obs)
        record.compare(t, "observation (normalized)", ours._state, np.moveaxis(their_obs, -1, 0))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        their_next, their_reward, their_terminated, their_truncated, _ = theirs_env.step(int(ours.action))
        info = ours.observe(float(reward), next_obs, terminated, truncated)
        theirs.update_params(their_obs, int(ours.action), their_reward, their_next, their_terminated or their_truncated,
                             ours.nongreedy)
        record.compare(t, "delta", info.delta, captured["delta"])
        record.compare(t, "clipped delta", ours.q.rule.signal, captured["self"].safe_delta)
        record.compare(t, "step size", info.step_size, captured["step_size"])
        if t % 50 == 0 or t == steps:
            record.compare(t, "weights", np.concatenate([p.ravel() for p in ours.q.parameters()]),
                           np.concatenate([p.detach().numpy().ravel() for p in theirs.network.parameters()]))
            record.compare(t, "preconditioner", ours.q.rule.nu, their_state(theirs.optimizer, "entrywise_squared_grad"))
            record.compare(t, "trace", ours.q.rule.traces(), -their_state(theirs.optimizer, "eligibility_trace"))
        if terminated or truncated:
            obs, _ = env.reset()
            their_obs, _ = theirs_env.reset()
        else:
            obs, their_obs = next_obs, their_next
    return record.report(f"Intentional Q(lambda) on {env_id}, seed {seed}", steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", help="folder holding the authors' code")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=["ac", "q"], default=["ac", "q"])
    args = parser.parse_args()
    release = os.path.abspath(args.release)
    missing = [f for f in ("optimizer.py", "intentional_ac.py", "intentional_q_minatar.py", "normalization_wrappers.py",
                           "sparse_init.py") if not os.path.isfile(os.path.join(release, f))]
    if missing:
        refuse(f"{release} lacks {', '.join(missing)}: give the folder of the authors' code")
    if args.steps <= 0:
        refuse("--steps must be positive")
    sys.path.insert(0, release)
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    from streamrl.envs.make import _register

    _register("minatar")
    agree = [{"ac": run_ac, "q": run_q}[name](release, args.steps, args.seed) for name in args.only]
    sys.exit(0 if all(agree) else 1)


if __name__ == "__main__":
    main()
