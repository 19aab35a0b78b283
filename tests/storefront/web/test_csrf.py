"""CSRF: every state-changing route refuses a request without a token, and writes nothing.

The routes are enumerated from the URL map, so a new POST route is covered without editing
this file. Each forged request is sent in a state where it *would* change something (a cart to
update, a valid form, valid credentials, a logged-in customer to log out); a control run on the
same requests with CSRF disabled proves that.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests import factories
from tests.helpers import BROWSER_UA
from storefront import create_app
from storefront.extensions import db
from storefront.models import Order
from tests.storefront.support.mail import outbox
from tests.storefront.support.shop import all_cart_lines, checkout_form, counts, ctx, new_category, new_customer, new_product, product_stock

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
KNOWN = {
    "shop.add_to_cart", "shop.update_cart", "shop.remove_from_cart", "shop.checkout_page",
    "account.login", "account.register", "account.logout", "account.forgot_password",
}
VARIABLE = re.compile(r"<(?:(?P<converter>[A-Za-z_]\w*)(?P<args>\([^)]*\))?:)?(?P<name>[A-Za-z_]\w*)>")
TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def strict_app(app, app_config):
    """The app with CSRF protection on, on the same database as ``app``."""
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with strict.app_context():
        db.create_all()
    yield strict
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(app):
    """Real rows to point URLs at: a product, a category, an order, a customer."""
    category_id, slug = new_category(app, "Gadgets")
    product_id = new_product(app, category_id, name="Gizmo", stock=100)
    customer_id, email = new_customer(app, "victim@example.com")
    with ctx(app) as session:
        session.add(Order(
            reference="CSRFREF0001", customer_id=customer_id, email=email, name="Victim", address_line="1 Road",
            city="Town", postcode="1", country="US", payment_last4="4242", total=Decimal("1.00"),
        ))
        session.commit()
    return {"product_id": product_id, "slug": slug, "reference": "CSRFREF0001", "email": email}


def _client(flask_app):
    client = flask_app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    return client


def _token(client, url: str) -> str | None:
    found = TOKEN_INPUT.search(client.get(url).get_data(as_text=True))
    return found.group(1) if found else None


def _with_token(client, url: str, form_url: str, data: dict):
    token = _token(client, form_url)
    return client.post(url, data={**data, **({"csrf_token": token} if token else {})})


def _logged_in(client) -> bool:
    return client.get("/account/orders").status_code == 200


def _unsafe_routes(flask_app, world) -> list[tuple[str, str, str]]:
    """``(endpoint, method, url)`` for every state-changing rule, its variables filled in."""
    routes = []
    for rule in flask_app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in CSRF_EXEMPT:
            continue
        methods = sorted((rule.methods or set()) & UNSAFE)
        if not methods:
            continue

        def fill(match: re.Match) -> str:
            converter, name = match.group("converter") or "default", match.group("name")
            if converter in ("int", "id"):
                return str(world["product_id"])
            if name == "slug":
                return world["slug"]
            if name == "reference":
                return world["reference"]
            if converter == "any":  # <any(ship, deliver, cancel):action>: one of the values it allows
                return match.group("args").strip("()").split(",")[0].strip()
            return "x"

        url = VARIABLE.sub(fill, rule.rule)
        routes.extend((rule.endpoint, method, url) for method in methods)
    return sorted(routes)


# Routes that prove their origin another way (each with its own tests).
CSRF_EXEMPT = {
    # sendBeacon cannot carry a CSRF token: a signed per-view token, usable only with the visitor
    # cookie of the browser that made the view, sets that view's dwell once (test_dwell.py).
    "shop.dwell_beacon",
}


def _payloads(world) -> list[dict[str, str]]:
    common = {"quantity": "2", "remember": "y", **checkout_form()}
    return [
        {**common, "email": "brand.new@example.com", "password": "new-password-1", "confirm": "new-password-1"},
        {**common, "email": world["email"], "password": factories.PASSWORD, "confirm": factories.PASSWORD},
    ]


def _prepare(flask_app, world, identity: str):
    """A fresh browser (logged in as the customer or anonymous) with the product in its cart."""
    client = _client(flask_app)
    if identity == "customer":
        response = _with_token(client, "/account/login", "/account/login",
                               {"email": world["email"], "password": factories.PASSWORD})
        assert response.status_code == 302
    product_id = world["product_id"]
    if f"/cart/remove/{product_id}" not in client.get("/cart").get_data(as_text=True):
        response = _with_token(client, f"/cart/add/{product_id}", f"/products/{product_id}", {"quantity": "1"})
        assert response.status_code == 302
    return client


def _state(flask_app, client, world):
    return (counts(flask_app), all_cart_lines(flask_app), product_stock(flask_app, world["product_id"]),
            _logged_in(client))


def _attempts(flask_app, world):
    """Every unsafe route x method x identity x payload: (endpoint, method, url, response, changed)."""
    for endpoint, method, url in _unsafe_routes(flask_app, world):
        for identity in ("anonymous", "customer"):
            for payload in _payloads(world):
                client = _prepare(flask_app, world, identity)
                before = _state(flask_app, client, world)
                with outbox(flask_app) as sent:  # registering and asking for a reset send mail
                    response = client.open(url, method=method, data=payload)
                changed = _state(flask_app, client, world) != before or bool(sent)
                yield endpoint, method, url, identity, response, changed


def test_every_unsafe_route_refuses_a_missing_token(strict_app, world):
    found = {endpoint for endpoint, _, _ in _unsafe_routes(strict_app, world)}
    assert KNOWN <= found, f"enumeration missed {KNOWN - found}"

    tried = 0
    for endpoint, method, url, identity, response, changed in _attempts(strict_app, world):
        where = f"{method} {url} as {identity}"
        assert response.status_code == 400, where
        html = response.get_data(as_text=True)
        assert "Your form expired or was sent from elsewhere." in html, where
        assert 'class="site-header"' in html, where
        assert not changed, f"{where} changed the database or the login state"
        tried += 1
    assert tried >= 4 * len(KNOWN)


def test_control_the_same_requests_do_change_things_without_csrf(app, world):
    """Without CSRF protection the forged requests above would all have had an effect."""
    effective = {endpoint for endpoint, _, _, _, _, changed in _attempts(app, world) if changed}
    assert KNOWN <= effective, f"these forged requests would not have changed anything: {KNOWN - effective}"


def test_product_page_form_carries_a_working_token(strict_app, world):
    product_id = world["product_id"]
    client = _client(strict_app)
    page = client.get(f"/products/{product_id}").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/cart/add/{product_id}".*?</form>', page, flags=re.S)
    assert form is not None
    token = TOKEN_INPUT.search(form.group(0))
    assert token is not None and 'type="hidden"' in token.group(0)

    # The token belongs to this browser's session: replayed from another browser it fails.
    stranger = _client(strict_app)
    stolen = stranger.post(f"/cart/add/{product_id}", data={"quantity": "1", "csrf_token": token.group(1)})
    assert stolen.status_code == 400
    assert counts(strict_app)["cart_items"] == 0

    response = client.post(f"/cart/add/{product_id}", data={"quantity": "1", "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/cart"
    assert [(product, quantity) for _, _, product, quantity in all_cart_lines(strict_app)] == [(product_id, 1)]

    # And the cart page's forms carry tokens that work too.
    assert _with_token(client, f"/cart/remove/{product_id}", "/cart", {}).status_code == 302
    assert all_cart_lines(strict_app) == []


def _add_form_fields(page: str, product_id: int) -> tuple[dict[str, dict], list[str]]:
    """The add-to-cart form's inputs (by name: their attributes) and its labels."""
    from html.parser import HTMLParser

    form = re.search(rf'<form method="post" action="/cart/add/{product_id}".*?</form>', page, flags=re.S)
    assert form is not None
    inputs: dict[str, dict] = {}
    labels: list[str] = []

    class Fields(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "input":
                inputs[dict(attrs)["name"]] = dict(attrs)
            elif tag == "label":
                labels.append(dict(attrs).get("for"))

    Fields().feed(form.group(0))
    return inputs, labels


def test_an_untouched_add_to_cart_form_is_the_one_wtforms_renders(strict_app, world):
    # every product page writes the untouched form from a copy kept per process; a refused
    # post renders it through WTForms with its error: apart from the value and the error's
    # mark, they are the same form
    product_id = world["product_id"]
    client = _client(strict_app)
    fresh, fresh_labels = _add_form_fields(client.get(f"/products/{product_id}").get_data(as_text=True), product_id)
    refused = client.post(f"/cart/add/{product_id}", data={"quantity": "0", "csrf_token": fresh["csrf_token"]["value"]})
    assert refused.status_code == 422
    failed, failed_labels = _add_form_fields(refused.get_data(as_text=True), product_id)
    assert fresh_labels == failed_labels == ["quantity"]
    assert set(fresh) == set(failed) == {"csrf_token", "quantity"}
    assert {k: v for k, v in fresh["csrf_token"].items() if k != "value"} == \
        {k: v for k, v in failed["csrf_token"].items() if k != "value"}
    assert fresh["quantity"] == {**{k: v for k, v in failed["quantity"].items() if k != "aria-invalid"}, "value": "1"}
    assert failed["quantity"]["aria-invalid"] == "true" and failed["quantity"]["value"] == "0"
