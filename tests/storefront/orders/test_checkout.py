"""Checkout: the cart becomes an order atomically, or nothing at all changes."""
from __future__ import annotations

from decimal import Decimal

import pytest

from storefront.models import TRANSACTION
from tests.storefront.support.shop import (
    add_to_cart,
    all_cart_lines,
    checkout_form,
    counts,
    events,
    login,
    new_customer,
    new_product,
    orders,
    product_stock,
    set_product,
)


@pytest.fixture
def two_in_cart(app, client):
    """A browser with 2 x Trail Boots ($19.99, stock 10) and 1 x Wool Socks ($5.00, stock 3)."""
    boots = new_product(app, name="Trail Boots", price="19.99", stock=10)
    socks = new_product(app, name="Wool Socks", price="5.00", stock=3)
    assert add_to_cart(client, boots, 2).status_code == 302
    assert add_to_cart(client, socks, 1).status_code == 302
    return boots, socks


def _assert_nothing_changed(app, before, stock_before, cart_before):
    assert orders(app) == []
    assert counts(app) == before
    assert events(app, TRANSACTION) == []
    assert {pid: product_stock(app, pid) for pid in stock_before} == stock_before
    assert all_cart_lines(app) == cart_before


def _snapshot(app, product_ids):
    return counts(app), {pid: product_stock(app, pid) for pid in product_ids}, all_cart_lines(app)


def test_checkout_places_the_order(app, client, two_in_cart):
    boots, socks = two_in_cart
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 302

    (order,) = orders(app)
    assert response.headers["Location"] == f"/orders/{order.reference}"
    assert order.total == Decimal("49.93")  # 44.98 of goods + 4.95 shipping (under FREE_SHIPPING_OVER)
    assert order.email == "grace@example.com"
    assert order.payment_last4 == "4242"
    assert order.customer_id is None and order.visitor_id is not None
    assert [(l.product_id, l.product_name, l.unit_price, l.quantity) for l in order.lines] == [
        (boots, "Trail Boots", Decimal("19.99"), 2),
        (socks, "Wool Socks", Decimal("5.00"), 1),
    ]

    assert product_stock(app, boots) == 8
    assert product_stock(app, socks) == 2
    assert all_cart_lines(app) == []

    transactions = events(app, TRANSACTION)
    assert sorted((e.product_id, e.properties["quantity"]) for e in transactions) == [(boots, 2), (socks, 1)]
    assert all(e.order_id == order.id for e in transactions)
    assert all(e.visitor_id == order.visitor_id for e in transactions)

    confirmation = client.get(response.headers["Location"])
    html = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200
    assert order.reference in html
    assert "Thank you, Grace Hopper!" in html
    assert "$44.98" in html and "$4.95" in html and "$49.93" in html


def test_order_lines_keep_the_price_at_purchase_time(app, client, two_in_cart):
    boots, _ = two_in_cart
    set_product(app, boots, price=Decimal("24.99"))  # a price change before paying counts
    client.post("/checkout", data=checkout_form())
    set_product(app, boots, price=Decimal("99.00"), name="Trail Boots v2")  # ...one after does not

    (order,) = orders(app)
    line = next(l for l in order.lines if l.product_id == boots)
    assert line.unit_price == Decimal("24.99")
    assert line.product_name == "Trail Boots"
    assert order.total == Decimal("54.98")  # 50 or more of goods: shipping is free
    html = client.get(f"/orders/{order.reference}").get_data(as_text=True)
    assert "$24.99" in html and "$99.00" not in html


def test_empty_form_is_refused_with_field_messages(app, client, two_in_cart):
    before = _snapshot(app, two_in_cart)
    response = client.post("/checkout", data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Enter your name.", "Enter your email.", "Enter your street address.", "Enter your city.",
        "Enter your postcode.", "Enter a card number.", "Enter the card&#39;s expiry date.",
        "Enter the security code.",
    ):
        assert message in html
    _assert_nothing_changed(app, *before)


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("4242 4242 4242 4241", "That card number is not valid."),
        ("4000000000000002", "Your card was declined."),
        ("4000-0000-0000-0002", "Your card was declined."),
    ],
)
def test_bad_or_declined_card(app, client, two_in_cart, card, message):
    before = _snapshot(app, two_in_cart)
    response = client.post("/checkout", data=checkout_form(card_number=card))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "Trail Boots" in html  # the order summary is still there
    _assert_nothing_changed(app, *before)


