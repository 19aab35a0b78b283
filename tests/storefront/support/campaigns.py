"""Helpers for the campaign tests: campaigns written through the model, banners read back."""
from __future__ import annotations

import html as html_lib
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from storefront.models import Campaign, Impression
from storefront.models.common import utcnow
from tests.storefront.support.shop import ctx

_names = itertools.count(1)
_BANNER = re.compile(r'<section class="promo-banner[^"]*".*?</section>', re.S)
_CTA = re.compile(r'<a class="button promo-cta" href="([^"]+)"')


def new_campaign(app, *, category_id: int | None = None, brand: str | None = None, active: bool = True,
                 starts: datetime | None = None, ends: datetime | None = None, **fields) -> int:
    """A campaign live now unless told otherwise (15% off its target by default); returns its id."""
    now = utcnow()
    n = next(_names)
    values = {
        "name": f"Campaign {n}", "offer": "15% off", "offer_kind": "percent_off",
        "promo_type": "percent_off", "headline": f"Headline {n}", "body": f"Body text {n}", **fields,
    }
    if values["promo_type"] in ("percent_off", "amount_off"):
        values.setdefault("promo_value", Decimal("15"))
    with ctx(app) as session:
        campaign = Campaign(
            target_category_id=category_id, target_brand=brand, is_active=active,
            starts_at=starts or now - timedelta(days=1), ends_at=ends or now + timedelta(days=30), **values,
        )
        session.add(campaign)
        session.commit()
        return campaign.id


@dataclass
class ShownBanner:
    html: str
    href: str
    campaign_id: int
    impression_id: int | None


def banner(response) -> ShownBanner | None:
    """The promotion banner of a page, if it has one."""
    match = _BANNER.search(response.get_data(as_text=True))
    if match is None:
        return None
    href = html_lib.unescape(_CTA.search(match.group(0)).group(1))
    found = re.match(r"/promo/(\d+)(?:\?ri=(\d+))?$", href)
    assert found, href
    return ShownBanner(match.group(0), href, int(found.group(1)), int(found.group(2)) if found.group(2) else None)


def banner_impressions(app) -> list[Impression]:
    with ctx(app) as session:
        rows = list(session.scalars(select(Impression).where(Impression.widget == "home_banner").order_by(Impression.id)))
        session.expunge_all()
        return rows
