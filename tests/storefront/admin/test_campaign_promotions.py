"""Admin -> Campaigns and promotions: orders, revenue and discounts per campaign; structured offers
in the form (values, products by SKU within the target, words that promise more refused with a
422); campaigns without a structured offer shown as such; an ended campaign offers no switch."""
from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from storefront.models import Campaign, Order, Product
from storefront.models.common import utcnow
from tests.storefront.support.campaigns import new_campaign
from tests.storefront.support.shop import add_to_cart, checkout_form, counts, ctx, new_category, new_product

D = Decimal


def _form(**overrides) -> dict[str, str]:
    form = {
        "name": "Lamp week", "target_category_id": "0", "target_brand": "Lumen", "target_skus": "",
        "promo_type": "percent_off", "promo_value": "20", "promo_buy": "", "offer": "",
        "headline": "20% off every Lumen lamp", "body": "Until the end of August.",
        "starts_at": "2026-06-01T09:00", "ends_at": "2026-08-31T23:59", "is_active": "y",
    }
    form.update(overrides)
    return form


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _row(html: str, campaign_id: int) -> str:
    return re.search(r'<tr id="campaign-%d">(.*?)</tr>' % campaign_id, html, re.S).group(1)


def _campaigns(app) -> list[Campaign]:
    with ctx(app) as session:
        rows = list(session.scalars(select(Campaign).order_by(Campaign.id)))
        session.expunge_all()
        return rows


def test_the_list_shows_orders_revenue_and_discounts_per_campaign(app, admin_client):
    category_id, _ = new_category(app, "Lamps")
    lamp = new_product(app, category_id, price="40.00")
    other = new_product(app, name="Mug", price="10.00")
    lamps = new_campaign(app, category_id=category_id, promo_type="percent_off", promo_value=D("25"), name="Lamp days")
    quiet = new_campaign(app, brand="Nobody", name="Quiet one")
    shoppers = [app.test_client() for _ in range(3)]
    for n, (shopper, product) in enumerate(zip(shoppers, (lamp, lamp, other))):
        shopper.environ_base.update(admin_client.environ_base)
        add_to_cart(shopper, product)
        assert shopper.post("/checkout", data=checkout_form(email=f"s{n}@example.com")).status_code == 302
    with ctx(app) as session:  # a cancelled order is not revenue; a shipped one still is
        first, second = session.scalars(select(Order).order_by(Order.id)).all()[:2]
        first.status, second.status = "cancelled", "shipped"
        session.commit()
    html = _text(admin_client.get("/admin/campaigns"))
    row = _row(html, lamps)
    # one paid order: 40.00 - 10.00 + 4.95 shipping = 34.95, of which 10.00 was the discount
    assert re.search(r'data-label="Orders">1<', row) and "$34.95" in row and "$10.00" in row
    assert re.search(r'data-label="Orders">0<', _row(html, quiet)) and "$0.00" in _row(html, quiet)


def test_an_ended_campaign_offers_no_deactivate(app, admin_client):
    now = utcnow()
    live = new_campaign(app, brand="Acme", name="Live one")
    ended = new_campaign(app, brand="Acme", name="Ended one", starts=now - timedelta(days=9), ends=now - timedelta(days=1))
    ended_off = new_campaign(app, brand="Acme", name="Ended and off", active=False,
                             starts=now - timedelta(days=9), ends=now - timedelta(days=1))
    html = _text(admin_client.get("/admin/campaigns"))
    assert ">Deactivate<" in _row(html, live)
    for campaign_id in (ended, ended_off):
        row = _row(html, campaign_id)
        assert "Deactivate" not in row and ">Activate<" not in row and ">ended<" in row
        assert "edit its dates" in row


def test_a_campaign_without_a_structured_offer_is_shown_as_such(app, admin_client):
    campaign_id = new_campaign(app, brand="Acme", promo_type=None, offer="30% off cookware")
    row = _row(_text(admin_client.get("/admin/campaigns")), campaign_id)
    assert "no structured offer" in row and "was “30% off cookware”" in row
    page = _text(admin_client.get(f"/admin/campaigns/{campaign_id}/edit"))
    assert "has no structured offer (its old text: “30% off cookware”)" in page
    assert 'value="30% off cookware"' in page  # kept in the badge field until an offer is chosen


