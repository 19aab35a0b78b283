"""Campaign management for the admin pages: the list with its click-through, orders and revenue,
create, edit, switch.

Rules a campaign must satisfy are checked here (the form checks the same for friendlier
messages, and the table's CHECK constraints are the last line): a unique name, a target (a
category or a brand), a structured offer with the value it needs, products (if listed) within
the target, an end after the start, and a headline and text that promise nothing the offer does
not give. The banner's offer text and the click model's ``offer_kind`` are derived from the
offer on save. Services flush; the view commits.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from storefront.extensions import db
from storefront.models import CLICK, Campaign, Category, Event, Impression, Order, Product
from storefront.models.campaigns import (
    AMOUNT_OFF,
    BUY_N_GET_ONE,
    MAX_BUY,
    OFFER_KIND_OF,
    PERCENT_OFF,
    PROMO_NONE,
    PROMO_TYPES,
    CampaignValues,
)
from storefront.models.common import utcnow
from storefront.models.order_history import SALE_STATUSES
from storefront.models.orders import DISCOUNT, OrderAdjustment
from storefront.orders.offers import offer_text, unkept_promises
from storefront.orders.pricing import cents

MAX_TARGET_PRODUCTS = 200
MAX_VALUE = Decimal("1e8")  # promo_value is NUMERIC(10, 2)


class CampaignError(ValueError):
    """A rule the values break; ``field`` names the form field to show it on."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    status: str  # live, off (switched off), scheduled (not started), ended
    impressions: int
    clicks: int
    orders: int = 0  # orders that stand (paid, shipped, delivered) that got this campaign's discount
    revenue: Decimal = Decimal("0.00")  # those orders' totals
    discount: Decimal = Decimal("0.00")  # what the campaign took off them

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def offer(self) -> str:
        return offer_text(self.campaign)

    @property
    def switchable(self) -> bool:
        """An ended campaign offers no switch: it shows nothing either way (edit its dates)."""
        return self.status != "ended"


def campaign_rows(now: datetime | None = None) -> list[CampaignRow]:
    """Every campaign (newest start first) with its banner impressions and clicks, and the paid
    orders its discount went to: four grouped queries, however many impressions and orders."""
    now = now or utcnow()
    campaigns = db.session.scalars(
        select(Campaign).options(joinedload(Campaign.target_category)).order_by(Campaign.starts_at.desc(), Campaign.id)
    ).all()
    shown = dict(db.session.execute(
        select(Impression.campaign_id, func.count()).where(Impression.campaign_id.is_not(None))
        .group_by(Impression.campaign_id)
    ).all())
    clicked = dict(db.session.execute(
        select(Impression.campaign_id, func.count(Event.id))
        .join(Event, and_(Event.impression_id == Impression.id, Event.type == CLICK))
        .where(Impression.campaign_id.is_not(None))
        .group_by(Impression.campaign_id)
    ).all())
    sales = campaign_sales()
    return [
        CampaignRow(c, _status(c, now), int(shown.get(c.id, 0)), int(clicked.get(c.id, 0)),
                    *sales.get(c.id, (0, Decimal("0.00"), Decimal("0.00"))))
        for c in campaigns
    ]


def campaign_sales() -> dict[int, tuple[int, Decimal, Decimal]]:
    """campaign id -> (orders that stand with its discount, their totals, its discount on them):
    a cancelled or refunded order drops out, as on the dashboard. An order with two campaigns'
    discounts counts for both (revenue is not split between them)."""
    per_order = (
        select(OrderAdjustment.campaign_id, OrderAdjustment.order_id, func.sum(OrderAdjustment.amount).label("saved"))
        .where(OrderAdjustment.kind == DISCOUNT, OrderAdjustment.campaign_id.is_not(None))
        .group_by(OrderAdjustment.campaign_id, OrderAdjustment.order_id)
        .subquery()
    )
    rows = db.session.execute(
        select(per_order.c.campaign_id, func.count(), func.sum(Order.total), func.sum(per_order.c.saved))
        .join(Order, Order.id == per_order.c.order_id)
        .where(Order.status.in_(SALE_STATUSES))  # orders that stand, as the dashboard counts them
        .group_by(per_order.c.campaign_id)
    ).all()
    return {cid: (int(n), Decimal(revenue or 0), Decimal(saved or 0)) for cid, n, revenue, saved in rows}


def _status(campaign: Campaign, now: datetime) -> str:
    if now >= campaign.ends_at:  # over, whether or not it was switched off
        return "ended"
    if not campaign.is_active:
        return "off"
    return "scheduled" if now < campaign.starts_at else "live"


def category_choices() -> list[tuple[int, str]]:
    """Departments and their categories, as "Department" and "Department › Category"."""
    nodes = db.session.scalars(select(Category).options(joinedload(Category.parent))).all()
    labels = [(c.id, f"{c.parent.name} › {c.name}" if c.parent else c.name) for c in nodes]
    return sorted(labels, key=lambda pair: pair[1].lower())


def known_brands() -> list[str]:
    return list(db.session.scalars(
        select(Product.brand).where(Product.brand != "").distinct().order_by(Product.brand)
    ))


