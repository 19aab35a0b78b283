"""The training job: shop events in, a published model version and a recorded run out.

Every way of training ends here: ``flask ml train`` calls :func:`run_training` directly, the
scheduler calls it from its own process, and the admin's Retrain button queues a run
(:func:`request_training`) and starts ``flask ml train --run-id N`` as a detached process
(:func:`launch_training_process`), so training never runs inside a web request.

Lock contention (the one-job-at-a-time rule is ``storefront.training.coordination.training_lock``:
a file lock on SQLite, an advisory lock and a row on PostgreSQL): the job that
finds the lock held does not train and raises :class:`TrainingBusy`. A run it was asked to
execute (``--run-id``, a queued run it picked up) stays queued for the job holding the lock or
the scheduler's next tick; a run it created itself is recorded as failed with the holder's
description, so a refused ``flask ml train`` shows in the history (unless a job on another node
claimed that run meanwhile: then it is that job's to finish).

Extra artifacts (customer segments, ...) are published in the same version: each is a builder
in :data:`EXTRA_BUILDERS` (add one with one line there; the contract is in
:mod:`storefront.training.extras`). One that fails is recorded in
``run.params["extras"]`` and left out; the recommender is published all the same.

This module commits: a job is its own unit of work, and its state changes (running, progress,
the outcome) must be visible to the admin page while it runs.
"""
from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app

from ml.artifacts import ArtifactError
from ml.registry import ModelRegistry
from ml.training import LockHeldError, TrainingConfig, TrainingResult, train
from sqlalchemy import func, select

from storefront.extensions import db
from storefront import modelstore
from storefront.modelstore import StoreError, publish_version  # MODEL_STORE: the local folder or a store (issue 20)
from storefront.models import RUN_QUEUED, TRIGGER_CLI, TrainingRun, Visitor
from storefront.resources import training as asset_training
from storefront.ctr import training as ctr_training
from storefront.segments import training as segments
from storefront.catalog.listings import refresh_popularity
from storefront.experiments.management import running_challengers
from storefront.recommendations import repurchase
from storefront.tracking.screening import screen_visitors
from storefront.training.data import (
    MIN_TRAINING_EVENTS, NotEnoughFeedback, check_enough_feedback, event_weights, load_events_frame, load_items_frame,
)
from storefront.training import sessions
from storefront.training.extras import ExtraBuilder, staged_extras
from storefront.training.coordination import training_lock
from storefront.recommendations.visit import SESSIONS_EXTRA
from storefront.training.runs import (
    STAGE_SPANS, ForwardProgress, RunProgress, active_run, expire_stale_runs, fail_if_queued, fail_run, finish_run,
    new_run, oldest_queued_run, recent_runs, request_training, stale_after_seconds, start_run,
)

__all__ = [
    "NotEnoughFeedback", "RunNotQueued", "TrainingBusy", "UnknownRun", "active_run", "active_version",
    "expire_stale_runs",    "launch_training_process", "load_events_frame", "recent_runs", "request_training",
    "run_training", "training_config",
]

log = logging.getLogger(__name__)

DEFAULT_TIME_BUDGET_SECONDS = 60
DEFAULT_VERSIONS_KEPT = 5
DEFAULT_THREADS = 0  # TRAINING_THREADS: threads for the models that can use several (0 = all cores)
ERROR_TRACEBACK_LINES = 12
ERROR_MAX_CHARS = 4000
PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Extra artifacts every run publishes next to the recommender: name -> builder.
EXTRA_BUILDERS: dict[str, ExtraBuilder] = {
    segments.SEGMENTS_EXTRA: segments.build_extra,
    "assets": asset_training.build_extra,
    ctr_training.CTR_EXTRA: ctr_training.build_extra,
    repurchase.REPURCHASE_EXTRA: repurchase.build_extra,
    SESSIONS_EXTRA: sessions.build_extra,
}


