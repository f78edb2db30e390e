"""benchmarks/avg_lockstep.py, which runs streamrl's AVG in lockstep with the authors' release (not
in this repository, nor fetched): its parts that need no release."""

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from streamrl.algorithms import AVG
from tests.helpers import benchmark_script

HARNESS = Path(__file__).parents[2] / "benchmarks" / "avg_lockstep.py"


def harness_module():
    return benchmark_script("avg_lockstep")


def test_a_folder_without_the_release_is_refused(tmp_path):
    (tmp_path / "avg.py").write_text("")  # (their agent's file alone is not the release)
    result = subprocess.run([sys.executable, str(HARNESS), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"{tmp_path} lacks avg.py and incremental_rl/td_error_scaler.py: give the folder of the "
                             "authors' code\n")


def test_weights_copied_into_their_layout_come_back_unchanged():
    """Their Actor is phi (Linear, LeakyReLU, Linear, LeakyReLU), then the heads mu and log_std; their
    Q the same trunk on [s; a], then q: the shapes their constructors give for 3 observations, 2
    actions and 256 hidden units."""
    module = harness_module()
    agent = AVG(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Box(-1, 1, (2,)), seed=0)
    theirs = module.to_theirs(agent.actor.parameters(), module.ACTOR_NAMES)
    assert {name: w.shape for name, w in theirs.items()} == {
        "phi.0.weight": (256, 3), "phi.0.bias": (256,), "phi.2.weight": (256, 256), "phi.2.bias": (256,),
        "mu.weight": (2, 256), "mu.bias": (2,), "log_std.weight": (2, 256), "log_std.bias": (2,)}
    critic = module.to_theirs(agent.critic.parameters(), module.CRITIC_NAMES)
    assert critic["phi.0.weight"].shape == (256, 5) and critic["q.weight"].shape == (1, 256)
    for names, ours, copied in ((module.ACTOR_NAMES, agent.actor.parameters(), theirs),
                                (module.CRITIC_NAMES, agent.critic.parameters(), critic)):
        back = module.from_theirs(copied, names)
        assert len(back) == len(ours) and all(np.array_equal(a, b) for a, b in zip(back, ours))
    with pytest.raises(ValueError, match="6 parameters, their module has 8"):
        module.to_theirs(agent.critic.parameters(), module.ACTOR_NAMES)
