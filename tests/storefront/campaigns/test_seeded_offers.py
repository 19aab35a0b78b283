"""``flask shop seed`` writes structured offers: every demo campaign's offer is one the cart
applies (or an announcement without a discount), and its banner text is generated from it."""
from __future__ import annotations

from sqlalchemy import select

from storefront.extensions import db
from storefront.models import Campaign
from storefront.orders.offers import offer_text, unkept_promises
from tests.storefront.seeding.test_clicks import _seed


def test_the_demo_campaigns_have_structured_offers_their_words_keep(runner, app_ctx):
    _seed(runner)
    campaigns = db.session.scalars(select(Campaign)).all()
    assert campaigns and all(c.promo_type is not None for c in campaigns)
    assert {c.promo_type for c in campaigns} == {"percent_off", "free_shipping", "buy_n_get_one", "none"}
    for campaign in campaigns:
        assert campaign.offer == offer_text(campaign), campaign.name
        assert unkept_promises(f"{campaign.headline} {campaign.body}", campaign) == [], campaign.name
