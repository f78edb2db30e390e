"""streamrl's QRC(lambda) in lockstep with the authors' release.

    python benchmarks/qrc_lockstep.py RELEASE [--steps N] [--seed S] [--check-every K]

RELEASE is a folder holding the authors' code (a clone of https://github.com/esraaelelimy/gtd_algos,
the package gtd_algos/ at its top). Their code needs JAX: jax 0.4.33, flax 0.9.0 and optax 0.2.3
(their requirements file; with distrax and tensorflow-probability, which their imports pull in)
importable, e.g. installed with ``pip install --target DIR`` and DIR on PYTHONPATH. None of it is
part of streamrl, and nothing is fetched. Their networks, update and wrappers run unmodified; the
harness only drives them:

- both agents start from the same weights: streamrl's q and h copied into their two train states
  (a convolution kernel as height, width, in, out; the first dense layer's inputs in the order of
  their channels-last feature maps), with the biases set to small random numbers in both first.
  With zero biases every pre-activation at the first state (the normalized first observation is
  all zeros) is exactly 0, where LeakyReLU has no derivative and the frameworks pick different
  ones (PyTorch's autograd and streamrl the negative slope 0.01, JAX 1), and the runs would part
  at their first update for that alone;
- both see the same environment: two instances of MinAtar Breakout with one seed, theirs with
  their ScaleReward and NormalizeObservation, reset once (their script's extra seeding reset,
  which gives the normalizer the first observation twice, is left out);
- both take streamrl's epsilon-greedy action, and their update is told streamrl's is_nongreedy.

It prints, per quantity, the largest relative difference in the first N steps and the first step
where it exceeds 1e-4, then exits 1 if the two parted before step N. The TD error and h(S, A) are
compared every step (theirs from their network, before their update), the weights of both networks
and the three traces every 50 steps (--check-every).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lockstep_record import Record, refuse  # noqa: E402

ENV_ID = "MinAtar/Breakout-v1"
LAYERS = ("Conv_0", "Dense_0", "Dense_1")


def to_flax(ours: list[np.ndarray], feature_shape: tuple[int, int, int]) -> dict:
    """streamrl's MinAtar network (torch layout: conv (out, in, h, w), linear (out, in), features
    flattened channels first) as their flax parameters."""
    conv_w, conv_b, fc_w, fc_b, out_w, out_b = ours
    channels, height, width = feature_shape
    fc = fc_w.reshape(-1, channels, height, width).transpose(2, 3, 1, 0).reshape(-1, fc_w.shape[0])
    kernels = (conv_w.transpose(2, 3, 1, 0), fc, out_w.T)
    return {"params": {name: {"kernel": np.ascontiguousarray(k, dtype=np.float32), "bias": b.astype(np.float32)}
                       for name, k, b in zip(LAYERS, kernels, (conv_b, fc_b, out_b))}}


def from_flax(params: dict, feature_shape: tuple[int, int, int]) -> np.ndarray:
    """Their parameters (or a trace shaped like them) flattened in streamrl's order and layout."""
    p = {name: {k: np.asarray(v, dtype=np.float64) for k, v in params["params"][name].items()} for name in LAYERS}
    channels, height, width = feature_shape
    fc = p["Dense_0"]["kernel"].reshape(height, width, channels, -1).transpose(3, 2, 0, 1)
    parts = (p["Conv_0"]["kernel"].transpose(3, 2, 0, 1), p["Conv_0"]["bias"], fc, p["Dense_0"]["bias"],
             p["Dense_1"]["kernel"].T, p["Dense_1"]["bias"])
    return np.concatenate([a.ravel() for a in parts])


def flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def run(steps: int, seed: int, check_every: int = 50) -> bool:
    import gymnasium as gym
    import jax
    from gtd_algos.src.algorithms import qrc as authors
    from gtd_algos.src.configs.Config import Config
    from gtd_algos.src.envs.gym_envs_wrappers.normalization import NormalizeObservation, ScaleReward

    from streamrl import make_env
    from streamrl.algorithms import QRC

    ours = QRC(make_env(ENV_ID), seed=seed, exploration_steps=int(0.2 * steps))
    rng = np.random.default_rng(seed)
    for learner in (ours.q, ours.h):
        for bias in learner.parameters()[1::2]:
            bias[...] = rng.uniform(-1e-3, 1e-3, bias.shape)
    env = make_env(ENV_ID)
    theirs_env = NormalizeObservation(ScaleReward(gym.make(ENV_ID), gamma=0.99))
    config = Config.from_dict({"gamma": 0.99, "lamda": 0.8, "gradient_correction": True, "reg_coeff": 1.0,
                               "q_lr": 1e-4, "h_lr_scale": 0.1, "opt": "sgd", "net_arch": "minatar",
                               "activation": "leaky_relu", "sparse_init": 0.9, "layer_norm": True})
    n_actions, obs_shape = int(theirs_env.action_space.n), theirs_env.observation_space.shape
    state, _ = authors.init_agent_state(config, n_actions, obs_shape, jax.random.PRNGKey(seed))
    height, width = obs_shape[0] - 2, obs_shape[1] - 2  # (3x3 VALID convolution)
    features = (16, height, width)
    state = state._replace(train_state=state.train_state.replace(params=to_flax(ours.q.parameters(), features)),
                           h_state=state.h_state.replace(params=to_flax(ours.h.parameters(), features)))
    apply_q, apply_h = state.train_state.apply_fn, state.h_state.apply_fn
    record = Record()
    obs, _ = env.reset(seed=seed)
    their_obs, _ = theirs_env.reset(seed=seed)
    for t in range(1, steps + 1):
        action = ours.act(obs)
        a = int(ours.action)
        record.compare(t, "observation (normalized)", ours._state, np.moveaxis(their_obs, -1, 0))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        their_next, their_reward, their_terminated, their_truncated, _ = theirs_env.step(a)
        their_q = np.asarray(apply_q(state.train_state.params, their_obs), dtype=np.float64)
        their_q_next = np.asarray(apply_q(state.train_state.params, their_next), dtype=np.float64)
        their_delta = their_reward + 0.99 * their_q_next.max() * (1 - their_terminated) - their_q[a]
        their_h = float(apply_h(state.h_state.params, their_obs)[a])
        info = ours.observe(float(reward), next_obs, terminated, truncated)
        state = authors.update_step(state, (their_obs, a, their_next, their_reward), bool(their_terminated),
                                    bool(their_truncated), bool(ours.nongreedy))
        record.compare(t, "reward (scaled)", ours.preprocessor.reward_scaler.stats.var, theirs_env.env.reward_stats.var)
        record.compare(t, "delta", info.delta, their_delta)
        record.compare(t, "h(S, A)", ours.h_sa, their_h)
        record.compare(t, "z_h (trace of h)", ours.h.rule.z_h, float(state.h_trace))
        if t % check_every == 0 or t == steps:
            record.compare(t, "q weights", flat(ours.q.parameters()), from_flax(state.train_state.params, features))
            record.compare(t, "h weights", flat(ours.h.parameters()), from_flax(state.h_state.params, features))
            record.compare(t, "z_w (trace of grad q)", flat(ours.q.traces()), from_flax(state.grad_q_trace, features))
            record.compare(t, "z_theta (trace of grad h)", flat(ours.h.traces()),
                           from_flax(state.grad_h_trace, features))
        if terminated or truncated:
            obs, _ = env.reset()
            their_obs, _ = theirs_env.reset()
        else:
            obs, their_obs = next_obs, their_next
    return record.report(f"QRC(lambda) on {ENV_ID}, seed {seed}", steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", help="folder holding the authors' code")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check-every", type=int, default=50, help="compare weights and traces every K steps")
    args = parser.parse_args()
    release = os.path.abspath(args.release)
    if not os.path.isfile(os.path.join(release, "gtd_algos", "src", "algorithms", "qrc.py")):
        refuse(f"{release} lacks gtd_algos/src/algorithms/qrc.py: give the folder of the authors' code")
    if args.steps <= 0 or args.check_every <= 0:
        refuse("--steps and --check-every must be positive")
    sys.path.insert(0, release)
    warnings.simplefilter("ignore")
    try:
        import flax  # noqa: F401
        import jax  # noqa: F401
        import optax  # noqa: F401
    except ImportError as error:
        refuse(f"their code needs JAX ({error}): install jax==0.4.33 flax==0.9.0 optax==0.2.3 (e.g. with "
                 "pip install --target DIR, DIR on PYTHONPATH)")
    from streamrl.envs.make import _register

    _register("minatar")
    sys.exit(0 if run(args.steps, args.seed, args.check_every) else 1)


if __name__ == "__main__":
    main()