@pytest.mark.parametrize("overrides, stored", [
    ({}, ("percent_off", D("20"), None, "20% off", "percent_off")),
    ({"promo_type": "amount_off", "promo_value": "7.5", "headline": "$7.50 off each Lumen lamp"},
     ("amount_off", D("7.50"), None, "$7.50 off each", "percent_off")),
    ({"promo_type": "free_shipping", "promo_value": "20", "headline": "Lumen, delivered free"},
     ("free_shipping", None, None, "Free shipping", "free_shipping")),
    ({"promo_type": "buy_n_get_one", "promo_buy": "2", "headline": "Buy 2, get 1 free"},
     ("buy_n_get_one", None, 2, "Buy 2, get 1 free", "bundle")),
    ({"promo_type": "none", "offer": "New season", "headline": "New Lumen lamps"},
     ("none", None, None, "New season", "new_arrivals")),
])
def test_each_offer_type_is_saved_with_only_what_it_uses(app, admin_client, overrides, stored):
    response = admin_client.post("/admin/campaigns/new", data=_form(**overrides))
    assert response.status_code == 302, _text(response)[:2000]
    (campaign,) = _campaigns(app)
    assert (campaign.promo_type, campaign.promo_value, campaign.promo_buy, campaign.offer, campaign.offer_kind) == stored


def test_products_by_sku_within_the_target(app, admin_client):
    category_id, _ = new_category(app, "Lamps")
    inside = new_product(app, category_id, brand="Lumen")
    outside = new_product(app, brand="Lumen")  # another category
    with ctx(app) as session:
        sku_in, sku_out = session.get(Product, inside).sku, session.get(Product, outside).sku
    base = {"target_category_id": str(category_id)}
    before = counts(app)
    unknown = admin_client.post("/admin/campaigns/new", data=_form(**base, target_skus=f"{sku_in}, NOPE-1"))
    assert unknown.status_code == 422 and "No product has the SKU NOPE-1." in _text(unknown)
    elsewhere = admin_client.post("/admin/campaigns/new", data=_form(**base, target_skus=f"{sku_in} {sku_out}"))
    assert elsewhere.status_code == 422 and f"Not in the campaign's category or brand: {sku_out}." in _text(elsewhere)
    assert f'value="{sku_in} {sku_out}"' in _text(elsewhere)  # what was typed is kept
    assert _campaigns(app) == [] and counts(app) == before
    assert admin_client.post("/admin/campaigns/new", data=_form(**base, target_skus=sku_in)).status_code == 302
    (campaign,) = _campaigns(app)
    assert campaign.target_product_ids == [inside]
    assert f'value="{sku_in}"' in _text(admin_client.get(f"/admin/campaigns/{campaign.id}/edit"))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "1e999999", "sNaN"])
def test_a_value_that_is_no_amount_is_a_422_not_a_500(app, admin_client, value):
    for kind in ("percent_off", "amount_off"):
        response = admin_client.post("/admin/campaigns/new", data=_form(promo_type=kind, promo_value=value))
        assert response.status_code == 422, (kind, value)
    assert _campaigns(app) == []


@pytest.mark.parametrize("overrides, field, promised", [
    ({"headline": "Up to 50% off Lumen"}, "headline", "50% off"),
    ({"body": "And free shipping on every order."}, "body", "free shipping"),
    ({"promo_type": "none", "offer": "10% off", "headline": "New Lumen lamps"}, "offer", "10% off"),
    ({"promo_type": "free_shipping", "headline": "Buy 2, get one free"}, "headline", "buy 2, get 1 free"),
])
def test_words_that_promise_more_than_the_offer_are_refused(app, admin_client, overrides, field, promised):
    response = admin_client.post("/admin/campaigns/new", data=_form(**overrides))
    html = _text(response)
    assert response.status_code == 422 and f"This promises {promised}, which the offer does not give" in html
    assert re.search(r'<div class="field has-error">\s*<label for="%s"' % field, html)
    assert _campaigns(app) == []
