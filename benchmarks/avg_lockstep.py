"""streamrl's AVG in lockstep with the authors' release.

    python benchmarks/avg_lockstep.py RELEASE [--steps N] [--seed S] [--env ENV] [--check-every K]

RELEASE is a folder holding the authors' code (a copy of https://github.com/gauthamvasan/avg: avg.py
and incremental_rl/ at its top). It needs what streamrl's torch and MuJoCo extras install, and
OpenCV and Matplotlib, which its experiment tracker imports; none of it is part of streamrl, and
nothing is fetched. Their networks, agent and update run unmodified; the harness only drives them:

- both start from the same weights: streamrl's actor and critic copied into theirs (the same
  layers in the same order; their mu and log_std heads are streamrl's two actor heads);
- both see the same transitions: one env (``make_env(ENV)``, Hopper-v4 by default) stepped with
  streamrl's action; their agent gets the observations that their NormalizeObservation wrapper
  makes of the same raw observations (their script's extra seeding reset, which gives the
  normalizer the first observation twice, is left out);
- both draw the same noise: their actor samples through torch's MultivariateNormal, whose
  rsample takes its standard normal draw from ``torch.distributions.multivariate_normal.
  _standard_normal``; for the run that function hands out, in order, the draws streamrl made
  (a subclass of streamrl's AVG records them: A at act, A' at observe).

Every step it compares the action, log pi(A|S), the TD-error scale sigma and the TD error (theirs
read from their critic's gradient, which their update leaves: the output bias's is -2 delta /
sigma); every K steps (--check-every) the weights and both Adam moments of actor and critic.
It prints, per quantity, the largest relative difference and the first step where it exceeds 1e-4
(float32 rounding of the same arithmetic is ~1e-6), then exits 1 if the two parted.

Compare on Hopper or Walker2d. At the learning rates of HalfCheetah's row (6.3e-3 and 8.7e-3) Adam
makes float32 rounding grow past 1e-4 within ~100 steps: the authors' code against itself, with
every initial weight moved by one ulp, parts at step 80 on HalfCheetah-v4 (and the two
implementations at step ~50); with those rates divided by 10 they stay within 1e-5 for 2,000 steps.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections import deque
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lockstep_record import Record, refuse  # noqa: E402

TRUNK = ("phi.0.weight", "phi.0.bias", "phi.2.weight", "phi.2.bias")
ACTOR_NAMES = (*TRUNK, "mu.weight", "mu.bias", "log_std.weight", "log_std.bias")
CRITIC_NAMES = (*TRUNK, "q.weight", "q.bias")


def to_theirs(ours: list[np.ndarray], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """streamrl's parameters of one network (trunk, then each head's weight and bias) under the
    names of the authors' module (``ACTOR_NAMES`` or ``CRITIC_NAMES``), as float32 copies."""
    if len(ours) != len(names):
        raise ValueError(f"{len(ours)} parameters, their module has {len(names)}")
    return {name: np.array(w, dtype=np.float32) for name, w in zip(names, ours)}


def from_theirs(state: dict, names: tuple[str, ...]) -> list[np.ndarray]:
    """Their module's parameters (a state dict) in streamrl's order."""
    return [np.asarray(state[name], dtype=np.float32) for name in names]


def flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def adam_moments(optimizer, module) -> tuple[np.ndarray, np.ndarray]:
    state = [optimizer.state[p] for p in module.parameters()]
    return flat(s["exp_avg"].numpy() for s in state), flat(s["exp_avg_sq"].numpy() for s in state)


