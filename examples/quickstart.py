"""Train Stream Q(lambda) on CartPole-v1 (episode limit 10,000), print each episode, then
evaluate the agent without learning.

    python examples/quickstart.py [--algorithm q|sarsa|ac] [--steps 60000] [--seed 2]
"""

import argparse
import time

import streamrl
from streamrl import StreamAC, StreamQ, StreamSARSA

parser = argparse.ArgumentParser()
parser.add_argument("--algorithm", choices=["q", "sarsa", "ac"], default="q")
parser.add_argument("--steps", type=int, default=60_000)
parser.add_argument("--seed", type=int, default=2)
parser.add_argument("--env", default="CartPole-v1")
args = parser.parse_args()

agent_cls = {"q": StreamQ, "sarsa": StreamSARSA, "ac": StreamAC}[args.algorithm]
agent = agent_cls(args.env, seed=args.seed)  # the env id: make_env(args.env, seed=args.seed)
start = time.perf_counter()


def report(agent, info, episode):
    if episode is not None:
        rate = agent.num_steps / (time.perf_counter() - start)
        print(f"step {episode.end_step:>7,}  return {episode.episode_return:>8.1f}  length {episode.length:>6}"
              f"  ({rate:,.0f} steps/s)", flush=True)


episodes = agent.learn(args.steps, callback=report)
last = [e.episode_return for e in episodes[-10:]]
print(f"mean return of the last {len(last)} episodes: {sum(last) / max(len(last), 1):.1f}")
returns = streamrl.evaluate(agent, args.env, n_episodes=5, seed=1000)  # on a copy: the agent is unchanged
print(f"evaluation (deterministic, no learning): mean return {sum(returns) / len(returns):.1f} over 5 episodes")
agent.save("quickstart_agent.safetensors")
print("saved the agent to quickstart_agent.safetensors")
