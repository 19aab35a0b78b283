"""The home page's promotion slot: which live campaign this shopper sees, recorded as an impression.

``choose_banner`` = ``live_campaigns`` (from the catalog snapshot) -> ``rank_campaigns`` -> the
first one, recorded by the home page as one ``home_banner`` impression with the page's widgets
(``storefront.shop.home``). Ranking is a plain function of the shopper
and the candidate campaigns so that a learnt click model can later be put in front of it
(score the live campaigns, fall back to these rules) without touching the rest.

The default rules: campaigns whose target (a category, its department, a brand) matches what
the shopper looked at lately come first, the more recent and frequent the interest the higher;
the others follow in a rotation that is stable per visitor (a hash of the visitor and the
campaign), so one visitor does not see the banner change on every page, while different
visitors see different campaigns and each campaign gets its share of impressions.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from storefront.catalog import snapshot
from storefront.catalog.snapshot import CampaignCard, CatalogSnapshot
from storefront.ctr import serving as ctr_serving
from storefront.models import Campaign
from storefront.models.common import utcnow
from storefront.extensions import db
from storefront.orders.offers import offer_text, terms_text
from storefront.recommendations.widgets import current_version
from storefront.tracking import impressions
from storefront.tracking.shopper_facts import RecentEvent, ShopperFacts, facts_of
from storefront.tracking.visitors import RequestContext, Shopper, shopper_of

log = logging.getLogger(__name__)

STRATEGY = "rules"

RECENT_EVENTS = 20
RECENCY_DECAY = 0.85  # the n-th most recent event weighs RECENCY_DECAY ** n
DEPARTMENT_SHARE = 0.6  # a department campaign matches a leaf of it, less than the leaf itself


@dataclass(frozen=True)
class Banner:
    """What the home page renders; its link (built by the template) carries the impression,
    for click counting."""

    campaign_id: int
    headline: str
    offer: str  # generated from the structured offer ("" when it takes nothing off)
    offer_kind: str
    body: str
    call_to_action: str
    impression_id: int | None  # None for a bot's view: nothing to attribute a click to
    terms: str = ""  # generated too: on what, how, until when


@dataclass(frozen=True)
class Interests:
    """Recency-weighted interest of a shopper per category id (leaves and departments) and brand."""

    categories: dict[int, float] = field(default_factory=dict)
    brands: dict[str, float] = field(default_factory=dict)

    def score(self, campaign: CampaignCard) -> float:
        score = self.categories.get(campaign.target_category_id, 0.0) if campaign.target_category_id else 0.0
        if campaign.target_brand:
            score += self.brands.get(campaign.target_brand, 0.0)
        return score


def live_campaigns(now: datetime | None = None, catalog: CatalogSnapshot | None = None) -> list[CampaignCard]:
    """Active campaigns within their dates at ``now`` (naive UTC, default now), newest first
    (the catalog snapshot keeps the active ones in that order; the dates are checked per call)."""
    now = now or utcnow()
    return [campaign for campaign in (catalog or snapshot.current()).campaigns if campaign.is_live(now)]


def live_campaign(campaign_id: int, now: datetime | None = None) -> Campaign | None:
    campaign = db.session.get(Campaign, campaign_id)
    return campaign if campaign is not None and campaign.is_live(now) else None


def shopper_interests(recent: Sequence[RecentEvent], catalog: CatalogSnapshot) -> Interests:
    """Categories (with their departments) and brands of the shopper's latest events (newest
    first; the first ``RECENT_EVENTS`` count)."""
    interests = Interests()
    for rank, event in enumerate(recent[:RECENT_EVENTS]):
        weight = RECENCY_DECAY ** rank
        _add(interests.categories, event.category_id, weight)
        node = catalog.categories.get(event.category_id)
        if node is not None and node.parent_id is not None:
            _add(interests.categories, node.parent_id, DEPARTMENT_SHARE * weight)
        if event.brand:
            _add(interests.brands, event.brand, weight)
    return interests


def _add(weights: dict, key, weight: float) -> None:
    weights[key] = weights.get(key, 0.0) + weight


def rotation_key(shopper: Shopper, visitor_token: str | None = None) -> str:
    """Who the rotation is stable for: a customer on every browser, else this browser (its
    cookie token: a browser without a visitor row yet still sees a stable rotation)."""
    if shopper.customer_id is not None:
        return f"c{shopper.customer_id}"
    if visitor_token is not None:
        return visitor_token
    return f"v{shopper.visitor_id}"


def _rotation(key: str, campaign_id: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{key}:{campaign_id}".encode(), digest_size=8).digest(), "big")


def rank_campaigns(shopper: Shopper, interests: Interests, campaigns: list[CampaignCard],
                   key: str | None = None) -> list[CampaignCard]:
    """``campaigns`` best first for ``shopper``: matching recent interests first (strongest
    first), then the rest in the visitor's stable rotation (``key`` overrides whose)."""
    if len(campaigns) <= 1:
        return list(campaigns)
    key = key if key is not None else rotation_key(shopper)
    return sorted(campaigns, key=lambda c: (-interests.score(c), _rotation(key, c.id)))


