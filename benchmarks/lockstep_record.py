"""What the lockstep harnesses share: how far apart two runs' quantities are, and where they part.

A quantity is said to part from the other run's at the first step its relative difference exceeds
PARTING (float32 rounding of the same arithmetic is ~1e-6).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import numpy as np

PARTING = 1e-4



def refuse(message: str) -> NoReturn:
    """What the harness cannot run with, in one line on stderr; exit status 2 (1 says the runs parted)."""
    print(message, file=sys.stderr)
    sys.exit(2)


def relative(a: np.ndarray | float, b: np.ndarray | float) -> float:
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1e-12)
    return float(np.abs(a - b).max() / scale)


class Record:
    """How far apart each quantity is: arrays (weights, ...) relative to their largest entry at each
    check; per-step scalars (TD errors, step sizes) relative to their RMS over the run (a TD error
    is a difference of values, and one near zero would make any rounding a large relative error)."""

    def __init__(self) -> None:
        self.worst: dict[str, float] = {}
        self.first: dict[str, int] = {}
        self.series: dict[str, tuple[list[int], list[float], list[float]]] = {}

    def compare(self, step: int, name: str, ours, theirs) -> None:
        ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        if ours.size == 1:
            steps, a, b = self.series.setdefault(name, ([], [], []))
            steps.append(step)
            a.append(float(ours.reshape(())))
            b.append(float(theirs.reshape(())))
            return
        self._note(name, relative(ours, theirs), step)

    def _note(self, name: str, error: float, step: int) -> None:
        self.worst[name] = max(self.worst.get(name, 0.0), error)
        if error > PARTING and name not in self.first:
            self.first[name] = step

    def report(self, title: str, steps: int) -> bool:
        for name, (at, a, b) in self.series.items():
            a, b = np.array(a), np.array(b)
            scale = max(float(np.sqrt(np.mean(b**2))), 1e-12)
            for step, error in zip(at, np.abs(a - b) / scale):
                self._note(name, float(error), step)
        print(f"{title}: {steps} steps")
        for name in sorted(self.worst, key=list(self.worst).index):
            where = f"first past {PARTING:g} at step {self.first[name]}" if name in self.first else "within"
            print(f"  {name:<28} largest relative difference {self.worst[name]:.2e}  ({where})")
        return not self.first
