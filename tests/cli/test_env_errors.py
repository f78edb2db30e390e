"""Environments the command line cannot train on, run as a user runs it: a missing optional
dependency (the message names the extra), an env outside streamrl's domains, unsupported spaces
of real registered envs, and an env that turns non-finite mid-run. One line on stderr, a non-zero
exit status, no traceback, nothing half-written."""

import pytest

from streamrl import StreamAgent
from tests.helpers import cli_error, streamrl_after
from tests.helpers import streamrl as run


def hidden(*modules: str) -> str:
    """A prelude that makes installed packages unimportable, as on an install without them."""
    return "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)


@pytest.mark.parametrize("module, args, message", [
    ("minatar", ["q", "MinAtar/Breakout-v1"],
     "minatar environments need the 'minatar' extra: pip install \"streamrl[minatar]\""),
    ("ale_py", ["q", "ALE/Breakout-v5"], "atari environments need the 'atari' extra: pip install \"streamrl[atari]\""),
    ("tensorboardX", ["q", "CartPole-v1"], "TensorBoard logging (or pass --no-tensorboard) needs the 'tensorboard' "
                                           "extra: pip install \"streamrl[tensorboard]\""),
    # outside the domains: Gymnasium's own words say what to install
    ("Box2D", ["ac", "LunarLander-v3"], "LunarLander-v3 is outside streamrl's domains (classic control, MuJoCo, DM "
                                        "Control, MinAtar, Atari) and needs a package that no streamrl extra installs: "
                                        "Box2D is not installed"),
])
def test_a_missing_dependency_names_what_to_install(tmp_path, module, args, message):
    out = tmp_path / "run"
    result = streamrl_after(hidden(module), "train", *args, "--steps", "100", "--out", out, "--quiet")
    assert cli_error(result).startswith(message)
    assert not out.exists()


def test_a_missing_video_extra_is_said_before_the_episodes_run(tmp_path):
    out = tmp_path / "run"
    assert run("train", "q", "CartPole-v1", "--steps", "300", "--out", out, "--quiet",
               "--no-tensorboard").returncode == 0
    video = tmp_path / "v.mp4"
    result = streamrl_after(hidden("imageio"), "eval", out, "--episodes", "1", "--video", video)
    assert cli_error(result) == "video needs the 'video' extra: pip install \"streamrl[video]\""
    assert result.stdout == "" and not video.exists()  # no episode was run for nothing


@pytest.mark.parametrize("args, message", [
    (["q", "Blackjack-v1"], "Blackjack-v1: Tuple observation spaces are not supported; streamrl handles Box and "
                            "Discrete spaces"),
    (["sarsa", "Pendulum-v1"], "StreamSARSA needs a Discrete action space, got Box; for continuous actions use "
                               "StreamAC"),
    (["q", "InvertedPendulum-v5"], "StreamQ needs a Discrete action space, got Box"),
])
def test_unsupported_spaces_of_real_envs(tmp_path, args, message):
    out = tmp_path / "run"
    assert cli_error(run("train", *args, "--steps", "100", "--out", out, "--quiet")).startswith(message)
    assert not out.exists()


BAD_CARTPOLE = """
import gymnasium as gym
import numpy as np


class TurnsNonFinite(gym.Wrapper):
    '''CartPole whose {what} is NaN from the {at}th step on (counted across episodes).'''

    def __init__(self, env):
        super().__init__(env)
        self.t = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        if self.t >= {at}:
            obs, reward = (obs * np.nan, reward) if "{what}" == "observation" else (obs, float("nan"))
        return obs, reward, terminated, truncated, info


gym.register("BadCartPole-v0", entry_point=lambda **kwargs: TurnsNonFinite(gym.make("CartPole-v1", **kwargs)))
"""


@pytest.mark.parametrize("what, message", [
    ("observation", "non-finite observation at step 900 (NaN or inf in 4 of 4 values); nothing was learned from it"),
    ("reward", "non-finite reward nan at step 900; nothing was learned from it"),
])
def test_an_env_turning_non_finite_stops_the_run_after_a_checkpoint(tmp_path, what, message):
    """A real registered env (as a third-party package registers one) goes bad at step 900."""
    out = tmp_path / "run"
    result = streamrl_after(BAD_CARTPOLE.format(what=what, at=900), "train", "q", "BadCartPole-v0", "--steps", "5000",
                            "--checkpoint-every", "100", "--out", out, "--quiet", "--no-tensorboard")
    checkpoint_step = StreamAgent.load(out / "checkpoint.safetensors").num_steps
    assert 800 < checkpoint_step < 900  # CartPole's episodes under a random policy are far shorter than 100 steps
    assert cli_error(result) == (f"{message}; the run stopped, the last checkpoint is at step {checkpoint_step} "
                                      f"(streamrl train --resume {out})")
    assert not (out / "summary.json").exists() and not (out / "agent.safetensors").exists()