def product_ids_for_skus(text: str) -> tuple[int, ...]:
    """The products named by comma- or space-separated SKUs, in their order; raises
    ``CampaignError`` naming the SKUs no product has."""
    skus = list(dict.fromkeys(sku for sku in re.split(r"[,\s]+", text or "") if sku))
    if not skus:
        return ()
    if len(skus) > MAX_TARGET_PRODUCTS:
        raise CampaignError("target_skus", f"List at most {MAX_TARGET_PRODUCTS} products.")
    found = dict(db.session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
    missing = [sku for sku in skus if sku not in found]
    if missing:
        raise CampaignError("target_skus", f"No product has the SKU {', '.join(missing[:5])}.")
    return tuple(found[sku] for sku in skus)


def skus_of(product_ids) -> str:
    """The SKUs of ``product_ids`` as the form shows them."""
    if not product_ids:
        return ""
    skus = dict(db.session.execute(select(Product.id, Product.sku).where(Product.id.in_(list(product_ids)))).all())
    return ", ".join(skus[pid] for pid in product_ids if pid in skus)


def _descendants(category_id: int) -> set[int]:
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).all())
    found, frontier = {category_id}, {category_id}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _check_offer(values: CampaignValues) -> None:
    kind, value, buy = values.promo_type, values.promo_value, values.promo_buy
    if value is not None and not Decimal(value).is_finite():  # "NaN" cannot be compared
        value = None
    if kind not in PROMO_TYPES:
        raise CampaignError("promo_type", "Choose an offer from the list.")
    if kind == PERCENT_OFF and (value is None or not 0 < value <= 100):
        raise CampaignError("promo_value", "Enter a percentage above 0, at most 100.")
    if kind == AMOUNT_OFF and (value is None or value <= 0):
        raise CampaignError("promo_value", "Enter the amount taken off each item, above $0.")
    if kind == BUY_N_GET_ONE and (buy is None or not 1 <= buy <= MAX_BUY):
        raise CampaignError("promo_buy", f"Enter how many to buy, 1 to {MAX_BUY}.")
    for field, text in (("offer", values.offer if kind == PROMO_NONE else ""), ("headline", values.headline),
                        ("body", values.body)):
        promised = unkept_promises(text, values)
        if promised:
            raise CampaignError(field, f"This promises {', '.join(promised)}, which the offer does not give: "
                                       "change the offer or the words.")


def _check_products(values: CampaignValues) -> None:
    """Listed products must be within the target, or the offer would silently apply to nothing."""
    if not values.target_product_ids:
        return
    rows = db.session.execute(
        select(Product.sku, Product.category_id, Product.brand).where(Product.id.in_(values.target_product_ids))
    ).all()
    in_tree = _descendants(values.target_category_id) if values.target_category_id is not None else None
    brand = (values.target_brand or "").strip() or None
    outside = [sku for sku, category_id, product_brand in rows
               if (in_tree is not None and category_id not in in_tree) or (brand is not None and product_brand != brand)]
    if outside:
        raise CampaignError("target_skus", f"Not in the campaign's category or brand: {', '.join(outside[:5])}.")


def _check(values: CampaignValues, campaign_id: int | None) -> None:
    if not values.name.strip():
        raise CampaignError("name", "Give the campaign a name.")
    same_name = select(Campaign.id).where(func.lower(Campaign.name) == values.name.strip().lower())
    if campaign_id is not None:
        same_name = same_name.where(Campaign.id != campaign_id)
    if db.session.scalar(same_name.limit(1)) is not None:
        raise CampaignError("name", "Another campaign already has this name.")
    if values.target_category_id is None and not values.target_brand:
        raise CampaignError("target_category_id", "Choose a category or a brand (or both) for the banner to lead to.")
    if values.target_category_id is not None and db.session.get(Category, values.target_category_id) is None:
        raise CampaignError("target_category_id", "This category no longer exists.")
    if values.ends_at <= values.starts_at:
        raise CampaignError("ends_at", "The campaign must end after it starts.")
    _check_offer(values)
    _check_products(values)


def normalised(values: CampaignValues) -> CampaignValues:
    """The values as stored: only the number the offer uses (to the cent), the offer's generated text (an offer
    without a discount keeps its badge), and the click model's kind derived from the offer."""
    kind, value = values.promo_type, values.promo_value
    # NaN, infinities and amounts past the column's 10 digits become None, which the check refuses
    usable = value is not None and Decimal(value).is_finite() and abs(Decimal(value)) < MAX_VALUE
    values = dataclasses.replace(
        values,
        promo_value=cents(value) if kind in (PERCENT_OFF, AMOUNT_OFF) and usable else None,
        promo_buy=values.promo_buy if kind == BUY_N_GET_ONE else None,
        offer_kind=OFFER_KIND_OF.get(kind, values.offer_kind),
    )
    return dataclasses.replace(values, offer=(offer_text(values) or "")[:40] if kind != PROMO_NONE
                               else (values.offer or "").strip())


def save_campaign(campaign: Campaign | None, values: CampaignValues) -> Campaign:
    """Create (``campaign`` None) or update a campaign; raises ``CampaignError``; flushes."""
    values = normalised(values)
    _check(values, campaign.id if campaign is not None else None)
    if campaign is None:
        campaign = Campaign()
        db.session.add(campaign)
    campaign.name = values.name.strip()
    campaign.target_category_id = values.target_category_id
    campaign.target_brand = (values.target_brand or "").strip() or None
    campaign.offer = values.offer
    campaign.offer_kind = values.offer_kind
    campaign.headline = values.headline.strip()
    campaign.body = values.body.strip()
    campaign.starts_at, campaign.ends_at = values.starts_at, values.ends_at
    campaign.is_active = values.is_active
    campaign.promo_type, campaign.promo_value, campaign.promo_buy = values.promo_type, values.promo_value, values.promo_buy
    campaign.target_product_ids = list(values.target_product_ids) or None
    db.session.flush()
    return campaign


def set_active(campaign: Campaign, active: bool) -> None:
    campaign.is_active = active
    db.session.flush()