def choose(shopper: Shopper, facts: ShopperFacts, catalog: CatalogSnapshot,
           campaigns: list[CampaignCard], rotation: str | None = None) -> tuple[CampaignCard, str]:
    """(the campaign to show, which ranking chose it): the click model published with the
    served version for shoppers in its A/B group (``storefront.ctr.serving``), the rules otherwise
    or when the model fails."""
    served = ctr_serving.ranker_for(current_version())
    if served is not None and len(campaigns) > 1 and ctr_serving.in_treatment(shopper):
        try:
            ranked = ctr_serving.rank_campaigns(served, shopper, _latest(facts), campaigns, impressions.BANNER_WIDGET)
            return ranked[0], ctr_serving.RERANKED
        except Exception:  # a click-model bug costs the model's choice, never the banner
            log.exception("banner choice by the click model failed; using the rules")
    return rank_campaigns(shopper, shopper_interests(facts.recent, catalog), campaigns, rotation)[0], STRATEGY


def _latest(facts: ShopperFacts) -> ShopperFacts:
    """The facts with only the events the banner weighs (``RECENT_EVENTS``). What the request
    derived from the whole facts (the click model's user fields) is not theirs: a fresh memo."""
    if len(facts.recent) <= RECENT_EVENTS:
        return facts
    return dataclasses.replace(facts, recent=facts.recent[:RECENT_EVENTS], derived={})


def call_to_action(campaign: CampaignCard) -> str:
    target = campaign.target_category.name if campaign.target_category is not None else campaign.target_brand
    return f"Shop {target}"


@dataclass(frozen=True)
class ChosenBanner:
    """The campaign chosen for this request's banner, not recorded yet."""

    campaign: CampaignCard
    strategy: str

    def impression_row(self) -> dict:
        return impressions.banner_row(self.campaign.id, self.strategy)

    def shown(self, impression_id: int | None) -> Banner:
        chosen = self.campaign
        category = chosen.target_category.name if chosen.target_category is not None else None
        # The offer and its terms are generated from what the cart applies, never the free text.
        return Banner(
            campaign_id=chosen.id, headline=chosen.headline, offer=offer_text(chosen), offer_kind=chosen.offer_kind,
            body=chosen.body, call_to_action=call_to_action(chosen), impression_id=impression_id,
            terms=terms_text(chosen, category),
        )


def choose_banner(ctx: RequestContext, now: datetime | None = None) -> ChosenBanner | None:
    """The campaign this request's shopper sees, or None when no campaign is live; the caller
    records its impression with the page's others (``ChosenBanner.impression_row``)."""
    catalog = snapshot.current(ctx.memo)
    campaigns = live_campaigns(now, catalog)
    if not campaigns:
        return None
    shopper = shopper_of(ctx)
    facts = facts_of(shopper, ctx.memo)
    chosen, strategy = choose(shopper, facts, catalog, campaigns, rotation_key(shopper, ctx.visitor_token))
    return ChosenBanner(chosen, strategy)
