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

And both only rank the run against the processes of its own *autogroup* (Linux, on by default
on desktops and VMs: one group per session, sched(7)). The kernel first shares the CPU equally
between groups, so a run in another session than gunicorn (the admin button's child starts one,
so does a shell or a supervisor) took half of a busy machine whatever its niceness: measured on
the 2-core bench, two nice-19 or idle-class busy loops in another session halved the home page's
throughput as much as two at nice 0 did. The run therefore leads its own session (``setsid``,
unless it runs at a terminal, where it must stay interruptible with Ctrl-C) and lowers
its autogroup's niceness to 19 with ``idle`` (its own niceness without), so the group as a whole
gets the CPU last. Under systemd a service is a cgroup instead and the unit's ``CPUWeight``
decides (``deploy/systemd/storefront-scheduler.service``).
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
    if target > 0 or idle:
        _own_autogroup(19 if idle else target)
    return os.nice(0)


AUTOGROUP = "/proc/self/autogroup"


def _own_autogroup(niceness: int) -> bool:
    """Lead a session of our own (a new autogroup) and lower that group's niceness; returns
    whether it did. Without autogroup support (not Linux, or a kernel built without it) there is
    nothing to do; with autogroups switched off at run time the write changes nothing."""
    if not os.path.exists(AUTOGROUP):
        return False
    if os.getsid(0) != os.getpid():
        if os.isatty(0):
            # someone at a terminal (flask ml train, make run): a new session would leave the
            # terminal, and Ctrl-C with it; the run stays in the terminal's autogroup
            log.info("training from a terminal: its priority counts within the terminal's session only")
            return False
        try:
            os.setsid()
        except OSError as error:  # a process group leader cannot start a session
            log.info("training shares its session's autogroup (%s): its priority counts within it", error)
            return False
    try:
        with open(AUTOGROUP, "w") as group:
            group.write(str(int(niceness)))
    except OSError as error:
        log.warning("could not lower the training's autogroup to niceness %d: %s", niceness, error)
        return False
    return True


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
