"""The cart, for anonymous visitors and logged-in customers; every change is tracked."""
from __future__ import annotations


import pytest

from storefront.extensions import db
from storefront.models import ADD_TO_CART, REMOVE_FROM_CART, VIEW, Cart, CartItem, Product, Visitor
from tests.storefront.support.mail import register
from tests.storefront.support.shop import (
    add_to_cart,
    all_cart_lines,
    cart_badge,
    cart_lines,
    counts,
    ctx,
    events,
    login,
    new_customer,
    new_product,
    visitor_ids,
)


def _cart_events(app):
    return [(e.type, e.product_id, (e.properties or {}).get("quantity")) for e in events(app) if e.type != VIEW]


# --- add, update, remove ----------------------------------------------------------------------


def test_add_twice_adds_up(app, shopper):
    product_id = new_product(app, name="Desk Lamp", stock=10)
    first = add_to_cart(shopper.client, product_id, 2)
    assert first.status_code == 302 and first.headers["Location"] == "/cart"
    add_to_cart(shopper.client, product_id, 3)

    assert shopper.lines(app) == {product_id: 5}
    adds = events(app, ADD_TO_CART)
    assert [(e.product_id, e.properties["quantity"]) for e in adds] == [(product_id, 2), (product_id, 3)]
    assert all(e.customer_id == shopper.customer_id for e in adds)
    assert len({e.visitor_id for e in adds}) == 1

    page = shopper.client.get("/cart").get_data(as_text=True)
    assert "Added Desk Lamp to your cart." in page
    assert 'value="5"' in page


def test_update_quantity_up_down_and_zero(app, shopper):
    product_id = new_product(app, stock=10)
    add_to_cart(shopper.client, product_id, 2)

    up = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": "5"})
    assert up.status_code == 302
    assert shopper.lines(app) == {product_id: 5}

    down = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": "1"})
    assert down.status_code == 302
    assert shopper.lines(app) == {product_id: 1}

    same = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": "1"})
    assert same.status_code == 302  # no change, no event

    zero = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": "0"})
    assert zero.status_code == 302
    assert shopper.lines(app) == {}

    assert _cart_events(app) == [
        (ADD_TO_CART, product_id, 2),
        (ADD_TO_CART, product_id, 3),
        (REMOVE_FROM_CART, product_id, 4),
        (REMOVE_FROM_CART, product_id, 1),
    ]
    assert all(e.customer_id == shopper.customer_id for e in events(app))


def test_update_beyond_stock_is_refused(app, shopper):
    product_id = new_product(app, name="Rare Vase", stock=3)
    add_to_cart(shopper.client, product_id, 2)
    before = counts(app)
    response = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": "4"})
    assert response.status_code == 422
    assert "Only 3 of Rare Vase left in stock." in response.get_data(as_text=True)
    assert shopper.lines(app) == {product_id: 2}
    assert counts(app) == before


def test_lowering_a_line_is_allowed_after_stock_ran_short(app, shopper):
    product_id = new_product(app, name="Rare Vase", stock=5)
    add_to_cart(shopper.client, product_id, 4)
    with ctx(app) as session:
        session.get(Product, product_id).stock = 1
        session.commit()
    response = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": "2"})
    assert response.status_code == 302
    assert shopper.lines(app) == {product_id: 2}


@pytest.mark.parametrize("quantity", ["-1", "100", "abc", ""])
def test_update_with_an_invalid_quantity_is_refused(app, shopper, quantity):
    product_id = new_product(app, stock=10)
    add_to_cart(shopper.client, product_id, 2)
    before = counts(app)
    response = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": quantity})
    assert response.status_code == 422
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert shopper.lines(app) == {product_id: 2}
    assert counts(app) == before


def test_update_of_a_product_not_in_the_cart(app, shopper):
    product_id = new_product(app)
    response = shopper.client.post(f"/cart/update/{product_id}", data={"quantity": "2"})
    assert response.status_code == 422
    assert "That product is not in your cart." in response.get_data(as_text=True)
    assert shopper.lines(app) == {}


