"""The training lock: exclusion, stale takeover (too old or a dead pid on this host), release,
and the process-alive check it shares with the web app's run bookkeeping."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from ml.artifacts import LOCK_FILE
from ml.training.lock import LockHeldError, TrainingLock, process_alive


def dead_pid() -> int:
    """The pid of a child that has finished and been reaped (``subprocess.run`` waits)."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    return int(finished.stdout)


def test_process_alive_knows_the_living_from_the_reaped():
    assert process_alive(os.getpid())
    assert process_alive(os.getppid())
    assert not process_alive(dead_pid())
    assert not process_alive(0) and not process_alive(-1)


def test_a_second_training_lock_is_refused_until_released(tmp_path):
    with TrainingLock(tmp_path) as first:
        assert first.held
        holder = first.holder()
        assert holder["pid"] == os.getpid() and holder["hostname"] == socket.gethostname()
        with pytest.raises(LockHeldError, match=f"pid {os.getpid()}"):
            TrainingLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_FILE).exists()
    second = TrainingLock(tmp_path)
    second.acquire()
    second.release()


def write_lock(tmp_path, **fields) -> None:
    content = {"pid": os.getpid(), "hostname": socket.gethostname(), "started_at": time.time(),
               "token": "theirs", **fields}
    (tmp_path / LOCK_FILE).write_text(json.dumps(content))


@pytest.mark.parametrize(
    "fields", [{"started_at": time.time() - 7200}, {"pid": "dead"}], ids=["too-old", "dead-pid"]
)
def test_a_stale_lock_is_taken_over(tmp_path, fields):
    if fields.get("pid") == "dead":
        fields = {"pid": dead_pid()}
    write_lock(tmp_path, **fields)
    lock = TrainingLock(tmp_path, stale_after_seconds=3600)
    lock.acquire()
    assert lock.holder()["pid"] == os.getpid() and lock.holder()["token"] != "theirs"
    lock.release()


def test_a_live_or_foreign_lock_is_respected(tmp_path):
    write_lock(tmp_path, hostname="another-host", pid=dead_pid())  # cannot check a remote pid
    with pytest.raises(LockHeldError, match="another-host"):
        TrainingLock(tmp_path).acquire()


def test_release_leaves_a_lock_that_was_taken_over(tmp_path):
    lock = TrainingLock(tmp_path)
    lock.acquire()
    write_lock(tmp_path)  # someone broke ours and took the lock
    lock.release()
    assert json.loads((tmp_path / LOCK_FILE).read_text())["token"] == "theirs"
