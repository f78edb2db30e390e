"""AVG (Vasan et al. 2024) against its equations worked out by hand: the squashed Gaussian and its
log-variance head, the TD-error scaler, penultimate normalization, Adam, one whole update on a
tiny network recomputed here in float64, saving and loading, and a learning run."""

import copy
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from streamrl.algorithms.avg import AVG
from streamrl.envs.avg_preprocessing import AVGPreprocessor
from streamrl.envs.normalization import PooledRunningMeanStd, TDErrorScaler
from streamrl.networks.pnorm import PenultimateNorm, PenultimateNormMLP, squashed_gaussian
from streamrl.networks.torch_network import FlatParameters
from streamrl.steprules.adam import Adam
from tests.helpers import PLAIN


def test_the_log_probability_is_that_of_a_tanh_transformed_gaussian():
    torch_dist = torch.distributions
    mean = torch.tensor([0.3, -1.2, 0.05], dtype=torch.float64)
    log_var = torch.tensor([-0.7, 0.4, -3.0], dtype=torch.float64)
    noise = torch.tensor([0.9, -1.4, 0.2], dtype=torch.float64)
    action, log_prob = squashed_gaussian(torch.cat([mean, log_var]), noise)
    std = torch.exp(0.5 * log_var)
    reference = torch_dist.TransformedDistribution(torch_dist.Normal(mean, std), [torch_dist.TanhTransform()])
    assert torch.allclose(action, torch.tanh(mean + std * noise), rtol=1e-15)
    assert log_prob.item() == pytest.approx(reference.log_prob(action).sum().item(), rel=1e-9)
    u = (mean + std * noise).numpy()  # by hand: the Gaussian's log-density at u, less log|d tanh/du|
    by_hand = np.sum(-0.5 * noise.numpy()**2 - 0.5 * log_var.numpy() - 0.5 * math.log(2 * math.pi)
                     - np.log(1 - np.tanh(u)**2))
    assert log_prob.item() == pytest.approx(by_hand, rel=1e-9)


def test_the_second_head_is_a_log_variance_clamped_to_minus_20_and_2():
    """std = exp(head / 2): a head of log 4 gives std 2 (a log-std head would give 4); above 2 the
    head is clamped, so a head of 5 gives std e."""
    head = torch.tensor([0.3, -0.1, math.log(4.0), 5.0], dtype=torch.float64)
    action, _ = squashed_gaussian(head, torch.tensor([1.0, 1.0], dtype=torch.float64))
    assert action.tolist() == pytest.approx([math.tanh(0.3 + 2.0), math.tanh(-0.1 + math.e)], rel=1e-14)
    _, log_prob = squashed_gaussian(torch.tensor([0.0, -25.0], dtype=torch.float64), torch.tensor([0.0]))
    assert log_prob.item() == pytest.approx(10.0 - 0.5 * math.log(2 * math.pi), rel=1e-14)  # log var -20


def test_the_td_error_scale_from_a_known_sequence():
    """Rewards 1..5, gamma 0.9, terminations after the 3rd and 5th step. Population statistics:
    Var(r) = 2; the discounts 0.9, 0.9, 0, 0.9, 0 have mean 0.54 and variance 0.486 - 0.2916 =
    0.1944; the returns are 6 and 9, so E[G^2] = (36 + 81) / 2 = 58.5; sigma = sqrt(2 + 0.1944 58.5)."""
    scaling = AVGPreprocessor((1,), 0.9, PLAIN)
    sigmas = [scaling.scale_step(r, 0.9, terminal) for r, terminal in
              ((1.0, False), (2.0, False), (3.0, True), (4.0, False), (5.0, True))]
    assert sigmas[1] == pytest.approx(0.5, rel=1e-14)  # Var(1, 2) = 0.25 > 0.01: scaling before any termination
    assert sigmas[-1] == pytest.approx(math.sqrt(2.0 + 0.1944 * 58.5), rel=1e-12)
    assert scaling.td_scaler.squared_returns.mean == pytest.approx(58.5, rel=1e-14)
    assert scaling.episode_return == 0.0
    scaling.scale_step(7.0, 0.9, False)  # a step that does not end the return (a truncation) carries it on
    assert scaling.episode_return == 7.0


