"""Promotional campaigns: the home page's banner, the discounts the cart applies, and a source of
click-through training data.

A campaign targets a category (a department or a leaf, with every category below it) or a brand,
or both (then a product must be both, and the banner leads to the category), optionally narrowed
to a list of products. Its offer is structured (``promo_type``, ``promo_value``, ``promo_buy``):
the cart prices it (``storefront.orders.pricing``) and the banner's offer text is generated from
it (``storefront.orders.offers``), so the banner cannot promise what checkout does not do.
``promo_type`` NULL marks a campaign from before structured offers whose free text could not be
read (migration 7c1e5a93b2d4): it discounts nothing, and the admin list says so.

``offer_kind`` stays a closed vocabulary because the click-through ranker uses it as a
categorical feature; it is derived from the structured offer (``OFFER_KIND_OF``). ``offer`` keeps
the offer's text as last saved. Banner impressions are ``Impression`` rows with ``campaign_id`` set.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Integer, Numeric, String, Text
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

# The structured offer: what the cart applies.
PROMO_NONE, PERCENT_OFF, AMOUNT_OFF, FREE_SHIPPING, BUY_N_GET_ONE = (
    "none", "percent_off", "amount_off", "free_shipping", "buy_n_get_one")
PROMO_TYPES = (PROMO_NONE, PERCENT_OFF, AMOUNT_OFF, FREE_SHIPPING, BUY_N_GET_ONE)
PROMO_TYPE_LABELS = {
    PROMO_NONE: "No discount (the banner only)",
    PERCENT_OFF: "Percent off",
    AMOUNT_OFF: "Amount off each item",
    FREE_SHIPPING: "Free shipping",
    BUY_N_GET_ONE: "Buy N, get one free",
}
# The click model's vocabulary for each structured offer (an amount off is a price cut like a
# percentage; a campaign without a discount announces something, new arrivals in the demo).
OFFER_KIND_OF = {PROMO_NONE: "new_arrivals", PERCENT_OFF: "percent_off", AMOUNT_OFF: "percent_off",
                 FREE_SHIPPING: "free_shipping", BUY_N_GET_ONE: "bundle"}
MAX_BUY = 99  # "buy 99, get one free" is already more than a cart holds

# CASE, not OR: a NULL inside an OR would let the row through (a CHECK passes on NULL).
PROMO_TYPE_CHECK = "promo_type IN ('none', 'percent_off', 'amount_off', 'free_shipping', 'buy_n_get_one')"
PROMO_VALUE_CHECK = (
    "CASE WHEN promo_type = 'percent_off' THEN promo_value IS NOT NULL AND promo_value > 0 AND promo_value <= 100 "
    "WHEN promo_type = 'amount_off' THEN promo_value IS NOT NULL AND promo_value > 0 "
    "ELSE promo_value IS NULL END"
)
PROMO_BUY_CHECK = (
    f"CASE WHEN promo_type = 'buy_n_get_one' THEN promo_buy IS NOT NULL AND promo_buy >= 1 AND promo_buy <= {MAX_BUY} "
    "ELSE promo_buy IS NULL END"
)


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
    promo_type: str | None = None  # None: no structured offer (a free-text campaign not converted)
    promo_value: Decimal | None = None  # the percent (percent_off) or the amount per item (amount_off)
    promo_buy: int | None = None  # N of "buy N, get one free"
    target_product_ids: tuple[int, ...] = ()  # empty: every product of the category / brand


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
        CheckConstraint(PROMO_TYPE_CHECK, name="promo_type"),
        CheckConstraint(PROMO_VALUE_CHECK, name="promo_value"),
        CheckConstraint(PROMO_BUY_CHECK, name="promo_buy"),
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
    promo_type: Mapped[str | None] = mapped_column(String(16))
    promo_value: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    promo_buy: Mapped[int | None] = mapped_column(Integer)
    # A JSON list of product ids (like merchandising rules'): read with the campaign, so the
    # catalog snapshot that caches campaigns needs no second table nor its triggers.
    target_product_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))

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
        label = " · ".join(parts)
        if self.target_product_ids:
            count = len(self.target_product_ids)
            label += f" · {count} product{'' if count == 1 else 's'}"
        return label

    def __repr__(self) -> str:
        return f"<Campaign {self.name!r}>"
