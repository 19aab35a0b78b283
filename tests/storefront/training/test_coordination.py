"""One training job at a time across nodes (storefront.training.coordination, issue 20): on
PostgreSQL an advisory lock plus a ``training_lock`` row, raced for by real processes with their
own connections; the scheduler safe on every node; SQLite keeps the lock file.

PostgreSQL: the database named by TEST_DATABASE_URL, or else a scratch database created on
TEST_POSTGRES_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and dropped
afterwards; skipped, saying so, when neither answers.
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from ml.artifacts import LOCK_FILE
from ml.training import LockHeldError, TrainingLock
from storefront import create_app
from storefront.database import normalise_database_url
from storefront.extensions import db
from storefront.models import RUN_SUCCEEDED, TRIGGER_SCHEDULE, TrainingRun
from storefront.models.training import TrainingLockHolder
from storefront.training import coordination
from storefront.training.coordination import PostgresTrainingLock, lock_scheduling, training_lock
from storefront.training.scheduler import TrainingScheduler
from tests.fresh_schema import POSTGRES

ROOT = Path(__file__).resolve().parents[3]
ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SCRATCH_PREFIX = os.environ.get("TEST_SCRATCH_DB_PREFIX", "test_coordination")
WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def postgres_url():
    named = os.environ.get("TEST_DATABASE_URL", "")
    if named.startswith("postgres"):
        yield named
        return
    admin = create_engine(normalise_database_url(ADMIN_URL), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    try:
        admin.connect().close()
    except OperationalError as error:
        admin.dispose()
        pytest.skip(f"needs PostgreSQL: TEST_DATABASE_URL is not set and {ADMIN_URL} does not answer "
                    f"({str(error).splitlines()[0]})")
    name = f"{SCRATCH_PREFIX}_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        POSTGRES.fingerprint = None  # the schema it tracked goes with the database
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def app_config(app_config, postgres_url):
    return {**app_config, "SQLALCHEMY_DATABASE_URI": postgres_url, "TRAINING_LAUNCH": False}


class Node:
    """A worker process (tests/storefront/training/coordination_worker.py): its own app and
    connections, one JSON answer per command."""

    def __init__(self, url: str, model_dir: Path, log: Path, *options: str) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.storefront.training.coordination_worker", url, str(model_dir), *options],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.pid: int | None = None

    def _pump(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)

    def ready(self) -> "Node":
        self.pid = self.answer()["ready"]
        return self

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict:
        try:
            return json.loads(self._lines.get(timeout=WAIT_SECONDS))
        except queue.Empty:
            raise AssertionError(f"no answer from worker {self.process.pid}: {self.log.read_text()[-2000:]}") from None

    def ask(self, command: str) -> dict:
        self.send(command)
        return self.answer()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)  # reaped: its pid is dead, not a zombie

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("exit")
                self.process.wait(timeout=WAIT_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


@pytest.fixture
def nodes(app, tmp_path):
    """Start worker processes on the test database (in parallel: each builds an app)."""
    started: list[Node] = []

    def start(count: int, *options: str) -> list[Node]:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        new = [Node(url, tmp_path / "models", tmp_path / f"node-{len(started) + i}.log", *options)
               for i in range(count)]
        started.extend(new)
        return [node.ready() for node in new]

    yield start
    for node in started:
        node.close()


def _holder() -> TrainingLockHolder | None:
    db.session.expire_all()
    return db.session.get(TrainingLockHolder, "training")


def _local_lock(**options) -> PostgresTrainingLock:
    return PostgresTrainingLock(db.engine.url, **options)


def _until(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _try_acquire(lock: PostgresTrainingLock) -> bool:
    try:
        lock.acquire()
    except LockHeldError:
        return False
    return True


def _advisory_locks(end: bool = True) -> int:
    """Our advisory locks granted now on this database, in any session (``end``: in a transaction
    of its own). Other databases of the cluster (other test runs) have theirs."""
    count = db.session.execute(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((classid::bigint << 32) | objid::bigint) IN (:training, :scheduling)"),
        {"training": coordination.TRAINING_LOCK_KEY, "scheduling": coordination.SCHEDULING_LOCK_KEY}).scalar_one()
    if end:
        db.session.commit()
    return count


def _age_heartbeat(seconds: int) -> None:
    db.session.execute(text("UPDATE training_lock SET heartbeat_at = heartbeat_at - make_interval(secs => :s)"),
                       {"s": seconds})
    db.session.commit()


# --- the lock ----------------------------------------------------------------------------------

def test_the_app_gets_the_postgresql_lock(app_ctx):
    lock = training_lock("/nowhere", stale_after_seconds=120)
    assert isinstance(lock, PostgresTrainingLock) and lock.stale_after_seconds == 120
    assert lock.heartbeat_seconds == 30  # a quarter of the stale limit (at most a minute)


def test_two_processes_race_and_exactly_one_wins(app_ctx, nodes):
    first, second = nodes(2)
    for node in (first, second):
        node.send("acquire")
    answers = {node.pid: node.answer() for node in (first, second)}
    winners = [pid for pid, answer in answers.items() if answer["acquired"]]
    assert len(winners) == 1, answers
    winner = first if first.pid == winners[0] else second
    loser = second if winner is first else first
    assert answers[loser.pid]["error"].startswith("a training job is already running: ")
    assert f"pid {winner.pid} on host {socket.gethostname()} since " in answers[loser.pid]["error"] \
        or "no holder recorded" in answers[loser.pid]["error"]  # (the winner had not written its row yet)
    holder = _holder()
    assert (holder.pid, holder.host) == (winner.pid, socket.gethostname())

    assert loser.ask("acquire")["acquired"] is False  # still held
    assert winner.ask("release") == {"released": True}
    assert _holder() is None  # cleared on release
    assert loser.ask("acquire") == {"acquired": True}
    assert _holder().pid == loser.pid
    loser.ask("release")


def test_a_live_holder_with_an_old_heartbeat_is_kept_and_a_killed_one_taken_over(app_ctx, nodes):
    (holder_node,) = nodes(1)
    assert holder_node.ask("acquire") == {"acquired": True}
    token = _holder().token
    _age_heartbeat(3 * 3600)  # silent for hours, but its session still holds the advisory lock

    lock = _local_lock(stale_after_seconds=60)
    with pytest.raises(LockHeldError, match=f"already running: pid {holder_node.pid} on host"):
        lock.acquire()
    assert _holder().token == token and not lock.held  # not taken over

    holder_node.kill()  # SIGKILL: no release; its connection dies with it
    _until(lambda: _try_acquire(lock), "the dead holder's advisory lock to be released")
    try:
        holder = _holder()
        assert (holder.pid, holder.token) == (os.getpid(), lock._token)  # the stale row taken over
    finally:
        lock.release()
    assert _holder() is None


def test_a_killed_holder_on_another_node_is_taken_over_once_its_heartbeat_is_stale(app_ctx, nodes):
    (holder_node,) = nodes(1, "--host", "node-b")
    assert holder_node.ask("acquire") == {"acquired": True}
    holder_node.kill()
    lock = _local_lock(stale_after_seconds=60)

    def refused_for_a_gone_session():  # the pid check cannot see another node's processes
        try:
            lock.acquire()
        except LockHeldError as busy:
            return "database session is gone" in str(busy) and str(busy)
        raise AssertionError("a fresh heartbeat from another node was taken over")

    message = _until(refused_for_a_gone_session, "the dead holder's session to end")
    assert f"pid {holder_node.pid} on host node-b" in message and "older than 60 s" in message
    _age_heartbeat(61)
    with lock:
        assert _holder().host == socket.gethostname()


def test_a_row_left_by_a_dead_local_pid_is_taken_over_at_once(app_ctx):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db.session.execute(text("INSERT INTO training_lock VALUES ('training', 'feedface', :host, :pid, "
                            "timezone('UTC', now()), timezone('UTC', now()))"),
                       {"host": socket.gethostname(), "pid": dead.pid})
    db.session.commit()
    with _local_lock(stale_after_seconds=3600) as lock:
        assert _holder().token == lock._token != "feedface"


def test_the_heartbeat_keeps_the_row_fresh_and_survives_a_dropped_connection(app_ctx):
    lock = _local_lock(stale_after_seconds=60, heartbeat_seconds=0.1)
    with lock:
        first = _holder().heartbeat_at
        _until(lambda: _holder().heartbeat_at > first, "a heartbeat")
        killed = db.session.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'storefront training lock' AND datname = current_database()")).scalars().all()
        db.session.commit()
        assert killed == [True]
        _until(lambda: _advisory_locks() == 1, "the heartbeat thread to reconnect and take the lock back")
        assert not lock.lost and _holder().token == lock._token
        with pytest.raises(LockHeldError, match=f"pid {os.getpid()} on host"):
            _local_lock().acquire()
    assert _holder() is None


# --- the scheduler on every node ---------------------------------------------------------------

def test_schedulers_on_several_nodes_queue_and_train_one_run(app_ctx, nodes):
    workers = nodes(3)
    for node in workers:  # each decision takes 0.3 s: without the scheduling lock they all overlap
        node.send("tick 3600 1.0 0.3")
    outcomes = [node.answer() for node in workers]
    runs = db.session.scalars(select(TrainingRun)).all()
    assert len(runs) == 1, (outcomes, [(r.id, r.status, r.error) for r in runs])
    assert (runs[0].status, runs[0].trigger) == (RUN_SUCCEEDED, TRIGGER_SCHEDULE)
    assert [o["run"] for o in outcomes].count(runs[0].id) == 1, outcomes
    for node in workers:  # the next ticks, on every node: trained within the interval
        node.send("tick 3600 1.0 0")
    again = [node.answer() for node in workers]
    assert all(o["run"] is None and o["message"].startswith("nothing to do") for o in again), again
    assert db.session.scalar(select(func.count()).select_from(TrainingRun)) == 1


def test_the_scheduling_lock_is_released_by_the_decision_commit(app_ctx):
    lock_scheduling()
    assert _advisory_locks(end=False) == 1
    db.session.commit()
    assert _advisory_locks() == 0


def test_a_scheduler_gives_up_its_tick_when_another_decision_takes_too_long(app_ctx, monkeypatch):
    monkeypatch.setattr(coordination, "SCHEDULING_LOCK_TIMEOUT_MS", 200)
    other = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with other.connect() as connection:  # another node, stuck inside its decision
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": coordination.SCHEDULING_LOCK_KEY})
            outcome = TrainingScheduler(interval=3600).tick()
            connection.rollback()
    finally:
        other.dispose()
    assert outcome.run is None and outcome.message == "skipped: another scheduler held the scheduling lock for more than 0.2 s; this tick is skipped"
    assert db.session.scalar(select(func.count()).select_from(TrainingRun)) == 0
    outcome = TrainingScheduler(interval=3600).tick()  # free again: the due run is queued and tried
    assert outcome.run is not None and db.session.execute(text("SHOW lock_timeout")).scalar_one() == "0"


# --- SQLite: the file lock, as before ----------------------------------------------------------

def test_sqlite_keeps_the_lock_file(tmp_path):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
                      "MODEL_DIR": str(tmp_path / "models")})
    with app.app_context():
        lock = training_lock(tmp_path / "models", stale_after_seconds=60)
        assert type(lock) is TrainingLock
        with lock:
            assert (tmp_path / "models" / LOCK_FILE).exists()
            with pytest.raises(LockHeldError, match="already running: pid"):
                training_lock(tmp_path / "models").acquire()
        assert not (tmp_path / "models" / LOCK_FILE).exists()
        lock_scheduling()  # nothing to serialise on one machine
        db.session.remove()
        db.engine.dispose()
