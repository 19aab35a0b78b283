"""The click model on the admin ML page: offline comparison and online A/B click-through rate.

Offline: what the training job recorded for the ``ctr`` extra of a run (AUC, log loss,
calibration and training time of logistic regression, FM and xDeepFM on the time split, and
whether xDeepFM was published). Online: the click-through rate per shown item of re-ranked
impressions (``ranking = "ctr"``) against the retrieval order (``ranking = "retrieval"``, the
control group), and of banners chosen by the model against the rule-based choice. Clicks are
counted per item shown (clicks / (impressions x items)), because re-ranking changes which item
is clicked, not how many items a shelf holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from storefront.extensions import db
from storefront.models import CLICK, Event, Impression, TrainingRun
from storefront.models.common import utcnow
from storefront.ctr.serving import CTR_EXTRA
from storefront.tracking.impressions import BANNER_WIDGET

DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class OfflineCtr:
    status: str  # ok (published), skipped (not enough data, or xDeepFM did not beat LR), failed
    reason: str | None
    rows: int = 0
    clicks: int = 0
    base_rate: float | None = None
    models: list[dict[str, Any]] = field(default_factory=list)
    published: str | None = None


def offline(run: TrainingRun | None) -> OfflineCtr | None:
    """The click-model record of ``run`` (None: the run predates the click model)."""
    record = ((run.params or {}).get("extras") or {}).get(CTR_EXTRA) if run is not None else None
    if not record:
        return None
    summary = record.get("summary") or {}
    return OfflineCtr(
        status=record.get("status", "unknown"), reason=record.get("reason") or record.get("error"),
        rows=int(summary.get("rows", 0)), clicks=int(summary.get("clicks", 0)),
        base_rate=summary.get("base_rate"), models=list(summary.get("models") or []),
        published=summary.get("published"),
    )


@dataclass(frozen=True)
class ArmRow:
    arm: str
    impressions: int
    items: int  # items shown (a banner is one)
    clicks: int

    @property
    def ctr(self) -> float:
        return self.clicks / self.items if self.items else 0.0


@dataclass(frozen=True)
class OnlineCtr:
    since: datetime
    widgets: list[ArmRow]  # "ctr" vs "retrieval"
    banners: list[ArmRow]  # banner choice: "ctr" vs "rules"

    @property
    def lift(self) -> float | None:
        """Relative CTR lift of re-ranked over retrieval order (None without both arms)."""
        arms = {row.arm: row for row in self.widgets}
        if "ctr" not in arms or "retrieval" not in arms or not arms["retrieval"].ctr:
            return None
        return arms["ctr"].ctr / arms["retrieval"].ctr - 1


def _arms(arm_column, *where) -> list[ArmRow]:
    """Impressions, items shown (a banner counts one) and clicks per arm, in one query."""
    clicks = (
        select(Event.impression_id, func.count(Event.id).label("clicks"))
        .where(Event.type == CLICK, Event.impression_id.is_not(None))
        .group_by(Event.impression_id).subquery()
    )
    shown = case((Impression.campaign_id.is_not(None), 1), else_=func.json_array_length(Impression.items))
    query = (
        select(arm_column, func.count(Impression.id), func.sum(shown), func.sum(func.coalesce(clicks.c.clicks, 0)))
        .outerjoin(clicks, clicks.c.impression_id == Impression.id)
        .where(*where).group_by(arm_column).order_by(arm_column)
    )
    return [ArmRow(str(arm), int(n), int(items or 0), int(clicked or 0))
            for arm, n, items, clicked in db.session.execute(query)]


def online(days: int = DEFAULT_WINDOW_DAYS, now: datetime | None = None) -> OnlineCtr:
    since = (now or utcnow()) - timedelta(days=days)
    recent = Impression.created_at >= since
    widgets = _arms(Impression.ranking, recent, Impression.ranking.is_not(None))
    banners = _arms(Impression.strategy, recent, and_(Impression.widget == BANNER_WIDGET,
                                                        Impression.strategy != "seed"))
    return OnlineCtr(since, widgets, banners)