def test_remove(app, shopper):
    kept = new_product(app, name="Kept Thing")
    removed = new_product(app, name="Removed Thing")
    add_to_cart(shopper.client, kept, 1)
    add_to_cart(shopper.client, removed, 2)

    response = shopper.client.post(f"/cart/remove/{removed}")
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert shopper.lines(app) == {kept: 1}
    assert _cart_events(app)[-1] == (REMOVE_FROM_CART, removed, 2)

    again = shopper.client.post(f"/cart/remove/{removed}")
    assert again.status_code == 422
    assert "That product is not in your cart." in again.get_data(as_text=True)
    assert len(events(app, REMOVE_FROM_CART)) == 1


# --- refused adds: nothing written ------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Choose a quantity from 1 to 99."),
        ("-1", "Choose a quantity from 1 to 99."),
        ("1000", "Choose a quantity from 1 to 99."),
        ("abc", "Not a valid integer value."),
        ("", "Enter a quantity."),
    ],
)
def test_add_with_an_invalid_quantity_is_refused(app, shopper, quantity, message):
    product_id = new_product(app, name="Careful Widget", stock=500)
    before = counts(app)
    response = add_to_cart(shopper.client, product_id, quantity)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<h1>Careful Widget</h1>" in html  # the product page again
    assert 'aria-invalid="true"' in html
    assert message in html
    after = counts(app)
    assert after["cart_items"] == before["cart_items"] == 0
    assert after["events"] == before["events"]
    assert after == before


def test_add_more_than_stock_is_refused(app, shopper):
    product_id = new_product(app, name="Last Few Socks", stock=3)
    before = counts(app)
    response = add_to_cart(shopper.client, product_id, 4)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<h1>Last Few Socks</h1>" in html
    assert "Only 3 of Last Few Socks left in stock." in html
    assert counts(app) == before


def test_add_more_than_stock_counting_the_cart_is_refused(app, shopper):
    product_id = new_product(app, name="Last Few Socks", stock=3)
    add_to_cart(shopper.client, product_id, 2)
    before = counts(app)
    response = add_to_cart(shopper.client, product_id, 2)
    assert response.status_code == 422
    assert "left in stock" in response.get_data(as_text=True)
    assert shopper.lines(app) == {product_id: 2}
    assert counts(app) == before


def test_out_of_stock_product_is_refused(app, shopper):
    product_id = new_product(app, name="Ghost Kettle", stock=0)
    before = counts(app)
    response = add_to_cart(shopper.client, product_id, 1)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<h1>Ghost Kettle</h1>" in html
    assert "Out of stock" in html
    assert counts(app) == before
    assert shopper.lines(app) == {}


def test_out_of_stock_refusal_explains_itself(app, shopper):
    """The refused add must tell the shopper why (the service's message), not just answer 422.

    The view puts the CartError message on ``form.quantity.errors`` but the product template only
    renders the form (and so its errors) when the product is in stock: the message is lost.
    """
    product_id = new_product(app, name="Ghost Kettle", stock=0)
    response = add_to_cart(shopper.client, product_id, 1)
    assert response.status_code == 422
    assert "Sorry, Ghost Kettle is out of stock." in response.get_data(as_text=True)


def test_inactive_or_unknown_product_cannot_be_added(app, shopper):
    product_id = new_product(app, active=False)
    before = counts(app)
    assert add_to_cart(shopper.client, product_id, 1).status_code == 404
    assert add_to_cart(shopper.client, 987654, 1).status_code == 404
    assert counts(app) == before


# --- ownership, merge on login ----------------------------------------------------------------


