"""Admin -> Orders: admins only, POST with CSRF only (a GET changes nothing), the list's filters,
the order page (lines, customer, history), the status flow through the pages with refused steps
re-rendered with their reason (never a 500), and refunds in full or per line."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from storefront import create_app
from storefront.extensions import db
from storefront.models.order_history import CANCEL, RETURN
from tests.helpers import BROWSER_UA, browser_client
from tests.storefront.support.orders import events_of, line_ids, order_state, place_order
from tests.storefront.support.shop import login, new_customer, new_product, product_stock

TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def order(app):
    """A paid order of a registered customer: 2 mugs at 9.99 and 1 teapot at 25.00."""
    customer_id, _ = new_customer(app, "ada@example.com", name="Ada Lovelace")
    mug = new_product(app, name="Blue mug", price="9.99", stock=5)
    teapot = new_product(app, name="Teapot", price="25.00", stock=1)
    order_id = place_order(app, {mug: 2, teapot: 1}, customer_id=customer_id, email="ada@example.com")
    return {"id": order_id, "mug": mug, "teapot": teapot, "customer": customer_id}


def _location(response) -> str:
    return urlsplit(response.headers["Location"]).path


def test_the_order_page_shows_lines_customer_and_next_steps(admin_client, order):
    page = admin_client.get(f"/admin/orders/{order['id']}").get_data(as_text=True)
    assert "Blue mug" in page and "Teapot" in page and "$44.98" in page
    assert "Ada Lovelace" in page and f"/admin/customers/{order['customer']}" in page
    assert "Mark shipped" in page and "Cancel order" in page and "Mark delivered" not in page
    assert "Refund the chosen units" not in page  # not shipped yet
    assert "Orders: ship, deliver, cancel, refund" in admin_client.get("/admin/").get_data(as_text=True)


def test_paid_shipped_delivered_then_a_cancel_is_refused_with_its_reason(app, admin_client, order):
    oid = order["id"]
    response = admin_client.post(f"/admin/orders/{oid}/ship")
    assert response.status_code == 302 and _location(response) == f"/admin/orders/{oid}"
    assert "paid → shipped" in admin_client.get(f"/admin/orders/{oid}").get_data(as_text=True)
    assert admin_client.post(f"/admin/orders/{oid}/deliver").status_code == 302
    refused = admin_client.post(f"/admin/orders/{oid}/cancel")
    assert refused.status_code == 409
    assert "can no longer be cancelled; refund its items instead" in refused.get_data(as_text=True)
    status, changes, _ = order_state(app, oid)
    assert status == "delivered" and [c.changed_by for c in changes] == ["boss@example.com"] * 2
    assert product_stock(app, order["mug"]) == 3 and events_of(app, CANCEL) == []
    assert admin_client.post(f"/admin/orders/{oid}/ship").status_code == 409  # backwards: refused too
    history = admin_client.get(f"/admin/orders/{oid}").get_data(as_text=True)
    assert "shipped → delivered" in history and "boss@example.com" in history


def test_cancel_restocks_and_tells_training(app, admin_client, order):
    assert admin_client.post(f"/admin/orders/{order['id']}/cancel").status_code == 302
    assert (product_stock(app, order["mug"]), product_stock(app, order["teapot"])) == (5, 1)
    assert [(e[1], e[2], e[4]) for e in events_of(app, CANCEL)] == [
        (order["customer"], order["mug"], {"quantity": 2}), (order["customer"], order["teapot"], {"quantity": 1})]
    page = admin_client.get(f"/admin/orders/{order['id']}").get_data(as_text=True)
    assert "3 item(s) back in stock" in page and "Mark shipped" not in page
    assert admin_client.post(f"/admin/orders/{order['id']}/cancel").status_code == 409
    assert product_stock(app, order["mug"]) == 5


def test_refund_per_line_then_everything_left(app, admin_client, order):
    oid = order["id"]
    admin_client.post(f"/admin/orders/{oid}/ship")
    mug_line, teapot_line = line_ids(app, oid)
    page = admin_client.get(f"/admin/orders/{oid}").get_data(as_text=True)
    assert f'name="qty_{mug_line}"' in page and "Refund everything left ($44.98)" in page
    response = admin_client.post(f"/admin/orders/{oid}/refund", data={f"qty_{mug_line}": "1", "restock": "y"})
    assert response.status_code == 302
    assert product_stock(app, order["mug"]) == 4
    assert "refunded 9.99 for 1 × Blue mug" in admin_client.get(f"/admin/orders/{oid}").get_data(as_text=True)
    response = admin_client.post(f"/admin/orders/{oid}/refund-all", data={})  # restock unticked
    assert response.status_code == 302
    status, changes, refunds = order_state(app, oid)
    assert status == "refunded" and [c.amount for c in changes[1:]] == [Decimal("9.99"), Decimal("34.99")]
    assert sum(r.amount for r in refunds) == Decimal("44.98")
    assert (product_stock(app, order["mug"]), product_stock(app, order["teapot"])) == (4, 0)
    assert [(e[2], e[4]["quantity"]) for e in events_of(app, RETURN)] == [
        (order["mug"], 1), (order["mug"], 1), (order["teapot"], 1)]
    page = admin_client.get(f"/admin/orders/{oid}").get_data(as_text=True)
    assert "$44.98" in page and "Refund the chosen units" not in page
    assert admin_client.post(f"/admin/orders/{oid}/refund-all").status_code == 409


@pytest.mark.parametrize("units, message", [
    ("3", "2 of 2 unit(s) are left to refund, not 3"),
    ("-1", "Enter a number of units, 0 or more."),
    ("two", "Not a valid integer value."),
    ("0", "Choose at least one item to refund."),
])
def test_a_refund_form_that_cannot_be_applied_comes_back_with_422_and_changes_nothing(
        app, admin_client, order, units, message):
    oid = order["id"]
    admin_client.post(f"/admin/orders/{oid}/ship")
    mug_line = line_ids(app, oid)[0]
    response = admin_client.post(f"/admin/orders/{oid}/refund", data={f"qty_{mug_line}": units, "restock": "y"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert order_state(app, oid)[2] == [] and product_stock(app, order["mug"]) == 3


def test_a_refund_of_a_paid_order_is_refused(app, admin_client, order):
    mug_line = line_ids(app, order["id"])[0]
    response = admin_client.post(f"/admin/orders/{order['id']}/refund", data={f"qty_{mug_line}": "1"})
    assert response.status_code == 422 and "has not shipped: cancel it instead" in response.get_data(as_text=True)
    assert order_state(app, order["id"]) == ("paid", [], [])


def test_unknown_orders_and_actions_are_404_and_a_get_changes_nothing(app, admin_client, order):
    assert admin_client.get("/admin/orders/999999").status_code == 404
    assert admin_client.post("/admin/orders/999999/cancel").status_code == 404
    assert admin_client.post(f"/admin/orders/{order['id']}/explode").status_code == 404
    assert admin_client.get(f"/admin/orders/{order['id']}/cancel").status_code == 405
    assert admin_client.get(f"/admin/orders/{order['id']}/refund-all").status_code == 405
    assert admin_client.get(f"/admin/orders/{order['id']}?action=cancel&status=cancelled").status_code == 200
    assert order_state(app, order["id"]) == ("paid", [], []) and product_stock(app, order["mug"]) == 3


def test_only_admins_may(app, client, order):
    oid = order["id"]
    for method, url in (("get", "/admin/orders"), ("get", f"/admin/orders/{oid}"), ("post", f"/admin/orders/{oid}/cancel"),
                        ("post", f"/admin/orders/{oid}/refund-all")):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and _location(response) == "/account/login", url
    shopper = browser_client(app)
    login(shopper, "ada@example.com")  # the order's own customer is no admin
    for method, url in (("get", "/admin/orders"), ("get", f"/admin/orders/{oid}"), ("post", f"/admin/orders/{oid}/ship"),
                        ("post", f"/admin/orders/{oid}/cancel")):
        assert getattr(shopper, method)(url).status_code == 403, url
    assert order_state(app, oid) == ("paid", [], [])


def test_every_action_needs_a_csrf_token(app, app_config, order):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    new_customer(strict, "boss@example.com", admin=True)
    client = strict.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = TOKEN_INPUT.search(client.get("/account/login").get_data(as_text=True)).group(1)
    assert client.post("/account/login", data={"email": "boss@example.com", "password": "correct horse battery",
                                                "csrf_token": token}).status_code == 302
    oid = order["id"]
    for url in (f"/admin/orders/{oid}/ship", f"/admin/orders/{oid}/cancel", f"/admin/orders/{oid}/refund-all"):
        assert client.post(url).status_code == 400, url
    assert order_state(strict, oid) == ("paid", [], [])
    token = TOKEN_INPUT.search(client.get(f"/admin/orders/{oid}").get_data(as_text=True)).group(1)
    assert client.post(f"/admin/orders/{oid}/ship", data={"csrf_token": token}).status_code == 302
    assert order_state(strict, oid)[0] == "shipped"
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_list_filters_by_status_date_and_search(app, admin_client):
    product = new_product(app, stock=50)
    march = place_order(app, {product: 1}, placed_at=datetime(2026, 3, 10, 12), email="march@example.com")
    april = place_order(app, {product: 2}, placed_at=datetime(2026, 4, 2, 9), email="april@example.com",
                        status="shipped")

    def listed(query: str = "") -> set[int]:
        response = admin_client.get("/admin/orders" + query)
        assert response.status_code == 200
        return {int(i) for i in re.findall(r'<tr id="order-(\d+)"', response.get_data(as_text=True))}

    assert listed() == {march, april}
    assert listed("?status=shipped") == {april}
    assert listed("?placed_from=2026-03-01&placed_to=2026-03-31") == {march}
    assert listed("?placed_from=2026-04-02&placed_to=2026-04-02") == {april}  # both days included
    assert listed("?q=APRIL%40") == {april}
    page = admin_client.get("/admin/orders?status=paid").get_data(as_text=True)
    assert "paid: 1" in page and "shipped: 1" in page
    # bad input is ignored with its message, never a 500
    for query in ("?status=lost", "?placed_from=yesterday", "?page=x", "?page=-3", "?q=" + "x" * 300):
        assert listed(query) == {march, april}, query
    assert listed("?q=%25_%25") == set()  # wildcards are plain text
    assert "Not a valid date value." in admin_client.get("/admin/orders?placed_from=yesterday").get_data(as_text=True)
    assert listed("?placed_from=2026-04-01&placed_to=2026-03-01") == {april}  # the end is left out
    assert "The end is before the start." in admin_client.get(
        "/admin/orders?placed_from=2026-04-01&placed_to=2026-03-01").get_data(as_text=True)
