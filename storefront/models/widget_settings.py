"""Per-widget settings an admin can change without a deploy (issue 17: diversity).

One row per widget name (a ``WidgetSpec`` name, as on impressions) that an admin has set; a
widget without a row keeps the defaults (diversity ``none``: the model's own order). Web workers
keep the rows per catalog version (``storefront.recommendations.diversity``): the table has the
catalog's triggers (``storefront.models.catalog_version``), so saving a level tells every worker
at its next version check and a page asks nothing more.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow

#: The levels, weakest first (``ml.ranking.diversity.LEVELS`` maps them to MMR lambdas).
DIVERSITY_LEVELS = ("none", "low", "medium", "high")
DIVERSITY_NONE = "none"


class WidgetSetting(db.Model):
    __tablename__ = "widget_settings"
    __table_args__ = (
        CheckConstraint("diversity IN ('none', 'low', 'medium', 'high')", name="diversity_level"),
    )

    widget: Mapped[str] = mapped_column(String(32), primary_key=True)
    diversity: Mapped[str] = mapped_column(String(8), default=DIVERSITY_NONE)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