class TrainingBusy(LockHeldError):
    """Another training job holds the lock; this job did not train (see the module doc)."""

    def __init__(self, run: TrainingRun, reason: str, recorded: bool) -> None:
        self.run_id, self.recorded = run.id, recorded
        outcome = "recorded as failed" if recorded else "left queued"
        super().__init__(f"run #{run.id} not started ({outcome}): {reason}")


class RunNotQueued(LookupError):
    """``--run-id`` named a run that is no longer waiting (another job took it, or it ended)."""


class UnknownRun(LookupError):
    """``--run-id`` named a run that does not exist."""


def model_dir() -> Path:
    return Path(current_app.config["MODEL_DIR"])


def active_version() -> str | None:
    """The version serving uses now (None before the first successful run): the store's pointer
    row with a MODEL_STORE, so a trainer that serves nothing is never behind a promotion made on
    another node; else the local ACTIVE file."""
    return modelstore.active_version()


def training_config() -> TrainingConfig:
    """The pipeline settings for this app (the search budget and the weights of cancellations
    and returns come from the config; TRAINING_ENGINE=spark trains the ALS candidate on Spark
    MLlib at SPARK_MASTER, see ml.training.spark_engine)."""
    budget = float(current_app.config.get("TRAINING_TIME_BUDGET_SECONDS", DEFAULT_TIME_BUDGET_SECONDS))
    threads = int(current_app.config.get("TRAINING_THREADS", DEFAULT_THREADS))
    spark_memory = current_app.config.get("SPARK_DRIVER_MEMORY")
    return TrainingConfig(
        event_weights=event_weights(),
        search_budget_seconds=budget,
        num_threads=threads,
        deep_models=bool(current_app.config["TRAINING_DEEP_MODELS"]),
        torch_time_budget_seconds=float(current_app.config["TRAINING_TORCH_BUDGET_SECONDS"]),
        incumbent=serving_champion(),
        engine=str(current_app.config.get("TRAINING_ENGINE") or "local").strip().lower(),
        spark_master=str(current_app.config.get("SPARK_MASTER") or "local[*]"),
        spark_conf={"spark.driver.memory": str(spark_memory)} if spark_memory else {},
        spark_work_dir=current_app.config.get("SPARK_WORK_DIR") or None,
    )


def serving_champion() -> str | None:
    """The candidate the active version publishes as its recommender (None: nothing published,
    or a manifest that cannot be read: then there is no incumbent to defend)."""
    version = active_version()
    if version is None:
        return None
    try:
        manifest = modelstore.version_manifest(version)  # this node's copy, else the store's
    except (OSError, ValueError, ArtifactError, StoreError):
        return None
    champion = manifest.get("champion")
    return champion if isinstance(champion, str) else None


def run_training(run_id: int | None = None, trigger: str = TRIGGER_CLI,
                 progress: ForwardProgress | None = None) -> TrainingRun:
    """Execute one training run and return it, succeeded or failed (a failure never raises).

    ``run_id`` names a queued run to execute; without it the oldest queued run is taken, or a
    new run is created for ``trigger``. Raises :class:`TrainingBusy` when another job holds the
    lock, :class:`RunNotQueued` when run ``run_id`` is not waiting any more and
    :class:`UnknownRun` when there is no such run.
    """
    expire_stale_runs()
    db.session.commit()
    run, adopted = _target_run(run_id, trigger)
    lock = training_lock(model_dir(), stale_after_seconds=stale_after_seconds())  # file, or PostgreSQL (issue 20)
    try:
        # the folder every version is written to, checked before minutes of training rather than
        # at publish (the PostgreSQL lock, unlike the lock file, never touches it)
        model_dir().mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except LockHeldError as busy:
        if not adopted and fail_if_queued(run, f"not started: {busy}"):
            db.session.commit()
        log.warning("training run #%d not started: %s", run.id, busy)
        raise TrainingBusy(run, str(busy), recorded=not adopted) from None
    except Exception as error:  # e.g. an unwritable MODEL_DIR
        _record_failure(run, error)
        return run
    try:
        db.session.refresh(run)  # another job may have run it while we waited for the lock
        if run.status != RUN_QUEUED:
            raise RunNotQueued(f"run #{run.id} is {run.status}, not queued: nothing to do")
        return _execute(run, progress)
    finally:
        lock.release()


