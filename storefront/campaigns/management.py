"""Campaign management for the admin pages: the list with its click-through, create, edit, switch.

Rules a campaign must satisfy are checked here (the form checks the same for friendlier
messages, and the table's CHECK constraints are the last line): a unique name, a target (a
category or a brand), an offer kind from the closed list, and an end after the start.
Services flush; the view commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from storefront.extensions import db
from storefront.models import CLICK, OFFER_KINDS, Campaign, Category, Event, Impression, Product
from storefront.models.campaigns import CampaignValues
from storefront.models.common import utcnow


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

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None


def campaign_rows(now: datetime | None = None) -> list[CampaignRow]:
    """Every campaign (newest start first) with its banner impressions and clicks: two
    grouped queries, however many impressions there are."""
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
    return [CampaignRow(c, _status(c, now), int(shown.get(c.id, 0)), int(clicked.get(c.id, 0))) for c in campaigns]


def _status(campaign: Campaign, now: datetime) -> str:
    if not campaign.is_active:
        return "off"
    if now < campaign.starts_at:
        return "scheduled"
    return "live" if now < campaign.ends_at else "ended"


def category_choices() -> list[tuple[int, str]]:
    """Departments and their categories, as "Department" and "Department › Category"."""
    nodes = db.session.scalars(select(Category).options(joinedload(Category.parent))).all()
    labels = [(c.id, f"{c.parent.name} › {c.name}" if c.parent else c.name) for c in nodes]
    return sorted(labels, key=lambda pair: pair[1].lower())


def known_brands() -> list[str]:
    return list(db.session.scalars(
        select(Product.brand).where(Product.brand != "").distinct().order_by(Product.brand)
    ))


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
    if values.offer_kind not in OFFER_KINDS:
        raise CampaignError("offer_kind", "Choose a kind of offer from the list.")
    if values.ends_at <= values.starts_at:
        raise CampaignError("ends_at", "The campaign must end after it starts.")


def save_campaign(campaign: Campaign | None, values: CampaignValues) -> Campaign:
    """Create (``campaign`` None) or update a campaign; raises ``CampaignError``; flushes."""
    _check(values, campaign.id if campaign is not None else None)
    if campaign is None:
        campaign = Campaign()
        db.session.add(campaign)
    campaign.name = values.name.strip()
    campaign.target_category_id = values.target_category_id
    campaign.target_brand = (values.target_brand or "").strip() or None
    campaign.offer = values.offer.strip()
    campaign.offer_kind = values.offer_kind
    campaign.headline = values.headline.strip()
    campaign.body = values.body.strip()
    campaign.starts_at, campaign.ends_at = values.starts_at, values.ends_at
    campaign.is_active = values.is_active
    db.session.flush()
    return campaign


def set_active(campaign: Campaign, active: bool) -> None:
    campaign.is_active = active
    db.session.flush()
