"""Stopping a run cleanly on Ctrl-C or SIGTERM: the first signal asks, the second insists."""

from __future__ import annotations

import signal


class SignalFlag:
    """First SIGINT/SIGTERM: ask the run to stop at the next episode end; second: stop now."""

    def __init__(self) -> None:
        self.at_step: int | None = None
        self.previous = {}

    def __enter__(self) -> "SignalFlag":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.at_step is not None:
            raise KeyboardInterrupt
        self.at_step = -1  # the training loop records the step

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
