"""The training job (storefront.training.job): events in, a published version and a recorded run out;
failures recorded without touching what is served; dead runs expired; one job at a time."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import delete, func, select, update

from ml.artifacts import read_active
from ml.registry import ModelRegistry
from ml.training import DEFAULT_CANDIDATES
from ml.training.config import DEEP_CANDIDATES
from storefront.extensions import db
from storefront.models import (
    CLICK, RUN_FAILED, RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, TRANSACTION, TRIGGER_ADMIN,
    TRIGGER_SCHEDULE, Event, Impression, Product, TrainingRun, Visitor,
)
from storefront.models.common import utcnow
from storefront.training import job as training
from storefront.tracking.visitors import ml_item_id, ml_user_id
from storefront.training.coordination import training_lock
from storefront.training.runs import RunProgress, expire_stale_runs, keep_oldest_request
from storefront.training.scheduler import TrainingScheduler

@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


def _runs() -> list[TrainingRun]:
    return list(db.session.scalars(select(TrainingRun).order_by(TrainingRun.id)))


def test_events_frame_uses_the_serving_ids_and_skips_clicks(seeded, app_ctx):
    visitor = db.session.scalars(select(Visitor).limit(1)).one()
    product_id = db.session.scalar(select(Product.id).limit(1))
    impression = Impression(visitor_id=visitor.id, widget="home", strategy="als", items=[product_id])
    db.session.add(impression)
    db.session.flush()
    db.session.add(Event(visitor_id=visitor.id, product_id=product_id, type=CLICK, impression_id=impression.id))
    db.session.commit()

    frame = training.load_events_frame()
    assert list(frame.columns) == ["user_id", "item_id", "event", "timestamp", "basket_id", "session_id"]
    assert len(frame) == db.session.scalar(
        select(func.count()).select_from(Event).where(Event.type != CLICK, Event.product_id.is_not(None))
    )  # product events only: the seed's gated-asset events are not the recommender's
    assert CLICK not in set(frame["event"])
    assert str(frame["timestamp"].dt.tz) == "UTC" and frame["timestamp"].is_monotonic_increasing
    first = db.session.scalars(select(Event).where(Event.type == TRANSACTION).order_by(Event.occurred_at, Event.id).limit(1)).one()
    row = frame[(frame["event"] == TRANSACTION)].iloc[0]
    assert row["user_id"] == ml_user_id(first.visitor_id, first.customer_id)
    assert row["item_id"] == ml_item_id(first.product_id)
    assert row["basket_id"] == str(first.order_id)
    assert set(frame["user_id"].str[0]) == {"c", "v"}  # customers and anonymous visitors
    # no session is None, never "" (basket grouping falls back to the day); orders are text ids
    assert all(s is None or (isinstance(s, str) and s) for s in frame["session_id"])
    assert all(b is None or (isinstance(b, str) and b.isdigit()) for b in frame["basket_id"])
    assert frame.loc[frame["event"] != TRANSACTION, "basket_id"].isna().all()


def test_a_run_publishes_a_version_and_records_every_candidate(seeded, app_ctx):
    db.session.execute(update(Product).values(popularity=999.0))
    db.session.commit()
    run = training.run_training(trigger=TRIGGER_SCHEDULE)

    assert run.status == RUN_SUCCEEDED, run.error
    assert run.trigger == TRIGGER_SCHEDULE and run.error is None
    assert run.progress == 1.0 and run.stage == "done"
    assert run.pid == os.getpid() and run.host and run.started_at <= run.finished_at
    assert set(run.metrics) == set(DEFAULT_CANDIDATES)
    # The testing config switches the torch candidates off: they are listed, as skipped.
    trained = set(DEFAULT_CANDIDATES) - set(DEEP_CANDIDATES)
    for name in trained:
        assert {"precision@10", "recall@10", "ndcg@10", "map@10", "hit_rate@10", "mrr@10",
                "coverage@10", "fit_seconds"} <= set(run.metrics[name]), name
    for name in DEEP_CANDIDATES:
        assert run.params["candidates"][name]["status"] != "ok", name
    assert run.champion in run.metrics and run.champion_ndcg == run.metrics[run.champion]["ndcg@10"]
    assert run.data_sizes["events"] == len(training.load_events_frame())
    assert run.data_sizes["users"] > 100 and run.data_sizes["items"] > 50
    # The screening ran first and the run says what it left out (a seeded shop: nobody).
    assert {k: run.data_sizes[k] for k in ("visitors_flagged_now", "flagged_now_rate", "flagged_now_cohort",
                                           "visitors_left_out")} == dict.fromkeys(
        ("visitors_flagged_now", "flagged_now_rate", "flagged_now_cohort", "visitors_left_out"), 0)
    assert {"load", "search", "evaluate", "refit", "publish", "total"} <= set(run.timings)
    assert run.params["champion_params"] and run.params["candidates"][run.champion]["status"] == "ok"

    model_dir = Path(current_app.config["MODEL_DIR"])
    assert read_active(model_dir) == run.version
    manifest = ModelRegistry(model_dir).manifest(run.version)
    assert manifest["champion"] == run.champion
    assert not (model_dir / "training.lock").exists()  # released
    # Listing popularity was recomputed (from the last 30 days: this shop's history ended earlier).
    assert db.session.scalar(select(func.count()).select_from(Product).where(Product.popularity == 999.0)) == 0


def test_a_failed_run_leaves_the_active_version_alone(seeded, app_ctx, client):
    first = training.run_training()
    assert first.status == RUN_SUCCEEDED
    model_dir = Path(current_app.config["MODEL_DIR"])
    versions = ModelRegistry(model_dir).versions()

    db.session.execute(delete(Event))
    db.session.commit()
    failed = training.run_training()

    assert failed.status == RUN_FAILED and failed.finished_at is not None
    assert failed.error.startswith("NotEnoughFeedback: not enough feedback to train: 0 events")
    assert read_active(model_dir) == first.version
    assert ModelRegistry(model_dir).versions() == versions
    assert not (model_dir / "training.lock").exists()


def test_an_empty_shop_fails_clearly_and_keeps_serving(app, client):
    with app.app_context():
        run = training.run_training()
        assert run.status == RUN_FAILED
        assert "not enough feedback to train: 0 events" in run.error
        assert training.active_version() is None
    assert client.get("/").status_code == 200  # the shop still works on its fallbacks


def test_an_unusable_model_dir_fails_the_run(app, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    app.config["MODEL_DIR"] = str(blocker / "models")
    with app.app_context():
        run = training.run_training()
        assert run.status == RUN_FAILED
        assert run.error.splitlines()[0].startswith(("NotADirectoryError", "FileNotFoundError", "FileExistsError"))
        assert "Traceback (last lines)" in run.error


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_read_only_model_dir_fails_and_keeps_the_active_version(seeded, app_ctx):
    first = training.run_training()
    model_dir = Path(current_app.config["MODEL_DIR"])
    model_dir.chmod(0o555)
    try:
        run = training.run_training()
    finally:
        model_dir.chmod(0o755)
    assert run.status == RUN_FAILED and "PermissionError" in run.error
    assert read_active(model_dir) == first.version


def test_stale_runs_are_expired(app_ctx):
    now = utcnow()
    silent = TrainingRun(status=RUN_RUNNING, requested_at=now - timedelta(hours=3),
                         started_at=now - timedelta(hours=3), heartbeat_at=now - timedelta(hours=2))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    crashed = TrainingRun(status=RUN_RUNNING, started_at=now, heartbeat_at=now, pid=int(dead.stdout),
                          host=socket.gethostname())
    alive = TrainingRun(status=RUN_RUNNING, started_at=now, heartbeat_at=now, pid=os.getpid(),
                        host=socket.gethostname())
    forgotten = TrainingRun(status=RUN_QUEUED, requested_at=now - timedelta(hours=1))
    db.session.add_all([silent, crashed, alive, forgotten])
    db.session.commit()

    expired = expire_stale_runs()
    db.session.commit()

    assert {run.id for run in expired} == {silent.id, crashed.id, forgotten.id}
    assert silent.status == RUN_FAILED and silent.error.startswith("job stopped responding: no heartbeat since")
    assert crashed.status == RUN_FAILED and "is gone" in crashed.error
    assert forgotten.status == RUN_FAILED and forgotten.error.startswith("never started")
    assert alive.status == RUN_RUNNING
    # The live run still counts: a new request joins it instead of queueing a second run.
    run, created = training.request_training(TRIGGER_ADMIN)
    assert (run.id, created) == (alive.id, False)


def test_a_request_joins_the_queued_run(app_ctx):
    first, created = training.request_training(TRIGGER_ADMIN, requested_by="boss@example.com")
    second, created_again = training.request_training(TRIGGER_ADMIN)
    assert created and not created_again and second.id == first.id
    assert first.status == RUN_QUEUED and first.requested_by == "boss@example.com"
    # Two workers that both inserted: the younger request withdraws in favour of the older.
    racer = TrainingRun(status=RUN_QUEUED, trigger=TRIGGER_ADMIN)
    db.session.add(racer)
    db.session.commit()
    kept, created = keep_oldest_request(racer)
    assert (kept.id, created) == (first.id, False)
    assert [run.id for run in _runs()] == [first.id]


def test_a_second_job_fails_clearly_while_the_lock_is_held(app_ctx):
    queued, _ = training.request_training(TRIGGER_ADMIN)
    with training_lock(current_app.config["MODEL_DIR"]):  # the lock file, or PostgreSQL's
        with pytest.raises(training.TrainingBusy, match=r"\(left queued\): a training job is already running: pid"):
            training.run_training(run_id=queued.id)
        db.session.refresh(queued)
        assert queued.status == RUN_QUEUED  # the job holding the lock, or the scheduler, runs it
        queued.status = RUN_FAILED  # out of the way: a new run is created below
        db.session.commit()
        with pytest.raises(training.TrainingBusy, match=r"\(recorded as failed\)"):
            training.run_training()
    refused = _runs()[-1]
    assert refused.status == RUN_FAILED
    assert refused.error.startswith("not started: a training job is already running: pid")


def test_a_finished_run_is_not_run_again(seeded, app_ctx):
    queued, _ = training.request_training(TRIGGER_ADMIN)
    run = training.run_training(run_id=queued.id)
    assert run.id == queued.id and run.status == RUN_SUCCEEDED and run.trigger == TRIGGER_ADMIN
    with pytest.raises(training.RunNotQueued, match="succeeded, not queued"):
        training.run_training(run_id=queued.id)
    with pytest.raises(training.UnknownRun, match="no training run #999"):
        training.run_training(run_id=999)


def test_progress_reports_become_stage_and_fraction(app_ctx):
    run = TrainingRun(status=RUN_RUNNING)
    db.session.add(run)
    db.session.commit()
    seen = []
    progress = RunProgress(run, search_budget=10, forward=lambda stage, fraction: seen.append((stage, fraction)))
    progress("search", {"candidate": "als", "remaining_seconds": 5.0})
    progress("evaluate", {"candidate": "ease", "index": 2, "of": 4})
    progress("refit", {"status": "done"})
    assert seen == [("search: tuning als (5 s left)", 0.35), ("evaluate: ease (2/4)", 0.7), ("refit", 0.88)]
    assert run.heartbeat_at is not None


def test_the_scheduler_waits_for_its_interval(app_ctx):
    now = utcnow()
    db.session.add(TrainingRun(status=RUN_SUCCEEDED, requested_at=now, started_at=now, finished_at=now))
    db.session.commit()
    outcome = TrainingScheduler(interval=3600).tick()
    assert outcome.run is None and outcome.message.startswith("nothing to do: run #1 succeeded")

    long_ago = now - timedelta(hours=2)
    db.session.execute(update(TrainingRun).values(finished_at=long_ago))
    db.session.add(TrainingRun(status=RUN_FAILED, trigger=TRIGGER_SCHEDULE, finished_at=now))
    db.session.commit()
    outcome = TrainingScheduler(interval=3600).tick()
    assert outcome.run is None and outcome.message.startswith("waiting: scheduled run #2 failed")
    assert len(_runs()) == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only whether the process still exists
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_the_retrain_process_really_runs_detached(seeded, tmp_path):
    """The real spawn: ``flask ml train --run-id N`` in its own session, with its own log."""
    seeded.config.update(TRAINING_LAUNCH=True, TRAINING_LOG_DIR=str(tmp_path / "logs"))
    with seeded.app_context():
        run, created = training.request_training(TRIGGER_ADMIN)
        pid = training.launch_training_process(run)
        run_id = run.id
    assert created and pid
    assert os.getsid(pid) == pid  # a session of its own: a web worker restart does not kill it
    deadline = time.monotonic() + 180
    status = RUN_QUEUED
    while time.monotonic() < deadline and status in (RUN_QUEUED, RUN_RUNNING):
        time.sleep(0.5)
        with seeded.app_context():
            status = db.session.get(TrainingRun, run_id).status
    # The run is marked succeeded (committed) before the process prints its summary and exits:
    # wait for the exit, or the summary can be missing from the log on a busy machine.
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    log_text = (tmp_path / "logs" / f"training-run-{run_id}.log").read_text()
    assert status == RUN_SUCCEEDED, log_text
    assert f"Training run #{run_id} succeeded" in log_text
    with seeded.app_context():
        run = db.session.get(TrainingRun, run_id)
        assert run.pid == pid and read_active(Path(seeded.config["MODEL_DIR"])) == run.version
        assert json.loads(json.dumps(run.metrics))  # plain JSON all the way down


def test_a_refused_job_never_fails_a_run_another_node_claimed_meanwhile(app_ctx):
    """The CLI creates its run, then finds the lock held: the run is recorded failed only while it
    is still queued. A scheduler on another node may have claimed it in between (the oldest queued
    run); marking it failed under that job would lie in the history."""
    from storefront.training.runs import fail_if_queued, new_run

    claimed, waiting = new_run(TRIGGER_SCHEDULE), new_run(TRIGGER_SCHEDULE)
    db.session.commit()
    db.session.execute(update(TrainingRun).where(TrainingRun.id == claimed.id).values(status=RUN_RUNNING))
    db.session.commit()
    assert not fail_if_queued(claimed, "not started: busy")
    assert claimed.status == RUN_RUNNING and claimed.error is None
    assert fail_if_queued(waiting, "not started: busy")
    assert waiting.status == RUN_FAILED and waiting.error == "not started: busy" and waiting.finished_at
