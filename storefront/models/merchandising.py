"""Merchandising rules: how a merchandiser steers a recommendation widget (issue 17).

A rule boosts or buries what matches its target (a brand, a category with its subcategories,
a campaign's products, or listed products) by a factor, pins listed products at positions, or
excludes what matches, in one widget (a ``WidgetSpec`` name, as on impressions) or in every
widget (``ALL_WIDGETS``), while switched on and within its dates. How each kind applies:
``storefront.recommendations.merchandising`` (a pure function) and README, "Merchandising rules".

Web workers keep the rules per catalog version (``storefront.recommendations.merchandising_rules``):
the table has the catalog's triggers (``storefront.models.catalog_version``), so saving a rule
tells every worker at its next version check and a page asks nothing more.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow

BOOST, BURY, PIN, EXCLUDE = "boost", "bury", "pin", "exclude"
RULE_KINDS = (BOOST, BURY, PIN, EXCLUDE)
BRAND, CATEGORY, CAMPAIGN, PRODUCTS = "brand", "category", "campaign", "products"
TARGET_KINDS = (BRAND, CATEGORY, CAMPAIGN, PRODUCTS)
ALL_WIDGETS = "*"  # a rule for every widget that takes rules


class MerchandisingRule(db.Model):
    __tablename__ = "merchandising_rules"
    __table_args__ = (
        CheckConstraint("kind IN ('boost', 'bury', 'pin', 'exclude')", name="kind"),
        CheckConstraint("target_kind IN ('brand', 'category', 'campaign', 'products')", name="target_kind"),
        # the service checks more (boost above 1, bury below, a pin lists products); these are the last line
        CheckConstraint("factor IS NULL OR factor > 0", name="factor_positive"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))  # for people: "Lumen week", "Clear old stock"
    widget: Mapped[str] = mapped_column(String(32), index=True)  # a widget name or ALL_WIDGETS
    kind: Mapped[str] = mapped_column(String(8))
    target_kind: Mapped[str] = mapped_column(String(16))
    brand: Mapped[str | None] = mapped_column(String(80))
    # a rule about a category or campaign that is deleted means nothing any more: it goes with it
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    product_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))  # target PRODUCTS; a pin's, in order
    positions: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))  # a pin's 1-based slots, one per product
    factor: Mapped[float | None] = mapped_column(Float)  # boost (> 1) or bury (< 1)
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC, inclusive
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)  # exclusive; None: no end
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<MerchandisingRule {self.id} {self.kind} {self.target_kind} in {self.widget}>"
