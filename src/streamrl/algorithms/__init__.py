"""The algorithms, one file each: stream-x's (Stream TD, Q, SARSA, AC), Intentional TD, Q, AC, QRC(lambda)
and AVG."""

from streamrl.algorithms.ac import StreamAC
from streamrl.algorithms.avg import AVG
from streamrl.algorithms.base import Episode, StepInfo, StreamAgent
from streamrl.algorithms.intentional import IntentionalAC, IntentionalQ, IntentionalTD
from streamrl.algorithms.q import StreamQ
from streamrl.algorithms.qrc import QRC
from streamrl.algorithms.sarsa import StreamSARSA
from streamrl.algorithms.td import StreamTD

# the names of 'streamrl train' and of agent files
ALGORITHMS = {"q": StreamQ, "sarsa": StreamSARSA, "ac": StreamAC, "td": StreamTD,
              "iq": IntentionalQ, "iac": IntentionalAC, "itd": IntentionalTD, "qrc": QRC,
              "avg": AVG}

__all__ = ["StreamAgent", "StreamQ", "StreamSARSA", "StreamAC", "StreamTD", "IntentionalQ", "IntentionalAC",
           "IntentionalTD", "QRC", "AVG", "StepInfo", "Episode", "ALGORITHMS"]