def test_expired_card(app, client, two_in_cart):
    before = _snapshot(app, two_in_cart)
    response = client.post("/checkout", data=checkout_form(expiry="01/20"))
    assert response.status_code == 422
    assert "This card has expired." in response.get_data(as_text=True)
    _assert_nothing_changed(app, *before)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stock": 0}, "Sorry, Wool Socks is out of stock."),
        ({"active": False}, "Sorry, Wool Socks is out of stock."),
    ],
)
def test_out_of_stock_at_checkout_rolls_back(app, client, change, message):
    boots = new_product(app, name="Trail Boots", stock=10)
    socks = new_product(app, name="Wool Socks", stock=5)
    add_to_cart(client, boots, 2)  # first line: its stock is reserved before the second fails
    add_to_cart(client, socks, 3)
    set_product(app, socks, **change)
    before = _snapshot(app, [boots, socks])

    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    _assert_nothing_changed(app, *before)
    assert product_stock(app, boots) == 10


def test_partly_out_of_stock_at_checkout_says_how_many_are_left(app, client):
    boots = new_product(app, name="Trail Boots", stock=10)
    socks = new_product(app, name="Wool Socks", stock=5)
    add_to_cart(client, boots, 2)
    add_to_cart(client, socks, 3)
    set_product(app, socks, stock=1)
    before = _snapshot(app, [boots, socks])

    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 422
    assert "Only 1 of Wool Socks left in stock" in response.get_data(as_text=True)
    _assert_nothing_changed(app, *before)
    assert product_stock(app, boots) == 10 and product_stock(app, socks) == 1


def test_get_checkout_with_an_empty_cart_redirects_to_the_cart(client):
    response = client.get("/checkout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/cart"
    assert "Your cart is empty." in client.get("/cart").get_data(as_text=True)


def test_post_checkout_with_an_empty_cart_places_nothing(app, client):
    before = counts(app)
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 422
    assert "Your cart is empty." in response.get_data(as_text=True)
    assert counts(app)["orders"] == before["orders"] == 0


def test_checkout_form_shows_the_cart(app, client, two_in_cart):
    response = client.get("/checkout")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 × Trail Boots" in html and "1 × Wool Socks" in html
    assert "Pay $49.93" in html and "$4.95" in html  # the goods and the shipping fee


def test_guest_confirmation_is_private_to_the_browser(app, client, two_in_cart):
    response = client.post("/checkout", data=checkout_form())
    location = response.headers["Location"]
    assert client.get(location).status_code == 200

    stranger = app.test_client()
    page = stranger.get(location)
    assert page.status_code == 404
    assert "Page not found" in page.get_data(as_text=True)
    stranger.get("/")  # a stranger with a visitor cookie of their own: still not theirs
    assert stranger.get(location).status_code == 404
    assert client.get("/orders/NOSUCHREF").status_code == 404


def test_customer_order_history_is_private(app, client):
    owner_id, owner_email = new_customer(app, name="Olive Owner")
    _, other_email = new_customer(app, name="Oscar Other")
    product_id = new_product(app, name="Trail Boots", price="19.99")

    login(client, owner_email)
    form = client.get("/checkout")  # empty cart: redirect
    assert form.status_code == 302
    add_to_cart(client, product_id, 1)
    prefilled = client.get("/checkout").get_data(as_text=True)
    assert 'value="Olive Owner"' in prefilled and f'value="{owner_email}"' in prefilled
    response = client.post("/checkout", data=checkout_form(email=owner_email))
    assert response.status_code == 302
    (order,) = orders(app)
    assert order.customer_id == owner_id

    history = client.get("/account/orders").get_data(as_text=True)
    assert order.reference in history
    assert client.get(f"/account/orders/{order.reference}").status_code == 200
    assert client.get(f"/orders/{order.reference}").status_code == 200

    other = app.test_client()
    login(other, other_email)
    assert order.reference not in other.get("/account/orders").get_data(as_text=True)
    assert other.get(f"/account/orders/{order.reference}").status_code == 404
    assert other.get(f"/orders/{order.reference}").status_code == 404

    # Logging out on the owner's browser does not leave the order readable there either.
    client.post("/account/logout")
    assert client.get(f"/orders/{order.reference}").status_code == 404