def _target_run(run_id: int | None, trigger: str) -> tuple[TrainingRun, bool]:
    if run_id is not None:
        run = db.session.get(TrainingRun, run_id)
        if run is None:
            raise UnknownRun(f"there is no training run #{run_id}")
        if run.status != RUN_QUEUED:
            raise RunNotQueued(f"run #{run.id} is {run.status}, not queued: nothing to do")
        return run, True
    queued = oldest_queued_run()
    if queued is not None:
        return queued, True
    run = new_run(trigger)
    db.session.commit()
    return run, False


def _execute(run: TrainingRun, forward: ForwardProgress | None) -> TrainingRun:
    config = training_config()
    recorder = RunProgress(run, config.search_budget_seconds, forward)
    start_run(run)
    db.session.commit()
    log.info("training run #%d started (%s)", run.id, run.trigger)
    started = time.monotonic()
    timings: dict[str, float] = {}
    try:
        recorder.update("load events", STAGE_SPANS["load"][0], force=True)
        screening = _screen()
        events = load_events_frame()
        timings["load"] = _since(started)
        check_enough_feedback(events, int(current_app.config.get("TRAINING_MIN_EVENTS", MIN_TRAINING_EVENTS)))
        result = train(events, config, progress=recorder, items=load_items_frame())
        extras_started, span = time.monotonic(), STAGE_SPANS["publish"][0]
        with staged_extras(EXTRA_BUILDERS, events, result, model_dir(),
                           lambda name: recorder.update(f"extras: {name}", span, force=True)) as extras:
            timings["extras"] = _since(extras_started)
            recorder.update("publish", span, force=True)
            publish_started = time.monotonic()
            refresh_popularity()  # flushed now, committed with the success below
            registry = ModelRegistry(model_dir())
            version = publish_version(registry, result, extras=extras.writers, by=f"training run #{run.id}")
            timings["publish"] = _since(publish_started)
        _record_success(run, result, version, timings, started, extras.records, screening)
        db.session.commit()
    except BaseException as error:  # noqa: BLE001 - every failure is recorded, see below
        _record_failure(run, error)
        if not isinstance(error, Exception):
            raise  # Ctrl-C, SIGTERM in the scheduler: recorded, then honoured
        return run
    _prune(registry)
    log.info("training run #%d succeeded: version %s, champion %s", run.id, run.version, run.champion)
    return run


def _since(started: float) -> float:
    return round(time.monotonic() - started, 4)


def _prune(registry: ModelRegistry) -> None:
    """Old versions go, except the challengers of running A/B tests (an experiment outlives
    several hourly runs); a failure here must not turn a published, active version into a
    failed run."""
    keep = int(current_app.config.get("MODEL_VERSIONS_KEPT", DEFAULT_VERSIONS_KEPT))
    try:
        protect = running_challengers()
    except Exception:  # not knowing which versions a test serves: prune nothing this time
        log.exception("cannot read the running experiments; old model versions are kept")
        db.session.rollback()
        return
    try:
        registry.prune(keep=keep, protect=protect)
    except OSError:
        log.exception("pruning old model versions failed")


def _screen() -> dict[str, int]:
    """Flag the scripted-looking visitors before their events can be learnt from, and committed
    at once (a failing run must not undo them); also drop the full rate buckets. What the run
    reports: visitors flagged now, per rule, and every visitor left out."""
    report = screen_visitors()
    current_app.extensions["buckets"].prune()
    db.session.commit()
    left_out = db.session.scalar(select(func.count()).select_from(Visitor).where(Visitor.flagged_at.isnot(None)))
    return {"visitors_flagged_now": report.total, **{f"flagged_now_{k}": n for k, n in report.summary().items()},
            "visitors_left_out": int(left_out or 0)}