def test_before_the_first_termination_a_small_variance_leaves_the_td_error_unscaled():
    scaler = TDErrorScaler()
    assert scaler.sigma == 1.0
    for reward in (0.0, 0.1):  # Var = 0.0025 <= 0.01, and no return yet
        scaler.update(reward, 0.99, None)
    assert scaler.sigma == 1.0
    scaler.update(0.1, 0.0, 0.3)  # a termination with return 0.3: scaled from now on
    expected = np.var([0.0, 0.1, 0.1]) + np.var([0.99, 0.99, 0.0]) * 0.3**2
    assert scaler.sigma == pytest.approx(math.sqrt(expected), rel=1e-12)
    tiny = TDErrorScaler()
    tiny.update(0.0, 0.0, 1e-3)
    assert tiny.sigma == pytest.approx(0.01, rel=1e-12)  # sqrt of the floor 1e-4 of the variance
    larger = TDErrorScaler()
    for reward in (0.0, 0.4):  # Var = 0.04 > 0.01: scaled before any termination
        larger.update(reward, 0.99, None)
    assert larger.sigma == pytest.approx(0.2, rel=1e-12)


def test_observations_are_normalized_with_gymnasium_s_pooled_statistics():
    """Prior mean 0 and variance 1 at a count of 1e-4: after one sample x, the mean is x / 1.0001
    and the variance (1e-4 + x^2 1e-4 / 1.0001) / 1.0001."""
    stats = PooledRunningMeanStd((2,))
    x = np.array([3.0, -1.0])
    stats.update(x)
    assert stats.mean == pytest.approx(x / 1.0001, rel=1e-15)
    assert stats.var == pytest.approx((1e-4 + x**2 * 1e-4 / 1.0001) / 1.0001, rel=1e-15)
    stats.update(np.array([1.0, 1.0]))
    assert stats.count == pytest.approx(2.0001, rel=1e-15)


def test_penultimate_normalization_divides_the_last_hidden_features_by_their_norm():
    assert PenultimateNorm()(torch.tensor([[3.0, -4.0]], dtype=torch.float64)).tolist() == [[0.6, -0.8]]
    mlp = PenultimateNormMLP(2, (2,), (1,), np.random.default_rng(0)).double()
    with torch.no_grad():
        mlp.trunk[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        mlp.trunk[0].bias.copy_(torch.tensor([0.0, 0.5]))
        mlp.heads[0].weight.copy_(torch.tensor([[2.0, 1.0]]))
        mlp.heads[0].bias.fill_(0.25)
    out = mlp(torch.tensor([[3.0, 4.0]], dtype=torch.float64)).item()
    features = np.array([3.0, 0.01 * -3.5])  # LeakyReLU of (3, -3.5)
    assert out == pytest.approx(2 * features[0] / np.linalg.norm(features) + features[1] / np.linalg.norm(features)
                                + 0.25, rel=1e-14)


def test_the_networks_start_orthogonal_with_zero_biases():
    mlp = PenultimateNormMLP(5, (8, 8), (3, 3), np.random.default_rng(1))
    for layer in (mlp.trunk[0], mlp.trunk[2], *mlp.heads):
        w = layer.weight.detach().double().numpy()
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, np.eye(min(w.shape)), atol=1e-6)
        assert not layer.bias.detach().any()


def adam_rule(weights: list[float], **options) -> tuple[Adam, torch.nn.Parameter]:
    parameter = torch.nn.Parameter(torch.tensor(weights, dtype=torch.float64))
    return Adam(FlatParameters([parameter]), 0.99, 0.0, **options), parameter


