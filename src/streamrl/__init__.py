"""streamrl: streaming deep reinforcement learning (stream-x, Elsayed, Vasan & Mahmood 2024)."""

__version__ = "0.1.0"

from streamrl.algorithms import Episode, StepInfo, StreamAC, StreamAgent, StreamQ, StreamSARSA, StreamTD  # noqa: E402
from streamrl.envs import make_env  # noqa: E402

__all__ = ["StreamAgent", "StreamQ", "StreamSARSA", "StreamAC", "StreamTD", "StepInfo", "Episode", "make_env",
           "__version__"]
