"""Promotional campaigns: the home page's banner, and a source of click-through training data.

A campaign targets a category (a department or a leaf) or a brand, or both (then the banner
leads to the category), with an offer shown on the banner. ``offer_kind`` is a closed
vocabulary because the click-through ranker uses it as a categorical feature; the free-text
``offer`` is for people. Banner impressions are ``Impression`` rows with ``campaign_id`` set.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.models.catalog import Category
from storefront.models.common import utcnow

OFFER_KINDS = ("percent_off", "free_shipping", "bundle", "new_arrivals")
OFFER_KIND_LABELS = {
    "percent_off": "Percentage off",
    "free_shipping": "Free shipping",
    "bundle": "Bundle (2 for 1...)",
    "new_arrivals": "New arrivals",
}


@dataclass(frozen=True)
class CampaignValues:
    """What an admin sets on a campaign (the form's result; the banner's cached card adds its id)."""

    name: str
    target_category_id: int | None
    target_brand: str | None
    offer: str
    offer_kind: str
    headline: str
    body: str
    starts_at: datetime
    ends_at: datetime
    is_active: bool


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        # The banner must lead somewhere: a category, a brand, or both.
        CheckConstraint(
            "target_category_id IS NOT NULL OR (target_brand IS NOT NULL AND target_brand <> '')",
            name="has_target",
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "offer_kind IN ('percent_off', 'free_shipping', 'bundle', 'new_arrivals')", name="offer_kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    target_category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    target_brand: Mapped[str | None] = mapped_column(String(80))
    offer: Mapped[str] = mapped_column(String(40))
    offer_kind: Mapped[str] = mapped_column(String(16))
    headline: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC, like every timestamp
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    target_category: Mapped[Category | None] = relationship()

    def is_live(self, now: datetime | None = None) -> bool:
        """Switched on and within its dates (``starts_at`` inclusive, ``ends_at`` exclusive)."""
        now = now or utcnow()
        return bool(self.is_active) and self.starts_at <= now < self.ends_at

    @property
    def target_label(self) -> str:
        parts = [self.target_category.name] if self.target_category is not None else []
        if self.target_brand:
            parts.append(self.target_brand)
        return " · ".join(parts)

    def __repr__(self) -> str:
        return f"<Campaign {self.name!r}>"