def run(env_id: str, steps: int, seed: int, check_every: int = 50) -> bool:
    import avg as authors
    import gymnasium as gym
    import torch
    import torch.distributions.multivariate_normal as multivariate_normal

    from streamrl import make_env
    from streamrl.algorithms import AVG

    class RecordingAVG(AVG):
        """streamrl's AVG, keeping each noise draw of its training stream for the authors' agent."""

        def _noise(self, rng: np.random.Generator) -> np.ndarray:
            noise = super()._noise(rng)
            if rng is self.rng:
                self.drawn.append(noise)
            return noise

    env = make_env(env_id, seed=seed)
    ours = RecordingAVG(env, seed=seed, backend="torch")
    ours.drawn = deque()
    multivariate_normal._standard_normal = lambda shape, dtype, device: torch.from_numpy(
        ours.drawn.popleft()).to(dtype).reshape(shape)
    options = ours.step_rule_options
    config = SimpleNamespace(obs_dim=env.observation_space.shape[0], action_dim=env.action_space.shape[0],
                             device=torch.device("cpu"), nhid_actor=ours.hidden[0], nhid_critic=ours.hidden[0],
                             actor_lr=options["lr_policy"], critic_lr=options["lr"],
                             betas=[options["beta1"], options["beta2"]], alpha_lr=ours.alpha, gamma=ours.gamma)
    theirs = authors.AVG(config)
    for module, learner, names in ((theirs.actor, ours.actor, ACTOR_NAMES), (theirs.Q, ours.critic, CRITIC_NAMES)):
        module.load_state_dict({k: torch.from_numpy(v) for k, v in to_theirs(learner.parameters(), names).items()})
    normalizer = gym.wrappers.NormalizeObservation(env)  # (only its observation(): the same raw observations)
    record = Record()
    obs, _ = env.reset(seed=seed)
    their_obs = normalizer.observation(obs)
    for t in range(1, steps + 1):
        action = ours.act(obs)
        their_action, action_info = theirs.compute_action(their_obs)
        record.compare(t, "observation (normalized)", ours._state, their_obs)
        record.compare(t, "action", ours.action.detach().numpy(), their_action.detach().numpy())
        record.compare(t, "log pi(A|S)", ours.log_prob.item(), action_info["lprob"].item())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        their_next = normalizer.observation(next_obs)
        info = ours.observe(float(reward), next_obs, terminated, truncated)
        theirs.update(their_obs, their_action, their_next, float(reward), terminated, **action_info)
        sigma = float(theirs.td_error_scaler.sigma)
        record.compare(t, "sigma (TD-error scale)", ours.preprocessor.td_scaler.sigma, sigma)
        record.compare(t, "delta (TD error)", info.delta, -theirs.Q.q.bias.grad.item() * sigma / 2.0)
        if t % check_every == 0 or t == steps:
            for name, learner, module, optimizer, names in (
                    ("actor", ours.actor, theirs.actor, theirs.popt, ACTOR_NAMES),
                    ("critic", ours.critic, theirs.Q, theirs.qopt, CRITIC_NAMES)):
                record.compare(t, f"{name} weights", flat(learner.parameters()),
                               flat(from_theirs(module.state_dict(), names)))
                m, v = adam_moments(optimizer, module)
                record.compare(t, f"{name} Adam m", learner.rule.m, m)
                record.compare(t, f"{name} Adam v", learner.rule.v, v)
        if terminated or truncated:
            obs, _ = env.reset()
            their_obs = normalizer.observation(obs)
        else:
            obs, their_obs = next_obs, their_next
    return record.report(f"AVG on {env_id}, seed {seed}", steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", help="folder holding the authors' code")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--env", default="Hopper-v4", help="a MuJoCo env id (Hopper-v4: the paper's version)")
    parser.add_argument("--check-every", type=int, default=50, help="compare weights and Adam moments every K steps")
    args = parser.parse_args()
    release = os.path.abspath(args.release)
    if not all(os.path.isfile(os.path.join(release, *path)) for path in (("avg.py",),
                                                                        ("incremental_rl", "td_error_scaler.py"))):
        refuse(f"{release} lacks avg.py and incremental_rl/td_error_scaler.py: give the folder of the authors' code")
    if args.steps <= 0 or args.check_every <= 0:
        refuse("--steps and --check-every must be positive")
    sys.path.insert(0, release)
    warnings.simplefilter("ignore")
    try:
        import avg  # noqa: F401  (their agent, from the folder given)
    except ImportError as error:
        refuse(f"their avg.py cannot be imported ({error}): it needs torch, Gymnasium with MuJoCo, OpenCV and "
              "Matplotlib")
    sys.exit(0 if run(args.env, args.steps, args.seed, args.check_every) else 1)


if __name__ == "__main__":
    main()
