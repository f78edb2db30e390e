"""Experiments at scale: reports over many runs."""
