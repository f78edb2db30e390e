"""streamrl's version: written into agent files, run folders and reports."""

__version__ = "0.2.0"
