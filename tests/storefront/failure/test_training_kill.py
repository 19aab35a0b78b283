"""A training job killed with SIGKILL in the middle of its run.

``flask ml train`` runs as a real subprocess on a seeded shop that already serves a version;
once its ``TrainingRun`` shows as ``running`` with its pid (before it can publish), it gets ``kill -9``
(no handler, no cleanup: its lock file and its ``running`` row stay behind). Then:

- the served version is unchanged (``ACTIVE`` still names the old one, no new version
  directory, no half-written one that serving could pick up);
- the dead job is noticed: on this host at once by its pid (the next ``flask ml train`` marks
  it failed and breaks its lock: the lock file on SQLite, the ``training_lock`` row on PostgreSQL,
  whose advisory lock died with the job's connection), and, where the pid cannot be checked (the job ran on another
  host), only after ``TRAINING_STALE_AFTER_SECONDS`` without a heartbeat: before that a new
  run is refused and serving stays as it is;
- the next ``flask ml train`` succeeds and publishes a new active version.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from ml.artifacts import read_active
from ml.registry import ModelRegistry
from ml.training.lock import LOCK_FILE
from tests.storefront.support.recommendations import seed_small_shop, train_and_publish
from storefront.models import RUN_FAILED, RUN_RUNNING, RUN_SUCCEEDED, TrainingRun
from storefront.models.training import TrainingLockHolder
from storefront.models.common import utcnow
from storefront.training.runs import expire_stale_runs
from tests.storefront.support.shop import ctx

pytestmark = pytest.mark.slow  # a seeded shop and three real training processes: ~40 s

ROOT = Path(__file__).resolve().parents[3]
STALE_AFTER = 20  # long enough for a refused `flask ml train` to start and finish within it


def _env(app, budget: int, stale_after: int = STALE_AFTER) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"TEST_DATABASE_URL", "FLASK_ENV"}}
    env.update({
        "FLASK_APP": "wsgi.py", "STOREFRONT_CONFIG": "testing", "PYTHONPATH": str(ROOT),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "MODEL_DIR": app.config["MODEL_DIR"],
        "TRAINING_TIME_BUDGET_SECONDS": str(budget), "TRAINING_DEEP_MODELS": "0", "CTR_ENABLED": "0",
        "TRAINING_STALE_AFTER_SECONDS": str(stale_after), "TRAINING_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    })
    return env


def _flask_train(app, budget: int = 1, stale_after: int = STALE_AFTER) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "flask"), "ml", "train"], cwd=ROOT,
                          env=_env(app, budget, stale_after),
                          capture_output=True, text=True, timeout=300)


def _on_postgresql(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def _lock_left(app) -> dict | None:
    """What the dead job's lock left behind, as {"hostname", "started_at" (Unix seconds of its
    last sign of life)}: the lock file on SQLite, the ``training_lock`` row on PostgreSQL; None
    when there is none."""
    if _on_postgresql(app):
        with ctx(app) as session:
            row = session.scalars(select(TrainingLockHolder)).first()
            if row is None:
                return None
            return {"hostname": row.host, "started_at": row.heartbeat_at.replace(tzinfo=UTC).timestamp()}
    path = Path(app.config["MODEL_DIR"]) / LOCK_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _move_lock_to_another_host(app) -> None:
    """As if the dead job had run on another machine: its pid cannot be checked from here."""
    if _on_postgresql(app):
        with ctx(app) as session:
            session.execute(update(TrainingLockHolder).values(host="another-host"))
            session.commit()
        return
    path = Path(app.config["MODEL_DIR"]) / LOCK_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), "hostname": "another-host"}))


def _runs(app) -> list[TrainingRun]:
    with ctx(app) as session:
        rows = list(session.scalars(select(TrainingRun).order_by(TrainingRun.id)))
        session.expunge_all()
        return rows


def _kill_midway(app) -> TrainingRun:
    """Start ``flask ml train``, SIGKILL it as soon as its run shows as running with its pid.

    Not "once it is searching": on an idle machine this small shop's search takes under a
    second, shorter than the job's progress commits, so the search stage may never be seen
    and the job would finish first. Any moment between starting and publishing is a crash
    the served version must survive."""
    job = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "ml", "train"], cwd=ROOT,
                           env=_env(app, budget=120), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while True:
            assert job.poll() is None, f"the job ended before it could be killed: {job.stderr.read()[-2000:]!r}"
            assert time.monotonic() < deadline, "the run never showed as running"
            runs = [r for r in _runs(app) if r.status == RUN_RUNNING]
            if runs and runs[0].pid == job.pid:
                break
            time.sleep(0.02)
    finally:
        os.kill(job.pid, signal.SIGKILL)
        job.wait(30)  # reap it: a zombie would still look alive to the pid checks
        job.stderr.close()
    assert job.returncode == -signal.SIGKILL
    return runs[0]


@pytest.fixture
def serving(app, runner):
    """A seeded shop with an active version (trained in-process, as the job would)."""
    seed_small_shop(runner)
    version = train_and_publish(app)
    assert read_active(Path(app.config["MODEL_DIR"])) == version
    return version


def _versions(app) -> list[str]:
    return ModelRegistry(app.config["MODEL_DIR"]).versions()


def _assert_still_serving(app, client, version: str) -> None:
    model_dir = Path(app.config["MODEL_DIR"])
    assert read_active(model_dir) == version
    assert _versions(app) == [version]  # nothing new published, temporary directories never listed
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/recommendations/user").get_json()["model_version"] in (version, None)


def test_killed_job_is_detected_by_pid_and_the_next_run_publishes(app, client, serving):
    killed = _kill_midway(app)
    model_dir = Path(app.config["MODEL_DIR"])
    assert _lock_left(app) is not None  # the lock the dead job left behind
    assert _runs(app)[-1].status == RUN_RUNNING  # nobody has noticed yet
    _assert_still_serving(app, client, serving)

    result = _flask_train(app, stale_after=3600)  # long: it is the pid check that must notice
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]

    runs = {run.id: run for run in _runs(app)}
    dead = runs[killed.id]
    assert dead.status == RUN_FAILED and dead.finished_at is not None
    assert f"pid {killed.pid}" in dead.error and "gone" in dead.error
    newest = max(runs.values(), key=lambda run: run.id)
    assert newest.status == RUN_SUCCEEDED and newest.version not in (None, serving)
    assert read_active(model_dir) == newest.version
    assert sorted(_versions(app)) == sorted([serving, newest.version])
    assert _lock_left(app) is None
    assert client.get("/api/v1/recommendations/user").status_code == 200


def test_killed_job_elsewhere_expires_after_the_stale_timeout(app, client, serving):
    killed = _kill_midway(app)
    model_dir = Path(app.config["MODEL_DIR"])
    # As if the job had run on another host: its pid cannot be checked from here, so only the
    # missing heartbeat (run) and the lock's age can tell that it is dead.
    lock = _lock_left(app)
    _move_lock_to_another_host(app)
    with ctx(app) as session:
        run = session.get(TrainingRun, killed.id)
        run.host = "another-host"
        session.commit()
        heartbeat = run.heartbeat_at

    app.config["TRAINING_STALE_AFTER_SECONDS"] = STALE_AFTER
    with ctx(app) as session:
        assert expire_stale_runs(now=heartbeat + timedelta(seconds=STALE_AFTER - 1)) == []
        session.rollback()

    refused = _flask_train(app)  # within the timeout: the lock is respected, nothing changes
    if time.time() - lock["started_at"] < STALE_AFTER - 0.5:  # (unless the machine was very slow)
        assert refused.returncode != 0 and "already running" in refused.stdout + refused.stderr
        assert {r.id: r.status for r in _runs(app)}[killed.id] == RUN_RUNNING
        _assert_still_serving(app, client, serving)

    time.sleep(max(0.0, lock["started_at"] + STALE_AFTER + 0.5 - time.time(),
                   (heartbeat + timedelta(seconds=STALE_AFTER + 0.5) - utcnow()).total_seconds()))
    with ctx(app) as session:
        expired = expire_stale_runs()
        assert [run.id for run in expired] in ([killed.id], [])  # [] if the refused job expired it
        session.commit()
    dead = {r.id: r for r in _runs(app)}[killed.id]
    assert dead.status == RUN_FAILED and "no heartbeat since" in dead.error

    result = _flask_train(app)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    newest = _runs(app)[-1]
    assert newest.status == RUN_SUCCEEDED and read_active(model_dir) == newest.version != serving
    assert _lock_left(app) is None