def _record_success(run: TrainingRun, result: TrainingResult, version: str,
                    timings: dict[str, float], started: float, extras: dict[str, Any],
                    screening: dict[str, int]) -> None:
    metrics = {
        name: ({**c.metrics, "fit_seconds": c.fit_seconds} if c.status == "ok" else {})
        for name, c in result.candidates.items()
    }
    candidates = {
        name: {"model": c.model, "status": c.status, "error": c.error, "params": c.params,
               "event_weights": c.event_weights, "validation_ndcg": c.validation_ndcg,
               "search_trials": c.search_trials, "evaluate_seconds": c.evaluate_seconds}
        for name, c in result.candidates.items()
    }
    params = {
        "champion_model": result.champion_model, "champion_params": result.champion_params,
        "event_weights": result.event_weights, "baseline": result.baseline,
        "trained_until": result.trained_until, "candidates": candidates,
        "search_trials": len(result.search), "config": result.config.to_dict(), "extras": extras,
        "selection": result.selection,
    }
    stage_timings = {("train" if k == "total" else k): v for k, v in result.timings.items()}
    finish_run(
        run, version=version, champion=result.champion, metrics=plain(metrics),
        data_sizes=plain({**result.data, **screening}), params=plain(params),
        timings=plain({"load": timings["load"], **stage_timings, "extras": timings["extras"],
                       "publish": timings["publish"], "total": _since(started)}),
    )


def _record_failure(run: TrainingRun, error: BaseException) -> None:
    db.session.rollback()
    text = failure_text(error)
    log.error("training run #%d failed: %s", run.id, text.splitlines()[0])
    fail_run(run, text)
    db.session.commit()


def failure_text(error: BaseException) -> str:
    """The error on its first line (what the history table shows), then the traceback's tail."""
    headline = f"{type(error).__name__}: {error}".strip()
    if isinstance(error, NotEnoughFeedback):
        return headline
    lines = "".join(traceback.format_exception(error)).rstrip().splitlines()
    tail = "\n".join(lines[-ERROR_TRACEBACK_LINES:])
    return f"{headline}\n\nTraceback (last lines):\n{tail}"[:ERROR_MAX_CHARS]


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy numbers become Python numbers, NaN/inf become None (PostgreSQL's
    JSON rejects them)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def launch_training_process(run: TrainingRun) -> int | None:
    """Start ``flask ml train --run-id N`` detached from this (web) process; return its pid.

    The child gets its own session (a worker restart does not kill it), its own log file under
    the instance folder, and this app's database, model directory and budget through the
    environment, since it builds its app from the environment. Returns None when
    ``TRAINING_LAUNCH`` is off (tests); a launch that fails marks the run failed (flushes).
    """
    if not current_app.config.get("TRAINING_LAUNCH", True):
        return None
    log_dir = Path(current_app.config.get("TRAINING_LOG_DIR") or Path(current_app.instance_path) / "logs")
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "ml", "train", "--run-id", str(run.id)]
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"training-run-{run.id}.log", "ab") as output:
            process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=_child_environment(), stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            )
    except OSError as error:
        fail_run(run, f"could not start the training process: {error}")
        return None
    # Reap the child when it ends: a zombie would look alive to the stale-run and lock checks,
    # so a killed job would block training until its heartbeat went stale.
    threading.Thread(target=process.wait, name=f"reap-training-run-{run.id}", daemon=True).start()
    log.info("training run #%d launched as pid %d (log: %s)", run.id, process.pid, log_dir)
    return process.pid


def _child_environment() -> dict[str, str]:
    config = current_app.config
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "MODEL_DIR": str(config["MODEL_DIR"]),
        "TRAINING_TIME_BUDGET_SECONDS": str(config.get("TRAINING_TIME_BUDGET_SECONDS", DEFAULT_TIME_BUDGET_SECONDS)),
        "TRAINING_STALE_AFTER_SECONDS": str(stale_after_seconds()),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    })
    if config.get("ENV_NAME") in {"development", "testing", "production"}:
        env["STOREFRONT_CONFIG"] = config["ENV_NAME"]
    return env
