"""What the admin ML page and ``flask ml status`` show: the served model and the run history.

The active model is read from the registry's manifest, not from the run table: the manifest is
what serving loads, so it is the truth about what shoppers get even if the history was lost.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from ml.artifacts import ArtifactError, read_active
from ml.registry import ModelRegistry
from storefront.extensions import db
from storefront.models import RUN_SUCCEEDED, TrainingRun
from storefront.models.common import utcnow
from storefront.ctr import report as ctr_report
from storefront.recommendations import stats as recommendation_stats
from storefront.training.runs import active_run, expire_stale_runs, recent_runs

log = logging.getLogger(__name__)

SELECTION_METRIC = "ndcg@10"
#: Metric columns of the candidate tables, in display order (all at k=10).
METRIC_COLUMNS = ("precision@10", "recall@10", "ndcg@10", "map@10", "hit_rate@10", "mrr@10", "coverage@10")
DEFAULT_HISTORY = 50


@dataclass(frozen=True)
class ActiveModel:
    version: str
    champion: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)  # the champion's holdout metrics
    baseline: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    trained_until: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    problem: str | None = None  # the manifest could not be read

    @property
    def ndcg(self) -> float | None:
        return self.metrics.get(SELECTION_METRIC)


@dataclass(frozen=True)
class ChartPoint:
    run_id: int
    finished_at: datetime
    champion: str
    ndcg: float


@dataclass(frozen=True)
class Dashboard:
    active: ActiveModel | None
    current: TrainingRun | None  # the queued or running run, if any
    runs: list[TrainingRun]
    chart: list[ChartPoint]
    ctr: recommendation_stats.CtrReport
    # the active version's run: every candidate side by side, and the click model's comparison
    candidates: list[dict[str, Any]] = field(default_factory=list)
    selection_reason: str | None = None
    went_live: WentLive | None = None  # the served version, when it went live lately
    ctr_offline: ctr_report.OfflineCtr | None = None
    ctr_online: ctr_report.OnlineCtr | None = None


# How long after a version goes live the admin page says so.
WENT_LIVE_NOTICE = timedelta(minutes=15)


@dataclass(frozen=True)
class WentLive:
    version: str
    champion: str | None
    at: datetime
    within_seconds: float  # the workers' check interval (MODEL_CHECK_INTERVAL)


def went_live(active: ActiveModel | None, served_run: TrainingRun | None, now: datetime | None = None) -> WentLive | None:
    """A notice for a version published in the last ``WENT_LIVE_NOTICE`` (its run's finish)."""
    if active is None or served_run is None or served_run.finished_at is None:
        return None
    if (now or utcnow()) - served_run.finished_at > WENT_LIVE_NOTICE:
        return None
    return WentLive(active.version, active.champion, served_run.finished_at,
                    float(current_app.config.get("MODEL_CHECK_INTERVAL", 5.0)))


def active_model() -> ActiveModel | None:
    """The version serving uses now, with its champion's metrics; None before the first run."""
    directory = Path(current_app.config["MODEL_DIR"])
    version = read_active(directory)
    if version is None:
        return None
    run_id = db.session.scalar(select(TrainingRun.id).where(TrainingRun.version == version).limit(1))
    try:
        manifest = ModelRegistry(directory).manifest(version)
    except (ArtifactError, OSError, ValueError) as error:
        log.warning("cannot read the manifest of active version %s: %s", version, error)
        return ActiveModel(version=version, run_id=run_id, problem=str(error))
    champion = manifest.get("champion")
    return ActiveModel(
        version=version, champion=champion,
        metrics=(manifest.get("metrics") or {}).get(champion) or {},
        baseline=manifest.get("baseline") or {}, created_at=manifest.get("created_at"),
        trained_until=manifest.get("trained_until"), data=manifest.get("data") or {}, run_id=run_id,
    )


def chart_points(runs: list[TrainingRun]) -> list[ChartPoint]:
    """Champion NDCG@10 of the succeeded runs among ``runs``, oldest first."""
    points = [
        ChartPoint(run.id, run.finished_at, run.champion, float(run.champion_ndcg))
        for run in runs
        if run.status == RUN_SUCCEEDED and run.champion_ndcg is not None and run.finished_at
    ]
    return sorted(points, key=lambda point: point.run_id)


def dashboard(history: int = DEFAULT_HISTORY) -> Dashboard:
    """Everything on /admin/ml. Expires dead runs first (flushes) so the page never shows a
    crashed job as running forever."""
    expire_stale_runs()
    runs = recent_runs(history)
    active = active_model()
    served_run = db.session.get(TrainingRun, active.run_id) if active and active.run_id else None
    return Dashboard(
        active=active, current=active_run(), runs=runs, chart=chart_points(runs),
        ctr=recommendation_stats.ctr_report(),
        candidates=candidate_rows(served_run) if served_run is not None else [],
        selection_reason=selection_reason(served_run), went_live=went_live(active, served_run),
        ctr_offline=ctr_report.offline(served_run), ctr_online=ctr_report.online(),
    )


def candidate_rows(run: TrainingRun) -> list[dict[str, Any]]:
    """One row per candidate of ``run``: name, status, metrics, fit seconds, parameters."""
    candidates = (run.params or {}).get("candidates") or {}
    versus = ((run.params or {}).get("selection") or {}).get("vs_popularity") or {}
    names = list(candidates) or list(run.metrics or {})
    rows = []
    for name in names:
        info = candidates.get(name) or {}
        metrics = (run.metrics or {}).get(name) or {}
        rows.append({
            "name": name, "model": info.get("model", name), "status": info.get("status", "ok"),
            "error": info.get("error"), "params": info.get("params") or {},
            "metrics": metrics, "fit_seconds": metrics.get("fit_seconds"),
            "champion": name == run.champion,
            "vs_popularity": versus.get(name),  # NDCG@10 difference with its 95% interval
        })
    return rows


def selection_reason(run: TrainingRun | None) -> str | None:
    """Why the run's champion won (recorded by runs since the bootstrap rule)."""
    if run is None:
        return None
    return ((run.params or {}).get("selection") or {}).get("reason")


SESSION_METRICS = ("hr@10", "mrr@10", "hr@20", "mrr@20")


def session_rows(run: TrainingRun) -> dict[str, Any] | None:
    """The run's session-model comparison ("Inspired by your visit", ``storefront.training.sessions``):
    status, protocol, champion and why, and one row per model with each metric as
    ``(mean, low, high)``; None for a run before the extra existed."""
    record = ((run.params or {}).get("extras") or {}).get("sessions")
    if not record:
        return None
    summary = record.get("summary") or {}
    table = summary.get("table") or {}
    rows = [{"name": name, "champion": name == summary.get("champion"),
             "metrics": {m: tuple(values.get(m) or (None, None, None)) for m in SESSION_METRICS},
             "fit_seconds": (values.get("fit_seconds") or [None])[0]}
            for name, values in table.items()]
    return {"status": record.get("status"), "reason": summary.get("reason") or record.get("reason") or record.get("error"),
            "protocol": summary.get("protocol"), "sessions": summary.get("sessions"), "rows": rows}
