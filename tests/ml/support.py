"""Helpers shared by the ``ml`` tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_in_fresh_interpreter(script: str, timeout: float = 60) -> None:
    """Run ``script`` (dedented) in a new Python process at the repository root, so that what
    it imports is all that is loaded; it must exit cleanly after printing ``ok``."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok", done.stdout
