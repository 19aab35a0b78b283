"""Training yields the CPU to the web workers.

A training run is a batch job on the machine that serves the shop (``flask ml scheduler`` beside
gunicorn, or the admin button's child process). At the same priority it takes a core from the
workers for minutes, and on a 2-core VM pages got 2.3x slower during a run (BENCHMARKS.md, "Page
load ... during flask ml train"). A higher niceness makes the kernel's scheduler serve the
workers first: the run takes longer when the shop is busy and no longer when it is idle.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def lower_priority(niceness: int) -> int:
    """Raise this process's niceness to at least ``niceness`` (never lowers it: an operator who
    started the job nicer keeps that); returns the niceness now in effect. 0 leaves it alone."""
    current = os.nice(0)
    if niceness > current:
        try:
            current = os.nice(min(niceness, 19) - current)
        except OSError as error:  # a sandbox may refuse; training still runs, only not politely
            log.warning("could not lower the training priority to niceness %d: %s", niceness, error)
    return current
