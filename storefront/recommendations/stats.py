"""Online click-through rate of the recommendation widgets, per widget and per model version.

Offline metrics say which model ranks a holdout best; CTR says whether shoppers click what the
widgets show. An impression is one widget render (an ``Impression`` row); a click is an
``Event`` of type ``click`` pointing at it. Both are counted in SQL, grouped by widget and model
version, so the admin page costs one query however many impressions there are.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from storefront.extensions import db
from storefront.models import CLICK, Event, Impression
from storefront.models.recommendations import SIMULATED_STRATEGY
from storefront.models.common import utcnow
from storefront.recommendations.registry import WIDGET_TITLES

DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class CtrRow:
    widget: str
    model_version: str | None  # None: filled by a fallback with no trained model
    impressions: int
    clicks: int
    simulated: bool = False  # written by the demo seed's click simulation, not by shoppers

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def title(self) -> str:
        """What shoppers saw it called (the registry's title; the banner and retired widgets
        keep their stored name)."""
        return WIDGET_TITLES.get(self.widget, self.widget)


@dataclass(frozen=True)
class CtrReport:
    since: datetime
    by_version: list[CtrRow]  # one row per (widget, model version)
    by_widget: list[CtrRow]  # the same, summed over versions (model_version None)


def ctr_report(days: int = DEFAULT_WINDOW_DAYS, now: datetime | None = None) -> CtrReport:
    """Impressions of the last ``days`` days and the clicks on them."""
    since = (now or utcnow()) - timedelta(days=days)
    simulated = case((Impression.strategy == SIMULATED_STRATEGY, 1), else_=0)
    # A click joins its impression, so an impression with two clicks is counted once (distinct)
    # and contributes two clicks.
    query = (
        select(
            Impression.widget,
            Impression.model_version,
            simulated,
            func.count(func.distinct(Impression.id)),
            func.count(Event.id),
        )
        .outerjoin(Event, and_(Event.impression_id == Impression.id, Event.type == CLICK))
        .where(Impression.created_at >= since)
        .group_by(Impression.widget, Impression.model_version, simulated)
    )
    by_version = [
        CtrRow(widget, version, int(impressions), int(clicked), bool(is_simulated))
        for widget, version, is_simulated, impressions, clicked in db.session.execute(query)
    ]
    by_version.sort(key=lambda row: (row.widget, row.simulated, row.model_version or ""))
    totals: dict[str, tuple[int, int]] = {}
    for row in by_version:
        shown, clicked = totals.get(row.widget, (0, 0))
        totals[row.widget] = (shown + row.impressions, clicked + row.clicks)
    by_widget = [CtrRow(widget, None, shown, clicked) for widget, (shown, clicked) in sorted(totals.items())]
    return CtrReport(since=since, by_version=by_version, by_widget=by_widget)
