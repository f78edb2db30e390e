"""Intentional TD(lambda), Q(lambda) and AC(lambda) (Sharifnassab, Elsayed, De Asis, Mahmood & Sutton
2026; docs/method.md, "Intentional updates"): the stream-x algorithms, whose TD errors and traces
are unchanged, with the Intentional step rule (:mod:`streamrl.steprules.intentional`) at the
authors' released settings, and their scripts' conventions where those differ from stream-x's:

- ``reward_trace_reset="termination"``: reward scaling's discounted return restarts at a
  termination only, as their ScaleReward does (stream-x restarts it at every episode end).
- Intentional AC: no time feature (``time_info=False``) and ``bootstrap_truncated=True``, so a
  time-limit truncation bootstraps on the next state, as their AC script does (stream-x, with the
  time feature, treats it as a terminal). Its traces, like every agent's, are cleared when an
  episode ends, truncated or not: the released AC script carries them into the next episode
  after a truncation, which its authors' later script does not.

Each of these is an ordinary option: pass the other value to get stream-x's convention.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import gymnasium as gym

from streamrl.algorithms.ac import StreamAC
from streamrl.algorithms.q import StreamQ
from streamrl.algorithms.td import StreamTD

_RELEASED = {"step_rule": "intentional", "reward_trace_reset": "termination"}


class IntentionalTD(StreamTD):
    """Intentional TD(lambda): Stream TD(lambda)'s prediction with intentional updates, the value
    network's intended change ``eta`` = 0.5 of the clipped TD error."""

    algorithm = "itd"
    default_options = MappingProxyType({**StreamTD.default_options, **_RELEASED})

    def __init__(self, env: gym.Env | str | None = None, **kwargs: Any) -> None:
        super().__init__(env, **self._with_defaults(kwargs))


class IntentionalQ(StreamQ):
    """Intentional Q(lambda): Watkins's Q(lambda) with intentional updates, ``eta`` = 0.25 (the
    authors' MinAtar and Atari setting)."""

    algorithm = "iq"
    default_options = MappingProxyType({**_RELEASED, "eta": 0.25})

    def __init__(self, env: gym.Env | str | None = None, **kwargs: Any) -> None:
        super().__init__(env, **self._with_defaults(kwargs))


class IntentionalAC(StreamAC):
    """Intentional AC(lambda): the critic moves v(S) by ``eta`` = 0.5 of the clipped TD error, the
    actor log pi(A|S) by about ``eta_policy`` = 0.05 of the TD error over its running mean
    magnitude; entropy coefficient 0.01 with the sign of the TD error, as Stream AC."""

    algorithm = "iac"
    default_options = MappingProxyType({**_RELEASED, "time_info": False, "bootstrap_truncated": True})

    def __init__(self, env: gym.Env | str | None = None, **kwargs: Any) -> None:
        super().__init__(env, **self._with_defaults(kwargs))
