"""The home page's promotion banner: what it shows, which campaign it picks, one impression per view."""
from __future__ import annotations

from datetime import timedelta

from tests.storefront.support.campaigns import banner, banner_impressions, new_campaign
from tests.helpers import BOT_UA, MOBILE_UA, give_visitor_cookie
from storefront.models.common import utcnow
from tests.storefront.support.shop import new_category, new_product


def _browser(app, user_agent: str | None = None):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent or (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
    give_visitor_cookie(client, app)  # a returning browser: its first page is logged
    return client


def test_the_banner_shows_the_campaign_and_records_one_impression_per_view(app, client):
    category_id, _ = new_category(app, "Lamps")
    new_product(app, category_id)
    campaign_id = new_campaign(app, category_id=category_id, offer="2 for 1", offer_kind="bundle",
                               promo_type="buy_n_get_one", promo_value=None, promo_buy=1,
                               headline="Light up <your> evenings", body="Every lamp & shade.")
    shown = banner(client.get("/"))
    assert shown is not None and shown.campaign_id == campaign_id
    assert "Light up &lt;your&gt; evenings" in shown.html and "Every lamp &amp; shade." in shown.html
    # the offer's text is written from the structured offer (README "Promotions")
    assert "Buy 1, get 1 free" in shown.html and "Shop Lamps" in shown.html
    assert "style=" not in shown.html and "<script" not in shown.html  # the CSP allows neither
    (impression,) = banner_impressions(app)
    assert shown.impression_id == impression.id
    assert (impression.widget, impression.strategy, impression.items) == ("home_banner", "rules", [])
    assert impression.campaign_id == campaign_id and impression.ranking is None
    assert impression.device == "desktop" and impression.session_id
    assert impression.visitor_id is None  # a first visit: visitors stay lazy, the session ties it

    second = banner(client.get("/"))
    assert second.impression_id == banner_impressions(app)[1].id != shown.impression_id
    assert len(banner_impressions(app)) == 2


def test_the_device_is_recorded(app):
    new_campaign(app, brand="Acme")
    phone = _browser(app, MOBILE_UA)
    assert banner(phone.get("/")) is not None
    assert [i.device for i in banner_impressions(app)] == ["mobile"]


def test_bots_see_the_banner_but_record_nothing(app):
    new_campaign(app, brand="Acme")
    bot = _browser(app, BOT_UA)
    shown = banner(bot.get("/"))
    assert shown is not None and shown.impression_id is None
    assert banner_impressions(app) == []


def test_no_live_campaign_no_banner(app, client):
    now = utcnow()
    new_campaign(app, brand="Ended", starts=now - timedelta(days=9), ends=now - timedelta(minutes=1))
    new_campaign(app, brand="Future", starts=now + timedelta(hours=1), ends=now + timedelta(days=9))
    new_campaign(app, brand="Off", active=False)
    response = client.get("/")
    assert response.status_code == 200 and banner(response) is None
    assert banner_impressions(app) == []


def test_recent_interests_pick_the_campaign(app):
    shoes, _ = new_category(app, "Shoes")
    outdoor, _ = new_category(app, "Outdoor")
    tents, _ = new_category(app, "Tents", parent_id=outdoor)
    boot = new_product(app, shoes, brand="Trekka")
    tent = new_product(app, tents, brand="Campo")
    plain = new_product(app, shoes, brand="Plain")
    brand_campaign = new_campaign(app, brand="Trekka")
    department_campaign = new_campaign(app, category_id=outdoor)
    new_campaign(app, brand="Nobody")
    new_campaign(app, brand="Elsewhere")

    hiker = _browser(app)
    hiker.get(f"/products/{boot}")
    assert banner(hiker.get("/")).campaign_id == brand_campaign
    camper = _browser(app)
    camper.get(f"/products/{tent}")  # a tent: its department's campaign matches
    assert banner(camper.get("/")).campaign_id == department_campaign
    # The latest interest counts most: the hiker now looks at tents, many times (over more than
    # the reload window, which a test does not wait for: every view counts here).
    app.config["VIEW_DEDUP_SECONDS"] = 0
    for _ in range(3):
        hiker.get(f"/products/{tent}")
        hiker.get(f"/products/{plain}")
    assert banner(hiker.get("/")).campaign_id == department_campaign


def test_without_interests_the_rotation_is_stable_per_visitor_and_varies_across_visitors(app):
    ids = [new_campaign(app, brand=f"Brand {i}") for i in range(4)]
    seen = set()
    for _ in range(12):
        visitor = _browser(app)
        picks = {banner(visitor.get("/")).campaign_id for _ in range(3)}
        assert len(picks) == 1  # the same visitor keeps seeing the same campaign
        seen |= picks
    assert len(seen) > 1 and seen <= set(ids)
