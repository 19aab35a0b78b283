"""Training yields the CPU to the web workers.

A training run is a batch job on the machine that serves the shop (``flask ml scheduler`` beside
gunicorn, or the admin button's child process). At the same priority it takes a core from the
workers for minutes, and on a 2-core VM pages got 2.3x slower during a run (BENCHMARKS.md, "Page
load ... during flask ml train").

Two things make the kernel serve the workers first:

- a higher niceness (``TRAINING_NICENESS``);
- Linux's ``SCHED_IDLE`` policy (``TRAINING_IDLE_SCHEDULING``): the run gets a CPU only when no
  normal task wants it, so it takes longer while the shop is busy and no longer when it is idle.
  Niceness 19 still takes about 1.5 % of a busy CPU per thread against a nice-0 one and wakes up
  in the middle of a request; an idle-class thread yields to any normal one.

Both are attributes of a *thread* on Linux, not of the process: ``os.nice`` changes only the
calling thread, and a thread inherits its creator's settings when it starts. Threads that exist
already keep theirs, and importing numpy starts OpenBLAS's worker threads, so a run that lowered
only its main thread kept half of its BLAS work at the workers' priority (measured: the home page
was still 1.8x slower during a run at niceness 10). ``lower_priority`` therefore changes every
thread of the process (``/proc/self/task``); the threads torch, implicit and OpenMP start later
inherit the main thread's settings.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def _threads() -> list[int]:
    """The ids of this process's threads (Linux); elsewhere the process itself."""
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def lower_priority(niceness: int, idle: bool = False) -> int:
    """Raise every thread's niceness to at least ``niceness`` (never lowers it: an operator who
    started the job nicer keeps that) and, with ``idle``, put every thread in the ``SCHED_IDLE``
    class where the platform has it; returns the main thread's niceness now in effect. 0 and
    ``idle=False`` leave the priority alone."""
    target = min(max(niceness, 0), 19)
    for tid in _threads():
        try:
            if target > os.getpriority(os.PRIO_PROCESS, tid):
                os.setpriority(os.PRIO_PROCESS, tid, target)
        except OSError as error:  # a sandbox may refuse, or the thread just ended: training still runs
            log.warning("could not lower thread %d's priority to niceness %d: %s", tid, target, error)
    if idle:
        _idle_class()
    return os.nice(0)


def _idle_class() -> None:
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:  # not Linux: niceness is what there is
        log.info("SCHED_IDLE is not available here; training runs at its niceness only")
        return
    for tid in _threads():
        try:
            os.sched_setscheduler(tid, policy, os.sched_param(0))
        except OSError as error:
            log.warning("could not put thread %d in the idle scheduling class: %s", tid, error)
