"""The banner's link: count the click (when it is a real one), then go to the campaign's target."""
from __future__ import annotations

from flask import abort, redirect, request, url_for

from storefront.extensions import db
from storefront.models import Campaign
from storefront.campaigns import banner as campaigns
from storefront.tracking import impressions
from storefront.shop import bp
from storefront.web.requests import request_context


def _target_url(campaign: Campaign) -> str:
    """The category page when the campaign has a category, else the brand's search results."""
    if campaign.target_category is not None:
        return url_for("shop.category", slug=campaign.target_category.slug)
    return url_for("shop.search", q=campaign.target_brand)


@bp.get("/promo/<id:campaign_id>")
def promotion(campaign_id: int):
    campaign = campaigns.live_campaign(campaign_id)
    if campaign is None:
        abort(404, "This promotion has ended or does not exist.")
    target = _target_url(campaign)
    # ?ri=<impression>: a click only when it names this campaign's banner shown to this
    # shopper; anything else still leads to the offer, it just proves nothing.
    impressions.record_banner_click(request_context(), campaign.id, request.args.get("ri"))
    db.session.commit()
    return redirect(target)
