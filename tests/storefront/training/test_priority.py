"""Training runs nicer than the web workers (storefront.training.priority).

Each case runs in a child interpreter: niceness is per process, and the pytest process must keep
its own."""
from __future__ import annotations

import subprocess
import sys

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
