"""Training runs nicer than the web workers (storefront.training.priority).

Each case runs in a child interpreter: niceness is per process, and the pytest process must keep
its own."""
from __future__ import annotations

import subprocess
import sys

import pytest

from storefront import create_app

PROJECT = __file__.rsplit("/tests/", 1)[0]


def _niceness_after(start: int, asked: int) -> tuple[int, int]:
    code = (
        "import os; from storefront.training.priority import lower_priority; "
        f"os.nice({start}); now = lower_priority({asked}); print(now, os.nice(0))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    reported, actual = out.stdout.split()
    return int(reported), int(actual)


def test_the_training_process_becomes_nicer():
    assert _niceness_after(0, 10) == (10, 10)


def test_a_nicer_start_is_never_made_less_nice():
    assert _niceness_after(15, 10) == (15, 15)


def test_zero_leaves_the_priority_alone_and_19_is_the_ceiling():
    assert _niceness_after(3, 0) == (3, 3)
    assert _niceness_after(0, 40) == (19, 19)


def test_the_niceness_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRAINING_NICENESS", "7")
    assert create_app("development").config["TRAINING_NICENESS"] == 7
    monkeypatch.delenv("TRAINING_NICENESS")
    assert create_app("development").config["TRAINING_NICENESS"] == 10



_WAITING_THREAD = (  # a thread that exists before the call, as OpenBLAS's pool does after numpy's import
    "import threading; release = threading.Event()\n"
    "early = threading.Thread(target=release.wait); early.start()\n"
    "from storefront.training.priority import lower_priority\n"
)
_REPORT = (  # every thread's (niceness, policy), then a thread started after the call reports its own
    "import os\n"
    "for tid in sorted(os.listdir('/proc/self/task')):\n"
    "    print(os.getpriority(os.PRIO_PROCESS, int(tid)), os.sched_getscheduler(int(tid)))\n"
    "release.set(); early.join()\n"
    "late = threading.Thread(target=lambda: print(os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)))\n"
    "late.start(); late.join()\n"
)


def _threads_after(call: str) -> list[tuple[int, int]]:
    """(niceness, scheduling policy) of each thread of a child that ran ``call``; the last is a
    thread started afterwards."""
    out = subprocess.run([sys.executable, "-c", _WAITING_THREAD + call + "\n" + _REPORT], cwd=PROJECT,
                         capture_output=True, text=True, check=True)
    return [tuple(int(x) for x in line.split()) for line in out.stdout.splitlines()]


def test_threads_started_before_the_call_are_lowered_too():
    # os.nice changes only the calling thread: OpenBLAS's threads, started by numpy's import, kept
    # the workers' priority and half of a run's BLAS work competed with the pages
    import os

    nice, policy = os.nice(0), os.sched_getscheduler(0)  # the child starts as this process runs
    assert _threads_after("pass") == [(nice, policy)] * 3
    assert _threads_after("lower_priority(10)") == [(max(nice, 10), policy)] * 3


def test_idle_scheduling_puts_every_thread_in_the_idle_class():
    import os

    nice = os.nice(0)
    assert _threads_after("lower_priority(10, idle=True)") == [(max(nice, 10), os.SCHED_IDLE)] * 3
    assert _threads_after("lower_priority(0, idle=True)") == [(nice, os.SCHED_IDLE)] * 3


def test_idle_scheduling_is_on_by_default_and_off_from_the_environment(monkeypatch):
    assert create_app("development").config["TRAINING_IDLE_SCHEDULING"] is True
    assert create_app("testing").config["TRAINING_IDLE_SCHEDULING"] is False  # the CLI runner trains in pytest
    monkeypatch.setenv("TRAINING_IDLE_SCHEDULING", "0")
    assert create_app("development").config["TRAINING_IDLE_SCHEDULING"] is False


def _session_and_autogroup_after(call: str, stdin=subprocess.DEVNULL) -> tuple[bool, str | None]:
    """Whether the process leads its session after ``call``, and its autogroup's niceness. A
    process in the root autogroup (a session never started since boot, as in some CI containers)
    reads an empty /proc/self/autogroup: there is no niceness to report, hence None."""
    code = ("import os; from storefront.training.priority import lower_priority; " + call + "; "
            "print(os.getsid(0) == os.getpid(), *open('/proc/self/autogroup').read().split()[-1:])")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True,
                         stdin=stdin)  # DEVNULL: no terminal, as under a supervisor or the admin button
    leads, *nice = out.stdout.split()
    return leads == "True", (nice[0] if nice else None)


def test_the_run_gets_an_autogroup_of_its_own_at_the_lowest_priority():
    # the kernel shares the CPU between autogroups (sessions) first: a nice run in another
    # session than gunicorn's still took half of a busy machine
    import os

    if not os.path.exists("/proc/self/autogroup"):
        pytest.skip("this kernel has no autogroups")
    assert _session_and_autogroup_after("lower_priority(10, idle=True)") == (True, "19")
    assert _session_and_autogroup_after("lower_priority(12)") == (True, "12")
    leads, _ = _session_and_autogroup_after("lower_priority(0)")
    assert leads is False  # nothing asked: the process stays in its parent's session


def test_a_run_at_a_terminal_keeps_its_session_so_ctrl_c_still_reaches_it():
    import os
    import pty

    if not os.path.exists("/proc/self/autogroup"):
        pytest.skip("this kernel has no autogroups")
    controller, terminal = pty.openpty()  # stdin is a terminal, as for `flask ml train` or `make run`
    try:
        leads, _ = _session_and_autogroup_after("lower_priority(10, idle=True)", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert leads is False