def test_a_customers_cart_follows_them_to_another_browser(app):
    customer_id, email = new_customer(app)
    product_id = new_product(app)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, email)
    add_to_cart(laptop, product_id, 2)
    login(phone, email)
    assert cart_badge(phone.get("/cart").get_data(as_text=True)) == 2
    assert cart_lines(app, customer_id=customer_id) == {product_id: 2}


def test_login_merges_the_anonymous_cart_into_the_customers_cart(app, client):
    customer_id, email = new_customer(app)
    only_anonymous = new_product(app, name="Only Anonymous", stock=10)
    in_both = new_product(app, name="In Both", stock=10)
    only_customer = new_product(app, name="Only Customer", stock=10)
    with ctx(app) as session:  # the customer's cart from an earlier visit
        session.add(Cart(customer_id=customer_id, items=[
            CartItem(product_id=in_both, quantity=3), CartItem(product_id=only_customer, quantity=1),
        ]))
        session.commit()

    client.get(f"/products/{only_anonymous}")
    add_to_cart(client, only_anonymous, 1)
    add_to_cart(client, in_both, 2)
    anonymous_events = events(app)
    assert anonymous_events and all(e.customer_id is None for e in anonymous_events)
    (visitor_id,) = {e.visitor_id for e in anonymous_events}

    login(client, email)

    assert cart_lines(app, customer_id=customer_id) == {only_anonymous: 1, in_both: 5, only_customer: 1}
    assert cart_lines(app, visitor_id=visitor_id) == {}
    assert counts(app)["carts"] == 1
    assert [e.customer_id for e in events(app)] == [customer_id] * len(anonymous_events)
    with ctx(app) as session:
        assert session.get(Visitor, visitor_id).customer_id == customer_id
    assert cart_badge(client.get("/cart").get_data(as_text=True)) == 7


def test_login_moves_the_anonymous_cart_when_the_customer_has_none(app, client):
    customer_id, email = new_customer(app)
    product_id = new_product(app)
    add_to_cart(client, product_id, 2)
    login(client, email)
    assert all_cart_lines(app) == [(None, customer_id, product_id, 2)]


def test_merged_quantities_are_capped_by_stock(app, client):
    customer_id, email = new_customer(app)
    product_id = new_product(app, stock=4)
    with ctx(app) as session:
        session.add(Cart(customer_id=customer_id, items=[CartItem(product_id=product_id, quantity=3)]))
        session.commit()
    add_to_cart(client, product_id, 3)
    login(client, email)
    assert cart_lines(app, customer_id=customer_id) == {product_id: 4}


def test_logout_leaves_the_customers_cart_behind(app, client):
    customer_id, email = new_customer(app)
    product_id = new_product(app)
    login(client, email)
    add_to_cart(client, product_id, 1)
    client.post("/account/logout")
    assert cart_badge(client.get("/cart").get_data(as_text=True)) is None
    assert cart_lines(app, customer_id=customer_id) == {product_id: 1}


def test_registration_attaches_the_visitor_and_its_cart(app, client):
    product_id = new_product(app)
    client.get(f"/products/{product_id}")
    add_to_cart(client, product_id, 2)
    (visitor_id,) = visitor_ids(app)

    response = register(client, "new.shopper@example.com", "longenough1", name="New Shopper")
    assert response.status_code == 302

    with ctx(app) as session:
        visitor = session.get(Visitor, visitor_id)
        assert visitor.customer is not None
        customer_id = visitor.customer_id
        assert visitor.customer.email == "new.shopper@example.com"
    assert [e.type for e in events(app)] == [VIEW, ADD_TO_CART]
    assert all(e.customer_id == customer_id for e in events(app))
    assert cart_lines(app, customer_id=customer_id) == {product_id: 2}
    # Later events of the now-registered browser carry the customer too.
    other = new_product(app)
    client.get(f"/products/{other}")
    assert events(app)[-1].customer_id == customer_id
    assert visitor_ids(app) == [visitor_id]
    with ctx(app):
        assert db.session.get(Visitor, visitor_id).customer_id == customer_id
