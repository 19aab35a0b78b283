"""Issue 20's simulation on one machine: two web nodes that share nothing but PostgreSQL.

A fresh database on the PostgreSQL server (TEST_DATABASE_URL's when set, else
postgresql://postgres@127.0.0.1:5432; skipped, saying so, when it does not answer) holds a small
seeded shop; two gunicorn instances serve it, each with its own ``MODEL_DIR`` cache,
``MODEL_STORE=postgresql`` and ``MODEL_CHECK_INTERVAL=1``; ``flask ml train`` runs from further
processes with caches of their own (bench/scaleout/two_nodes.py builds and drives all of it). Everything
is observed from outside, over HTTP and in the database:

- a run's version reaches both nodes within the check interval plus the fetch (``/readyz``
  names the version each node's worker serves; a similar-items API answer carries it too);
- a trainer killed with SIGKILL while it holds the lock: its dead connection frees the advisory
  lock at once, its ``training_lock`` row stays behind, and the next ``flask ml train`` takes the
  row over (the pid is dead on this host), trains and publishes;
- a lock held by a live trainer of another node refuses a second ``flask ml train`` (non-zero
  exit, the holder named, the pointer and the store untouched); once that holder is killed, its
  row is respected until its heartbeat is older than ``TRAINING_STALE_AFTER_SECONDS``, then taken
  over.

About 40-50 s on two busy cores. By hand: ``PYTHONPATH=. .venv/bin/python bench/scaleout/two_nodes.py``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from bench.scaleout.two_nodes import (
    ROOT, TwoNodes, create_scratch_database, drop_database, server_problem, server_url,
)
from ml.training.lock import LockHeldError
from storefront.database import normalise_database_url
from storefront.training.coordination import PostgresTrainingLock

pytestmark = pytest.mark.slow

CHECK_INTERVAL = 1.0  # MODEL_CHECK_INTERVAL of both nodes
#: What a node may take beyond the interval: the fetch of a small version, its load, the
#: 0.1 s polling, and slack for two cores shared with other work (measured: 0.1-0.3 s).
FETCH_ALLOWANCE = 4.0
STALE_AFTER = 5  # TRAINING_STALE_AFTER_SECONDS of the other node's holder and of its successor
OTHER_NODE = "node-c.example"
TIMINGS: list[str] = []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    admin = server_url()
    if (problem := server_problem(admin)) is not None:
        pytest.skip(f"needs PostgreSQL: {admin} does not answer ({problem}); the server of TEST_DATABASE_URL "
                    "is used when it is set, else postgresql://postgres@127.0.0.1:5432")
    url = create_scratch_database(admin, prefix="s20d_twonodes")
    shop = TwoNodes(tmp_path_factory.mktemp("two-nodes"), url, check_interval=CHECK_INTERVAL, workers=1)
    try:
        shop.build()
        shop.start_nodes()
        yield shop
    finally:
        shop.stop()
        drop_database(url)
        if TIMINGS:
            print("\ntwo-node simulation (activation -> serving):\n  " + "\n  ".join(TIMINGS))


def _pointer_version(shop: TwoNodes) -> str | None:
    pointer = shop.pointer()
    return pointer[0] if pointer is not None else None


def _assert_reached_both(shop: TwoNodes, propagation, label: str) -> None:
    TIMINGS.append(f"{label}: {propagation.describe()}")
    assert propagation.all_seen, f"not every node serves the new version: {propagation.describe()}"
    assert propagation.slowest <= CHECK_INTERVAL + FETCH_ALLOWANCE, propagation.describe()
    product = shop.most_viewed_product()
    for name in shop.nodes:  # what a shopper's API answer says, not only the probe
        assert shop.recommendation_version(name, product) == propagation.version, name


def _finish(process: subprocess.Popen, timeout: float = 120.0) -> int:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        TwoNodes.kill(process)
        raise


def test_a_training_run_reaches_both_nodes(cluster):
    before = _pointer_version(cluster)
    trainer = cluster.trainer("train")
    propagation = cluster.follow(before, trainer)
    assert _finish(trainer) == 0, cluster.output("train")
    assert propagation.version in cluster.output("train")
    _assert_reached_both(cluster, propagation, "a run (nothing served before)" if before is None else "a run")
    for name in cluster.nodes:  # each node fetched it into its own cache
        assert (cluster.folder / name / propagation.version / "manifest.json").is_file()


def test_a_killed_trainers_lock_is_taken_over(cluster):
    before, stored = cluster.pointer(), cluster.stored_versions()
    doomed = cluster.trainer("doomed", TRAINING_TIME_BUDGET_SECONDS=60)  # a long search: killed mid-run
    try:
        cluster.wait_for(lambda: (row := cluster.lock_row()) is not None and row["pid"] == doomed.pid
                         and any(run["pid"] == doomed.pid and run["status"] == "running" for run in cluster.runs()),
                         60, "the trainer holds the lock and runs")
        assert len(cluster.advisory_lock_holders()) == 1
    finally:
        cluster.kill(doomed)  # SIGKILL: no handler, no release

    # its connection died with it, and the advisory lock with the connection; the row stays
    cluster.wait_for(lambda: not cluster.advisory_lock_holders(), 10, "the advisory lock freed")
    assert cluster.lock_row()["pid"] == doomed.pid
    assert cluster.pointer() == before and cluster.stored_versions() == stored  # nothing half-published

    successor = cluster.trainer("successor")
    propagation = cluster.follow(before[0] if before else None, successor)
    assert _finish(successor) == 0, cluster.output("successor")
    assert f"taking over the training lock of pid {doomed.pid}" in cluster.output("successor")
    assert "is not running" in cluster.output("successor")
    assert cluster.lock_row() is None and not cluster.advisory_lock_holders()  # released after the run
    dead = next(run for run in cluster.runs() if run["pid"] == doomed.pid)
    assert dead["status"] == "failed" and "is gone" in dead["error"]
    _assert_reached_both(cluster, propagation, "after a killed trainer")


class OtherNodesTrainer:
    """A training job of another node holding the lock (tests/storefront/training/
    coordination_worker.py posing as host ``OTHER_NODE``): it takes the app's training lock and
    heart-beats it until killed."""

    def __init__(self, shop: TwoNodes) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.storefront.training.coordination_worker", shop.database_url,
             str(shop.folder / "other-node"), "--host", OTHER_NODE, "--stale", str(STALE_AFTER)],
            cwd=ROOT, env=shop.env(shop.folder / "other-node"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self.pid = self.answer()["ready"]

    def answer(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"the other node's trainer exited ({self.process.wait()})")

    def acquire(self) -> dict:
        self.process.stdin.write("acquire\n")
        self.process.stdin.flush()
        return self.answer()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def test_a_second_trainer_is_refused_and_a_dead_nodes_lock_expires(cluster):
    before, stored, runs_before = cluster.pointer(), cluster.stored_versions(), len(cluster.runs())
    holder = OtherNodesTrainer(cluster)
    try:
        assert holder.acquire() == {"acquired": True}
        refused = cluster.trainer("refused", TRAINING_STALE_AFTER_SECONDS=STALE_AFTER)
        assert _finish(refused) != 0
        said = cluster.output("refused")
        assert f"a training job is already running: pid {holder.pid} on host {OTHER_NODE}" in said, said
        # nothing it did changed what is served: the pointer (version and time), the store
        assert cluster.pointer() == before and cluster.stored_versions() == stored
        assert not list((cluster.folder / "trainer-refused").glob("2*"))
        run = cluster.runs()[-1]
        assert len(cluster.runs()) == runs_before + 1
        assert run["status"] == "failed" and run["error"].startswith("not started: a training job is already running")
    finally:
        holder.kill()

    # another node's holder died: its advisory lock went with its connection, its row is
    # respected while its heartbeat is fresh (that job may only have lost its connection)...
    cluster.wait_for(lambda: not cluster.advisory_lock_holders(), 10, "the advisory lock freed")
    lock = PostgresTrainingLock(normalise_database_url(cluster.database_url), stale_after_seconds=STALE_AFTER)
    row = cluster.lock_row()
    assert row["pid"] == holder.pid and row["host"] == OTHER_NODE
    if row["silent_seconds"] < STALE_AFTER - 1:  # (a very busy machine may already be past it)
        with pytest.raises(LockHeldError, match="its database session is gone"):
            lock.acquire()
    # ...and taken over once it is older than TRAINING_STALE_AFTER_SECONDS
    cluster.wait_for(lambda: cluster.lock_row()["silent_seconds"] > STALE_AFTER + 0.2, STALE_AFTER + 10,
                     "the dead holder's heartbeat goes stale", poll=0.2)
    successor = cluster.trainer("after-expiry", TRAINING_STALE_AFTER_SECONDS=STALE_AFTER)
    propagation = cluster.follow(before[0] if before else None, successor)
    assert _finish(successor) == 0, cluster.output("after-expiry")
    said = cluster.output("after-expiry")
    assert f"taking over the training lock of pid {holder.pid} on {OTHER_NODE}: no heartbeat for" in said, said
    assert cluster.lock_row() is None
    _assert_reached_both(cluster, propagation, "after another node's lock expired")

