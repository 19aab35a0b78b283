"""Periodic retraining: the loop behind ``flask ml scheduler``, in a process of its own.

Each tick expires dead runs, then trains when a queued run is waiting (an admin request whose
launched process never got to it) or when the last successful run is older than the interval
(or there is none): it queues that run itself, then executes it.

Any number of schedulers may run, one per node (issue 20). The decision (expire, pick the waiting
run or queue a due one, commit) is serialised across processes on PostgreSQL
(:func:`~storefront.training.coordination.lock_scheduling`), so the run the first scheduler
queues is what the others see: N schedulers queue one run per interval, not N. The claim of that
run is the training lock (a file on SQLite, PostgreSQL's advisory lock plus a row otherwise):
one job gets it and starts the run; the others skip their tick
(:class:`~storefront.training.job.TrainingBusy`, the run left queued for the holder) or find the
run no longer queued (:class:`~storefront.training.job.RunNotQueued`), and their next ticks see
it running or fresh.

A failed scheduled run is retried after ``min(interval, FAILED_RETRY_SECONDS)``, not at every
tick: a shop without enough feedback would otherwise fill the history with failures.
SIGTERM/SIGINT stop the loop; a training in progress is interrupted and recorded as failed, so
the lock is released and no run is left "running".
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from storefront.extensions import db
from storefront.models import RUN_FAILED, RUN_RUNNING, RUN_SUCCEEDED, TRIGGER_SCHEDULE, TrainingRun
from storefront.models.common import utcnow
from storefront.training.coordination import SchedulingBusy, lock_scheduling
from storefront.training.job import RunNotQueued, TrainingBusy, run_training
from storefront.training.runs import expire_stale_runs, latest_run, new_run, oldest_queued_run

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 30.0
FAILED_RETRY_SECONDS = 900.0


class TrainingInterrupted(BaseException):
    """Raised inside a training job by a stop signal. A BaseException on purpose: the pipeline
    records a failing candidate and carries on (``except Exception``); a stop must not be eaten."""


@dataclass(frozen=True)
class TickOutcome:
    run: TrainingRun | None
    message: str


def _age_seconds(moment: datetime | None, now: datetime) -> float:
    return (now - moment).total_seconds() if moment else float("inf")


def describe(run: TrainingRun) -> str:
    if run.status == RUN_SUCCEEDED:
        return f"run #{run.id} succeeded: version {run.version}, champion {run.champion}"
    headline = (run.error or "").splitlines()[0] if run.error else ""
    return f"run #{run.id} {run.status}: {headline}"


class TrainingScheduler:
    def __init__(self, interval: float, poll: float | None = None) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.interval = float(interval)
        self.poll = float(poll) if poll else min(self.interval, DEFAULT_POLL_SECONDS)
        self.stopping = threading.Event()
        self._training = False

    def not_due_reason(self, now: datetime) -> str | None:
        """Why no new run should start now, or None when one is due."""
        running = latest_run(RUN_RUNNING)
        if running is not None:
            return f"run #{running.id} is running"
        success = latest_run(RUN_SUCCEEDED)
        age = _age_seconds(success.finished_at if success else None, now)
        if age < self.interval:
            return (f"nothing to do: run #{success.id} succeeded {age:.0f} s ago "
                    f"(retraining every {self.interval:.0f} s)")
        failure = latest_run(RUN_FAILED, TRIGGER_SCHEDULE)
        retry = min(self.interval, FAILED_RETRY_SECONDS)
        if failure is not None and (success is None or failure.id > success.id):
            failed_age = _age_seconds(failure.finished_at, now)
            if failed_age < retry:
                return (f"waiting: scheduled run #{failure.id} failed {failed_age:.0f} s ago; "
                        f"retrying {retry:.0f} s after a failure")
        return None

    def decide(self) -> tuple[int | None, str]:
        """The run this tick should execute: the oldest queued one, or one queued now if a run
        is due; else ``(None, why not)``. Commits, under the cross-node scheduling lock (see the
        module doc)."""
        lock_scheduling()
        try:
            expire_stale_runs()
            queued = oldest_queued_run()
            if queued is not None:
                run_id, reason = queued.id, f"run #{queued.id} is waiting"
            else:
                reason = self.not_due_reason(utcnow())
                run_id = None if reason is not None else new_run(TRIGGER_SCHEDULE).id
            db.session.commit()  # (ends the transaction: releases the scheduling lock)
        except BaseException:
            db.session.rollback()
            raise
        return run_id, reason or "a run is due"

    def tick(self) -> TickOutcome:
        """One decision, and the training it calls for (in this process)."""
        try:
            run_id, reason = self.decide()
            if run_id is None:
                return TickOutcome(None, reason)
            self._training = True
            try:
                run = run_training(run_id, TRIGGER_SCHEDULE)
            finally:
                self._training = False
            return TickOutcome(run, describe(run))
        except (TrainingBusy, RunNotQueued, SchedulingBusy) as skipped:
            return TickOutcome(None, f"skipped: {skipped}")
        finally:
            db.session.remove()  # a long-lived process: no identity map carried between ticks

    def run(self, once: bool = False) -> TickOutcome | None:
        """Tick until stopped (or once); returns the last outcome."""
        outcome = None
        while not self.stopping.is_set():
            outcome = self.tick()
            log.info("scheduler: %s", outcome.message)
            if once:
                break
            self.stopping.wait(self.poll)
        return outcome

    def stop(self, signum: int, _frame: object = None) -> None:
        """Signal handler: end the loop; interrupt a training in progress (once)."""
        log.info("scheduler: stopping on signal %d", signum)
        self.stopping.set()
        if self._training:
            self._training = False
            raise TrainingInterrupted(f"interrupted: the scheduler was stopped by signal {signum}")

    @contextmanager
    def handling_signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT call :meth:`stop` inside the block; the previous handlers come back
        after it (the CLI test runner shares the process with the rest of the suite)."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
