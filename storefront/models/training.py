"""Training runs: one row per execution of the training job, whatever started it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow

RUN_QUEUED = "queued"
RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_STATUSES = (RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED)
ACTIVE_STATUSES = (RUN_QUEUED, RUN_RUNNING)

TRIGGER_CLI = "cli"
TRIGGER_ADMIN = "admin"
TRIGGER_SCHEDULE = "schedule"


class TrainingRun(db.Model):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=RUN_QUEUED, index=True)
    trigger: Mapped[str] = mapped_column(String(16), default=TRIGGER_CLI)
    requested_by: Mapped[str | None] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Liveness: a running job refreshes this; a stale one is a crashed job (see storefront.training.job).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    host: Mapped[str | None] = mapped_column(String(128))
    pid: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str | None] = mapped_column(String(120))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    version: Mapped[str | None] = mapped_column(String(64))
    champion: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # candidate -> metric -> value
    data_sizes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def champion_ndcg(self) -> float | None:
        if not self.metrics or not self.champion:
            return None
        return (self.metrics.get(self.champion) or {}).get("ndcg@10")


class TrainingLockHolder(db.Model):
    """Who holds the one-job-at-a-time training lock on PostgreSQL (issue 20), next to the
    session advisory lock that really excludes (storefront.training.coordination): the row says
    who, where and since when, and its heartbeat tells a live holder from a dead one. No row:
    nobody trains. Unused on SQLite (the lock file in the model folder does this there)."""

    __tablename__ = "training_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