def test_two_adam_steps_by_hand():
    """The loss gradient is -delta grad f. Adam with beta1 = 0.9, beta2 = 0.999, lr 0.1: after step
    t, m_t = 0.9 m + 0.1 g, v_t = 0.999 v + 0.001 g^2, w -= 0.1 (m_t / (1 - 0.9^t)) /
    (sqrt(v_t / (1 - 0.999^t)) + 1e-8)."""
    rule, parameter = adam_rule([1.0, -2.0], lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for t, (grad_f, delta) in enumerate((([0.5, -1.0], 2.0), ([0.25, 3.0], -1.0)), start=1):
        parameter.grad = torch.tensor(grad_f, dtype=torch.float64)
        info = rule.update(None, delta, False)
        g = -delta * np.array(grad_f)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        w = w - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(parameter.detach().numpy(), w, rtol=1e-13)
        np.testing.assert_allclose(rule.m, m, rtol=1e-13)
        np.testing.assert_allclose(rule.v, v, rtol=1e-13)
        assert info.step_size == pytest.approx(0.1 / (1 - 0.9**t), rel=1e-15)


def test_adam_agrees_with_torch_optim_adam_to_the_last_bit():
    """float32, as the agents' networks: the same operations as torch.optim.Adam, on one flat vector."""
    for beta1 in (0.0, 0.9):
        torch.manual_seed(0)
        theirs = torch.nn.Parameter(torch.randn(1000))
        ours = torch.nn.Parameter(theirs.detach().clone())
        optimizer = torch.optim.Adam([theirs], lr=6.3e-3, betas=(beta1, 0.999))
        rule = Adam(FlatParameters([ours]), 0.99, 0.0, lr=6.3e-3, beta1=beta1)
        for _ in range(20):
            grad = torch.randn(1000) * 10 ** np.random.default_rng(0).uniform(-3, 2)
            theirs.grad = grad.clone()
            optimizer.step()
            ours.grad = -grad  # (f's gradient: the loss's is -delta grad f, delta = 1)
            rule.update(None, 1.0, False)
        assert torch.equal(theirs.detach(), ours.detach())
        assert np.array_equal(optimizer.state[theirs]["exp_avg"].numpy(), rule.m)
        assert np.array_equal(optimizer.state[theirs]["exp_avg_sq"].numpy(), rule.v)


# ---- one whole update, recomputed here in float64 from the agent's initial weights ------------------
ALPHA, GAMMA, LR, LR_POLICY = 0.2, 0.9, 1e-3, 2e-3


def tiny_agent(seed: int = 3) -> AVG:
    return AVG(observation_space=gym.spaces.Box(-5, 5, (2,), np.float32),
               action_space=gym.spaces.Box(-1, 1, (2,), np.float32), hidden=(4, 3), seed=seed, preprocessing=PLAIN,
               normalize_observation=False, alpha=ALPHA, gamma=GAMMA, lr=LR, lr_policy=LR_POLICY)


def forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Two LeakyReLU layers, x / |x|, then the heads' rows side by side (float64, by the formula)."""
    w1, b1, w2, b2, *heads = params
    h = torch.where(x @ w1.T + b1 > 0, x @ w1.T + b1, 0.01 * (x @ w1.T + b1))
    h = torch.where(h @ w2.T + b2 > 0, h @ w2.T + b2, 0.01 * (h @ w2.T + b2))
    h = h / torch.sqrt((h * h).sum())
    return torch.cat([h @ w.T + b for w, b in zip(heads[0::2], heads[1::2])])


def policy(actor: list[torch.Tensor], s: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, log_var = forward(actor, s).chunk(2)
    std = torch.sqrt(torch.exp(torch.clamp(log_var, -20, 2)))
    u = mean + std * eps
    density = torch.distributions.Normal(mean, std).log_prob(u).sum()
    return torch.tanh(u), density - torch.log(1 - torch.tanh(u) ** 2).sum()


@pytest.mark.parametrize("terminated", [False, True])
def test_one_update_by_hand(terminated):
    """One transition: the TD error with a fresh A' at S' (gradient-free), the actor's loss
    alpha log pi(A|S) - Q(S, A) through A, the critic's delta^2, each from the networks before the
    update, and one Adam step each (beta1 = 0: m is the loss gradient). A termination makes the
    TD-error scale sqrt(1e-4) = 0.01 (one step: every variance is 0), else it is 1."""
    agent = tiny_agent()
    rng = copy.deepcopy(agent.rng)  # the agent's next draws: eps of A, then eps of A'
    eps, eps_next = (torch.tensor(rng.standard_normal(2).astype(np.float32), dtype=torch.float64) for _ in range(2))
    actor = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in agent.actor.parameters()]
    critic = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in agent.critic.parameters()]
    s, s_next, reward = np.array([0.5, -1.25]), np.array([1.0, 0.75]), 0.8
    action, log_prob = policy(actor, torch.tensor(s), eps)
    with torch.no_grad():
        next_action, next_log_prob = policy(actor, torch.tensor(s_next), eps_next)
        v_next = forward(critic, torch.cat([torch.tensor(s_next), next_action])) - ALPHA * next_log_prob
    sigma = 0.01 if terminated else 1.0
    q = forward(critic, torch.cat([torch.tensor(s), action.detach()]))
    delta = (reward + GAMMA * (0.0 if terminated else 1.0) * v_next - q) / sigma
    actor_grads = torch.autograd.grad(ALPHA * log_prob - forward(critic, torch.cat([torch.tensor(s), action]))[0],
                                      actor)
    critic_grads = torch.autograd.grad((delta**2).sum(), critic)

    chosen = agent.act(s)
    info = agent.observe(reward, s_next, terminated, False)
    assert chosen == pytest.approx(action.detach().numpy(), rel=1e-5)
    assert info.delta == pytest.approx(delta.item(), rel=1e-4)
    reward_ent = reward - ALPHA * log_prob.item()  # what the TD-error scaler took in, before the update
    scaler = agent.preprocessor.td_scaler
    assert scaler.rewards.mean == pytest.approx(reward_ent, rel=1e-6)
    assert (scaler.squared_returns.mean if terminated else agent.preprocessor.episode_return) == pytest.approx(
        reward_ent**2 if terminated else reward_ent, rel=1e-6)
    for learner, params, grads, lr in ((agent.actor, actor, actor_grads, LR_POLICY),
                                       (agent.critic, critic, critic_grads, LR)):
        g = np.concatenate([x.numpy().ravel() for x in grads])
        np.testing.assert_allclose(learner.rule.m, g, rtol=2e-4, atol=1e-6 * np.abs(g).max())
        expected = np.concatenate([p.detach().numpy().ravel() for p in params]) - lr * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(np.concatenate([p.ravel() for p in learner.parameters()]), expected,
                                   rtol=1e-5, atol=1e-7)


