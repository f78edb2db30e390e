"""``python -m streamrl`` is the ``streamrl`` command (sweeps start their runs this way, so a run
uses the same interpreter as the sweep or the Ray worker that starts it)."""

import sys

from streamrl.cli.main import main

sys.exit(main())
