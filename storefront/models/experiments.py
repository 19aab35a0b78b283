"""Online A/B tests of two model versions on one widget (``storefront.experiments``).

An experiment sends a hashed share of the widget's shoppers to a *challenger* version while the
others keep the *champion* (whatever version is active). Each impression of the widget records
the experiment and the arm (``Impression.experiment_id``, ``Impression.arm``), so the results
are counted from impressions, clicks and orders in SQL. An ended experiment keeps the numbers
the decision was made on (``results``), whatever is logged after.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Float, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow

EXPERIMENT_RUNNING, EXPERIMENT_ENDED = "running", "ended"
OUTCOME_PROMOTED, OUTCOME_STOPPED = "promoted", "stopped"
CHAMPION, CHALLENGER = "champion", "challenger"
ARMS = (CHAMPION, CHALLENGER)

_RUNNING = text(f"status = '{EXPERIMENT_RUNNING}'")


class Experiment(db.Model):
    __tablename__ = "experiments"
    __table_args__ = (
        # At most one running experiment per widget, whoever inserts it (two admins at once):
        # a partial unique index, which both engines enforce.
        Index("uq_experiments_running_widget", "widget", unique=True,
              sqlite_where=_RUNNING, postgresql_where=_RUNNING),
        CheckConstraint("challenger_share > 0 AND challenger_share < 1", name="share_range"),
        CheckConstraint("min_clicks >= 1", name="min_clicks_positive"),
        CheckConstraint(f"status IN ('{EXPERIMENT_RUNNING}', '{EXPERIMENT_ENDED}')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    widget: Mapped[str] = mapped_column(String(32))  # a WidgetSpec name (as on impressions)
    # The version active when it started (the champion arm serves whatever is active: a
    # retraining during the test changes it, and the impressions say which version it was).
    champion_version: Mapped[str | None] = mapped_column(String(64))
    challenger_version: Mapped[str] = mapped_column(String(64))
    challenger_share: Mapped[float] = mapped_column(Float)  # of the shoppers, 0 < share < 1
    min_clicks: Mapped[int] = mapped_column(Integer)  # per arm, before any lift is shown
    status: Mapped[str] = mapped_column(String(16), default=EXPERIMENT_RUNNING)
    outcome: Mapped[str | None] = mapped_column(String(16))  # promoted / stopped, once ended
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_by: Mapped[str] = mapped_column(String(254), default="")
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_by: Mapped[str | None] = mapped_column(String(254))
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the final numbers, frozen at the end

    @property
    def running(self) -> bool:
        return self.status == EXPERIMENT_RUNNING
