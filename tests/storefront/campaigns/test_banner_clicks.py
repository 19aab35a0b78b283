"""``/promo/<campaign>?ri=<impression>``: a banner click is recorded once, only for a real one,
and the link always leads to the campaign's target (or a 404 for a campaign that is not live)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.storefront.support.campaigns import banner, banner_impressions, new_campaign
from tests.helpers import BOT_UA, BROWSER_UA
from tests.storefront.support.recommendations import impressions as all_impressions
from storefront.models import CLICK, Campaign
from storefront.models.common import utcnow
from tests.storefront.support.shop import ctx, events, new_category, new_product


def _browser(app, user_agent: str = BROWSER_UA):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


@pytest.fixture
def lamps(app) -> tuple[int, str]:
    return new_category(app, "Lamps")


def _clicks(app):
    return events(app, CLICK)


def test_a_banner_click_is_recorded_once_and_leads_to_the_category(app, client, lamps):
    category_id, slug = lamps
    campaign_id = new_campaign(app, category_id=category_id)
    shown = banner(client.get("/"))
    response = client.get(shown.href)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == f"/c/{slug}"
    (click,) = _clicks(app)
    assert click.product_id is None and click.impression_id == shown.impression_id
    assert click.properties == {"position": 0, "widget": "home_banner", "campaign_id": campaign_id}
    assert click.visitor_id is not None and click.session_id == banner_impressions(app)[0].session_id
    assert client.get(shown.href).status_code == 302  # followed again (a reload, back and forth)
    assert len(_clicks(app)) == 1
    again = banner(client.get("/"))  # a new view is a new impression: its click counts
    client.get(again.href)
    assert [c.impression_id for c in _clicks(app)] == [shown.impression_id, again.impression_id]


def test_brand_campaigns_lead_to_the_brand_search_and_category_wins_when_both(app, client, lamps):
    category_id, slug = lamps
    brand_only = new_campaign(app, brand="Lumen & Co")
    both = new_campaign(app, brand="Lumen & Co", category_id=category_id)
    location = urlsplit(client.get(f"/promo/{brand_only}").headers["Location"])
    assert location.path == "/search" and parse_qs(location.query) == {"q": ["Lumen & Co"]}
    assert urlsplit(client.get(f"/promo/{both}").headers["Location"]).path == f"/c/{slug}"


def test_forged_or_foreign_impressions_are_not_clicks_but_still_redirect(app, client, lamps):
    category_id, _ = lamps
    first = new_campaign(app, category_id=category_id)
    other = new_campaign(app, brand="Other")
    shown = banner(client.get("/"))
    wrong_campaign = other if shown.campaign_id == first else first
    links = [
        f"/promo/{wrong_campaign}?ri={shown.impression_id}",  # the impression showed another campaign
        f"/promo/{shown.campaign_id}?ri={shown.impression_id + 1000}",  # no such impression
        f"/promo/{shown.campaign_id}?ri=abc",
        f"/promo/{shown.campaign_id}?ri=-{shown.impression_id}",
        f"/promo/{shown.campaign_id}?ri=%20{shown.impression_id}",
        f"/promo/{shown.campaign_id}?ri=99999999999999999999999999",
        f"/promo/{shown.campaign_id}?ri=",
        f"/promo/{shown.campaign_id}",
    ]
    for link in links:
        assert client.get(link).status_code == 302, link
    stranger = _browser(app)  # a shared link: someone else's impression
    assert stranger.get(shown.href).status_code == 302
    assert _clicks(app) == []
    assert client.get(shown.href).status_code == 302  # the owner's own click still counts
    assert len(_clicks(app)) == 1


def test_a_widget_impression_is_not_a_banner_click(app, client, lamps):
    category_id, _ = lamps
    for i in range(4):
        new_product(app, category_id, name=f"Lamp {i}")
    campaign_id = new_campaign(app, category_id=category_id)
    client.get("/")
    shelf = next(i for i in all_impressions(app) if i.widget != "home_banner")
    assert client.get(f"/promo/{campaign_id}?ri={shelf.id}").status_code == 302
    assert _clicks(app) == []


def test_bots_following_the_banner_record_nothing(app, client, lamps):
    campaign_id = new_campaign(app, category_id=lamps[0])
    shown = banner(client.get("/"))
    bot = _browser(app, BOT_UA)
    assert bot.get(shown.href).status_code == 302
    assert bot.get(f"/promo/{campaign_id}").status_code == 302
    assert _clicks(app) == []


def test_campaigns_that_are_not_live_are_404(app, client, lamps):
    now = utcnow()
    ended = new_campaign(app, brand="Ended", starts=now - timedelta(days=9), ends=now - timedelta(minutes=1))
    future = new_campaign(app, brand="Future", starts=now + timedelta(hours=1), ends=now + timedelta(days=9))
    off = new_campaign(app, brand="Off", active=False)
    for campaign_id in (ended, future, off, 987654, 2**31 + 5):
        response = client.get(f"/promo/{campaign_id}?ri=1")
        assert response.status_code == 404, campaign_id
        assert "Page not found" in response.get_data(as_text=True)
    assert client.get("/promo/abc").status_code == 404
    assert _clicks(app) == []


def test_a_campaign_switched_off_after_the_view_no_longer_counts(app, client, lamps):
    campaign_id = new_campaign(app, category_id=lamps[0])
    shown = banner(client.get("/"))
    with ctx(app) as session:
        session.get(Campaign, campaign_id).is_active = False
        session.commit()
    assert client.get(shown.href).status_code == 404
    assert _clicks(app) == []
