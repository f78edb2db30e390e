"""The ``streamrl`` command line."""
