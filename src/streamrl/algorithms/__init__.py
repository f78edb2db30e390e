"""The stream-x algorithms, one file each."""

from streamrl.algorithms.ac import StreamAC
from streamrl.algorithms.base import Episode, StepInfo, StreamAgent
from streamrl.algorithms.q import StreamQ
from streamrl.algorithms.sarsa import StreamSARSA
from streamrl.algorithms.td import StreamTD

ALGORITHMS = {"q": StreamQ, "sarsa": StreamSARSA, "ac": StreamAC, "td": StreamTD}

__all__ = ["StreamAgent", "StreamQ", "StreamSARSA", "StreamAC", "StreamTD", "StepInfo", "Episode", "ALGORITHMS"]
