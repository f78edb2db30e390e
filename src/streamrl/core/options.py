"""Checking option values given as text (``--set key=value``, config files) against the defaults
of the constructor they go to, before anything runs."""

from __future__ import annotations

from typing import Any


def check_option_types(defaults: dict[str, Any], options: dict[str, Any]) -> None:
    """A one-line error for a value of the wrong kind: a number where the default is one (an
    integer where it is an integer), True or False where it is a bool. Other defaults (None,
    strings, tuples) take any value, which the constructor checks."""
    for key, value in options.items():
        default = defaults.get(key)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"--set {key} expects True or False, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"--set {key} expects an integer (default {default}), got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"--set {key} expects a number (default {default}), got {value!r}")
