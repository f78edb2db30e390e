"""Experiments at scale: sweeps of ``streamrl train`` runs on local worker processes or on Ray,
and reports over many runs."""

from streamrl.experiments.spec import RunSpec, SweepSpec, expand, read_spec
from streamrl.experiments.sweep import SweepResult, run_sweep

__all__ = ["RunSpec", "SweepSpec", "SweepResult", "expand", "read_spec", "run_sweep"]
