"""streamrl: streaming deep reinforcement learning: stream-x (Elsayed, Vasan & Mahmood 2024) and
Intentional updates (Sharifnassab et al. 2026), QRC(lambda) (Elelimy et al. 2025) and AVG (Vasan et al. 2024)."""

from streamrl.algorithms import (
                                 AVG,
                                 QRC,
                                 Episode,
                                 IntentionalAC,
                                 IntentionalQ,
                                 IntentionalTD,
                                 StepInfo,
                                 StreamAC,
                                 StreamAgent,
                                 StreamQ,
                                 StreamSARSA,
                                 StreamTD,
)
from streamrl.core.version import __version__
from streamrl.envs import make_env
from streamrl.running.evaluate import evaluate

__all__ = ["StreamAgent", "StreamQ", "StreamSARSA", "StreamAC", "StreamTD", "IntentionalQ", "IntentionalAC",
           "IntentionalTD", "QRC", "AVG", "StepInfo", "Episode", "make_env", "evaluate", "__version__"]
