"""Bookkeeping of training runs: requesting one, noticing dead ones, progress and heartbeats.

A run row is shared by several processes (the web worker that queued it, the job that executes
it, the admin page that watches it), so the state changes here that other processes must see
are committed by the functions that make them; each says so. Everything else only flushes.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from ml.training.lock import process_alive
from storefront.extensions import db
from storefront.models import (
    ACTIVE_STATUSES, RUN_FAILED, RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, TrainingRun,
)
from storefront.models.common import utcnow

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_SECONDS = 1800
#: Progress is committed at most this often: the admin page polls every few seconds, and a
#: commit per search trial would only load the database.
COMMIT_INTERVAL_SECONDS = 1.0
#: Share of the progress bar given to each stage of a run (start, end).
STAGE_SPANS = {
    "load": (0.0, 0.05), "prepare": (0.05, 0.07), "split": (0.07, 0.10), "search": (0.10, 0.60),
    "evaluate": (0.60, 0.80), "refit": (0.80, 0.88), "extras": (0.88, 0.95), "publish": (0.95, 1.0),
}

ForwardProgress = Callable[[str, float], None]


def stale_after_seconds() -> int:
    return int(current_app.config.get("TRAINING_STALE_AFTER_SECONDS", DEFAULT_STALE_AFTER_SECONDS))


def _pid_gone(pid: int | None, host: str | None) -> bool:
    """True only when we can tell for sure: the job ran on this host and its pid is dead."""
    if pid is None or pid <= 0 or host != socket.gethostname():
        return False
    return not process_alive(pid)


def expire_stale_runs(now: datetime | None = None) -> list[TrainingRun]:
    """Mark dead runs failed (flushes): a running job silent for longer than
    ``TRAINING_STALE_AFTER_SECONDS`` or whose process is gone, and a queued run nobody started
    in that time. Without this, a crashed job would block new requests forever."""
    now = now or utcnow()
    limit = stale_after_seconds()
    cutoff = now - timedelta(seconds=limit)
    expired = []
    for run in db.session.scalars(select(TrainingRun).where(TrainingRun.status.in_(ACTIVE_STATUSES))):
        if run.status == RUN_RUNNING:
            last_sign = run.heartbeat_at or run.started_at or run.requested_at
            if last_sign < cutoff:
                reason = (f"job stopped responding: no heartbeat since {last_sign:%Y-%m-%d %H:%M:%S} UTC "
                          f"(more than {limit} s); the process probably crashed or was killed")
            elif _pid_gone(run.pid, run.host):
                reason = (f"job stopped responding: its process (pid {run.pid} on {run.host}) is gone; "
                          "it crashed or was killed")
            else:
                continue
        elif run.requested_at < cutoff:
            reason = (f"never started: no training job picked it up within {limit} s "
                      "(is `flask ml scheduler` running?)")
        else:
            continue
        fail_run(run, reason, now=now)
        expired.append(run)
        log.warning("training run #%d expired: %s", run.id, reason)
    db.session.flush()
    return expired


def active_run() -> TrainingRun | None:
    """The oldest queued or running run, if any."""
    query = select(TrainingRun).where(TrainingRun.status.in_(ACTIVE_STATUSES)).order_by(TrainingRun.id)
    return db.session.scalars(query.limit(1)).first()


def oldest_queued_run() -> TrainingRun | None:
    query = select(TrainingRun).where(TrainingRun.status == RUN_QUEUED).order_by(TrainingRun.id)
    return db.session.scalars(query.limit(1)).first()


def latest_run(status: str, trigger: str | None = None) -> TrainingRun | None:
    query = select(TrainingRun).where(TrainingRun.status == status)
    if trigger is not None:
        query = query.where(TrainingRun.trigger == trigger)
    return db.session.scalars(query.order_by(TrainingRun.id.desc()).limit(1)).first()


def recent_runs(limit: int = 50) -> list[TrainingRun]:
    return list(db.session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)))


def request_training(trigger: str, requested_by: str | None = None) -> tuple[TrainingRun, bool]:
    """Queue a run unless one is queued or running already; return ``(run, created)``.

    Commits: the duplicate check below needs this request visible to the other web workers.
    Two workers may both find nothing and both insert; each then looks for an older active run
    and, if there is one, withdraws its own, so exactly one run stays queued.
    """
    expire_stale_runs()
    existing = active_run()
    if existing is not None:
        db.session.commit()
        return existing, False
    run = TrainingRun(status=RUN_QUEUED, trigger=trigger, requested_by=requested_by,
                      stage="queued", progress=0.0)
    db.session.add(run)
    db.session.commit()
    return keep_oldest_request(run)


def keep_oldest_request(run: TrainingRun) -> tuple[TrainingRun, bool]:
    """Withdraw ``run`` (commits) if an older queued/running run exists; see request_training."""
    older = db.session.scalars(
        select(TrainingRun)
        .where(TrainingRun.status.in_(ACTIVE_STATUSES), TrainingRun.id < run.id)
        .order_by(TrainingRun.id).limit(1)
    ).first()
    if older is None:
        log.info("training run #%d queued (%s)", run.id, run.trigger)
        return run, True
    db.session.delete(run)
    db.session.commit()
    return older, False


def new_run(trigger: str) -> TrainingRun:
    """A queued run for a job started directly (``flask ml train``, the scheduler); flushes."""
    run = TrainingRun(status=RUN_QUEUED, trigger=trigger, stage="queued", progress=0.0)
    db.session.add(run)
    db.session.flush()
    return run


def start_run(run: TrainingRun) -> None:
    now = utcnow()
    run.status, run.started_at, run.heartbeat_at = RUN_RUNNING, now, now
    run.host, run.pid = socket.gethostname()[:128], os.getpid()
    run.stage, run.progress, run.error = "starting", 0.0, None
    db.session.flush()


def fail_run(run: TrainingRun, error: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    run.status, run.finished_at, run.error = RUN_FAILED, now, error
    run.stage = "failed"
    db.session.flush()


def fail_if_queued(run: TrainingRun, error: str, now: datetime | None = None) -> bool:
    """:func:`fail_run`, but only while ``run`` is still queued, in one conditional UPDATE: a job
    on another node (a scheduler picking up the oldest queued run) may have claimed it between
    its creation and now, and a run being executed must not be marked failed under it."""
    now = now or utcnow()
    changed = db.session.execute(
        update(TrainingRun).where(TrainingRun.id == run.id, TrainingRun.status == RUN_QUEUED)
        .values(status=RUN_FAILED, finished_at=now, error=error, stage="failed")
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(run)
    return bool(changed)


def finish_run(run: TrainingRun, **recorded) -> None:
    """Mark ``run`` succeeded with what it produced (version, champion, metrics...)."""
    now = utcnow()
    for key, value in recorded.items():
        setattr(run, key, value)
    run.status, run.finished_at, run.heartbeat_at = RUN_SUCCEEDED, now, now
    run.stage, run.progress, run.error = "done", 1.0, None
    db.session.flush()


class RunProgress:
    """The ``progress`` callback handed to ``ml.training.train``.

    It turns each stage report into a readable stage label and a 0..1 fraction on the run,
    refreshes the heartbeat (so the job is not taken for dead), commits at most once per
    ``COMMIT_INTERVAL_SECONDS`` so other processes see it, and forwards ``(label, fraction)``
    to the caller's callback (the CLI's progress bar).
    """

    def __init__(self, run: TrainingRun, search_budget: float, forward: ForwardProgress | None = None):
        self.run = run
        self.search_budget = max(float(search_budget), 1e-9)
        self.forward = forward
        self.fraction = 0.0  # kept here: reading run.progress after a commit would cost a query
        self._last_commit = 0.0

    def __call__(self, stage: str, detail: dict) -> None:
        label, fraction = self.describe(stage, detail)
        self.update(label, fraction)

    def describe(self, stage: str, detail: dict) -> tuple[str, float]:
        start, end = STAGE_SPANS.get(stage, (self.fraction, self.fraction))
        if stage == "search" and "remaining_seconds" in detail:
            left = detail["remaining_seconds"]
            done = 1.0 - min(left / self.search_budget, 1.0)
            return f"search: tuning {detail.get('candidate')} ({left:.0f} s left)", start + (end - start) * done
        if stage == "evaluate" and "index" in detail:
            of = max(int(detail.get("of") or 1), 1)
            label = f"evaluate: {detail.get('candidate')} ({detail['index']}/{of})"
            return label, start + (end - start) * detail["index"] / of
        return stage, end if detail.get("status") == "done" else start

    def update(self, label: str, fraction: float, force: bool = False) -> None:
        """Record the stage; commit if due. A failed heartbeat commit (a busy database) is
        logged and retried at the next report: it must not fail a training that is fine."""
        self.fraction = round(max(self.fraction, min(float(fraction), 1.0)), 4)
        self.run.stage, self.run.progress, self.run.heartbeat_at = label[:120], self.fraction, utcnow()
        now = time.monotonic()
        if force or now - self._last_commit >= COMMIT_INTERVAL_SECONDS:
            try:
                db.session.commit()
                self._last_commit = now
            except SQLAlchemyError:
                db.session.rollback()
                log.warning("could not record the progress of training run #%s", self.run.id, exc_info=True)
        if self.forward is not None:
            self.forward(label[:120], self.fraction)