def test_an_agent_saved_and_loaded_goes_on_exactly_as_one_never_saved(tmp_path):
    """Saved at an episode end (a loaded agent starts a new episode), with Adam's moments, the
    observation statistics, the TD-error scaler and the running return mid-way: both agents then
    give the same actions, TD errors and weights, to the bit."""
    space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float64)
    agent = AVG(observation_space=space, action_space=gym.spaces.Box(-2, 2, (2,), np.float32), hidden=(16, 16),
                seed=5)
    rng = np.random.default_rng(0)
    stream = [(rng.normal(size=3), float(rng.normal()), t % 7 == 6, t % 11 == 10) for t in range(60)]

    def run(a: AVG, transitions) -> list:
        out, obs = [], np.zeros(3)
        for next_obs, reward, terminated, truncated in transitions:
            action = a.act(obs)
            out.append((action.tolist(), a.observe(reward, next_obs, terminated, truncated).delta))
            obs = next_obs
        return out

    run(agent, stream[:28])  # ends on a termination (the 4th: t = 27, 27 % 7 == 6)
    assert agent._state is None and agent.preprocessor.td_scaler.squared_returns.count == 4
    agent.preprocessor.episode_return = 1.5  # (as after truncations: a return that runs on)
    agent.save(tmp_path / "avg.safetensors")
    loaded = AVG.load(tmp_path / "avg.safetensors")
    assert run(loaded, stream[28:]) == run(agent, stream[28:])
    for name in ("actor", "critic"):
        mine, theirs = agent.learners[name].state_dict(), loaded.learners[name].state_dict()
        assert mine.keys() == theirs.keys() and {"m", "v", "t"} <= mine.keys()
        assert all(np.array_equal(mine[k], theirs[k]) for k in mine)
    assert agent.preprocessor.state_dict().keys() == loaded.preprocessor.state_dict().keys()
    assert all(np.array_equal(v, loaded.preprocessor.state_dict()[k]) for k, v in agent.preprocessor.state_dict().items())


def test_presets_backend_and_action_space():
    hopper = AVG("Hopper-v5", seed=0)
    assert (hopper.alpha, hopper.step_rule_options["lr"], hopper.step_rule_options["lr_policy"]) == (0.3, 7.7e-5, 1.1e-5)
    assert AVG("Hopper-v5", alpha=0.1, lr=1e-3).alpha == 0.1
    assert AVG("Hopper-v5", alpha=0.1, lr=1e-3).step_rule_options["lr"] == 1e-3
    pendulum = AVG("Pendulum-v1")
    assert (pendulum.alpha, pendulum.step_rule_options["lr"]) == (0.07, 8.7e-3)  # the release's avg.py defaults
    assert pendulum.actor.backend == "torch"
    with pytest.raises(ValueError, match="^AVG runs on the torch backend only: "):
        AVG("Pendulum-v1", backend="fused")
    with pytest.raises(ValueError, match=r"^AVG acts in continuous \(Box, one axis\) action spaces only"):
        AVG("CartPole-v1")
    with pytest.raises(ValueError, match="^AVG learns with the step rule adam only, not 'obgd'$"):
        AVG("Hopper-v5", step_rule="obgd")


def test_learns_to_balance_the_inverted_pendulum():
    """InvertedPendulum-v5 (reward 1 per step balanced, episodes up to 1,000 steps) with the release's
    avg.py defaults, 3,000 steps (~10 s here). Mean return of the last 10 episodes, measured on this
    machine for seeds 0-9: 143, 90, 83, 187, 130, 112, 145, 39, 56, 154; a uniformly random policy's
    is 10 (50 episodes, none above 34). The threshold 25 is under the worst seed's 39 and well above
    random. (Longer runs are not steadier with these settings: by 12,000 steps seeds 0-5 range from
    51 to 634, some after falling from higher.)"""
    agent = AVG("InvertedPendulum-v5", seed=0)
    episodes = agent.learn(3_000)
    assert np.mean([e.episode_return for e in episodes[-10:]]) > 25
