"""The banner's words come from the structured offer (so they match what the cart applies), old
free-text offers are read where they are clear, and words that promise more are caught."""
from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest

from storefront.orders.offers import ParsedOffer, offer_text, parse_offer, terms_text, unkept_promises
from tests.storefront.support.campaigns import banner, new_campaign
from tests.storefront.support.shop import add_to_cart, new_category, new_product

D = Decimal


@dataclass
class Offer:
    promo_type: str | None
    promo_value: Decimal | None = None
    promo_buy: int | None = None
    offer: str = ""
    name: str = "Spring"
    target_brand: str | None = None
    target_product_ids: tuple = ()
    ends_at: datetime = datetime(2027, 3, 31, 12, 0)


@pytest.mark.parametrize("offer, text", [
    (Offer("percent_off", D("30")), "30% off"),
    (Offer("percent_off", D("12.50")), "12.5% off"),
    (Offer("amount_off", D("10.00")), "$10 off each"),
    (Offer("amount_off", D("2.50")), "$2.50 off each"),
    (Offer("free_shipping"), "Free shipping"),
    (Offer("buy_n_get_one", promo_buy=2), "Buy 2, get 1 free"),
    (Offer("none", offer="New season"), "New season"),
    (Offer("none", offer="20% off everything"), ""),  # a badge may not promise a discount
    (Offer(None, offer="30% off cookware"), ""),  # no structured offer: the old text is not shown
])
def test_offer_text(offer, text):
    assert offer_text(offer) == text


def test_terms_say_on_what_how_and_until_when():
    assert terms_text(Offer("percent_off", D("30")), "Cookware") == (
        "On everything in Cookware, taken off in your cart. Until 31 Mar 2027 (UTC).")
    assert terms_text(Offer("free_shipping", target_brand="Lumen"), None) == (
        "Free shipping on any order with every Lumen product. Until 31 Mar 2027 (UTC).")
    assert terms_text(Offer("buy_n_get_one", promo_buy=2, target_brand="Lumen"), "Lamps") == (
        "For every 3 items of Lumen in Lamps in your cart, the cheapest is free. Until 31 Mar 2027 (UTC).")
    assert "selected products (Lamps)" in terms_text(Offer("percent_off", D("5"), target_product_ids=(1,)), "Lamps")
    assert terms_text(Offer("none"), "Lamps") == "" and terms_text(Offer(None), "Lamps") == ""


@pytest.mark.parametrize("text, kind, parsed", [
    ("20% off", "percent_off", ParsedOffer("percent_off", D("20"))),
    ("Up to 15 % off", "percent_off", ParsedOffer("percent_off", D("15"))),
    ("$5 off", "percent_off", ParsedOffer("amount_off", D("5"))),
    ("Free shipping", "free_shipping", ParsedOffer("free_shipping")),
    ("Free delivery this week", "free_shipping", ParsedOffer("free_shipping")),
    ("Buy 2, get 1 free", "bundle", ParsedOffer("buy_n_get_one", promo_buy=2)),
    ("3 for 2", "bundle", ParsedOffer("buy_n_get_one", promo_buy=2)),
    ("2 for 1", "bundle", ParsedOffer("buy_n_get_one", promo_buy=1)),
    ("New season", "new_arrivals", ParsedOffer("none")),
    ("Just landed", "new_arrivals", ParsedOffer("none")),
    ("Big savings", "percent_off", ParsedOffer(None)),
    ("2 for 3", "bundle", ParsedOffer(None)),
    ("150% off", "percent_off", ParsedOffer(None)),
    ("Just landed", "percent_off", ParsedOffer(None)),
])
def test_reading_old_free_text_offers(text, kind, parsed):
    assert parse_offer(text, kind) == parsed


def test_words_that_promise_what_the_offer_does_not_give():
    thirty = Offer("percent_off", D("30"))
    assert unkept_promises("30% off cookware, discount applied at checkout", thirty) == []
    assert unkept_promises("Up to 50% off", thirty) == ["50% off"]
    assert unkept_promises("30% off and free shipping", thirty) == ["free shipping"]
    assert unkept_promises("Every order ships free", Offer("free_shipping")) == []
    assert unkept_promises("$10 off each lamp", Offer("amount_off", D("10"))) == []
    assert unkept_promises("$15 off each lamp", Offer("amount_off", D("10"))) == ["$15 off"]
    assert unkept_promises("3 for 2 on lamps", Offer("buy_n_get_one", promo_buy=2)) == []
    assert unkept_promises("Buy 1, get one free", Offer("buy_n_get_one", promo_buy=2)) == ["buy 1, get 1 free"]
    assert unkept_promises("New in Lamps", Offer(None)) == []


@pytest.mark.parametrize("fields, offer, terms", [
    ({"promo_type": "percent_off", "promo_value": D("25")}, "25% off", "taken off in your cart"),
    ({"promo_type": "amount_off", "promo_value": D("3")}, "$3 off each", "taken off in your cart"),
    ({"promo_type": "free_shipping", "offer_kind": "free_shipping"}, "Free shipping", "Free shipping on any order"),
    ({"promo_type": "buy_n_get_one", "promo_buy": 1, "offer_kind": "bundle"}, "Buy 1, get 1 free",
     "For every 2 items"),
])
def test_the_home_banner_says_what_the_cart_applies(app, client, fields, offer, terms):
    category_id, _ = new_category(app, "Lamps")
    lamp = new_product(app, category_id, price="10.00")
    new_campaign(app, category_id=category_id, offer="anything the admin once typed", **fields)
    shown = html_lib.unescape(banner(client.get("/")).html)
    assert f'<p class="promo-offer">{offer}</p>' in shown and terms in shown
    assert "anything the admin once typed" not in shown
    add_to_cart(client, lamp, 2)
    cart = html_lib.unescape(client.get("/cart").get_data(as_text=True))
    assert f"{offer} · " in cart  # the cart's discount line carries the same words


def test_a_campaign_without_a_structured_offer_promises_nothing_on_the_banner(app, client):
    category_id, _ = new_category(app, "Cookware")
    casserole = new_product(app, category_id, price="66.99")
    new_campaign(app, category_id=category_id, promo_type=None, offer="30% off cookware")
    shown = banner(client.get("/"))
    assert shown is not None and "promo-offer" not in shown.html and "30% off" not in shown.html
    add_to_cart(client, casserole)
    assert "−$" not in client.get("/cart").get_data(as_text=True)
