"""One input guard for every body: control characters, NUL and lone surrogates are a 400 whatever
the content type, a ``next`` with CR/LF is never followed, and an oversized body is a clean 413.
Each of these was a 500 (PostgreSQL DataError, SQLite UnicodeEncodeError) or an account committed
before the crash."""
from __future__ import annotations

import pytest

from storefront.models import Customer, Lead, Order
from tests.storefront.support.mail import register
from tests.storefront.support.shop import add_to_cart, checkout_form, ctx, new_product

HOSTILE = ["Nul\x00Name", "lone \ud800 surrogate", "ansi \x1b[31m red", "bell\x07", "del\x7f"]


def _count(app, model) -> int:
    with ctx(app) as session:
        return session.query(model).count()


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_registration_refuses_hostile_json_and_creates_nothing(app, client, value):
    response = client.post("/account/register", json={
        "name": value, "email": "x@example.com", "password": "a long pass phrase", "confirm": "a long pass phrase"})
    assert response.status_code == 400
    assert "invalid character" in response.get_data(as_text=True)
    assert _count(app, Customer) == 0


@pytest.mark.parametrize("value", [v for v in HOSTILE if "\ud800" not in v], ids=repr)
def test_checkout_refuses_hostile_form_fields(app, client, value):
    product_id = new_product(app, stock=5)
    add_to_cart(client, product_id, 1)
    assert client.post("/checkout", data=checkout_form(city=value)).status_code == 400
    assert client.post("/checkout", json=checkout_form(name=value)).status_code == 400
    assert _count(app, Order) == 0


def test_a_resource_form_with_a_lone_surrogate_is_refused(app, client):
    from tests.storefront.support.resources import new_asset, new_units

    new_units(app, "a")
    asset_id = new_asset(app, units=["a"])
    response = client.post(f"/resources/{asset_id}", json={
        "name": "Ada", "email": "ada@example.com", "company": "Ana\udc00lytical", "consent": True})
    assert response.status_code == 400 and _count(app, Lead) == 0


def test_newlines_and_tabs_are_ordinary_text(app, client):
    product_id = new_product(app, stock=5)
    add_to_cart(client, product_id, 1)
    response = client.post("/checkout", data=checkout_form(address_line="Flat 2\r\n1 Main\tStreet"))
    assert response.status_code == 302 and _count(app, Order) == 1


@pytest.mark.parametrize("target", ["/%0d%0aSet-Cookie:%20x=1", "/ok%0aLocation:%20//evil.example", "/\\evil.example"])
def test_a_next_with_cr_lf_or_a_backslash_is_not_followed(app, client, target):
    response = register(client, "ada@example.com", "a long pass phrase", name="Ada",
                        url=f"/account/register?next={target}")  # through the emailed link, which drops it
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "x=1" not in response.headers.get("Set-Cookie", "")
    assert _count(app, Customer) == 1


def test_an_oversized_body_is_a_clean_413(app, client):
    response = client.post("/account/login", data={"email": "a@example.com", "password": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "Request too large" in response.get_data(as_text=True)
    api = client.post("/api/v1/recommendations/user", json={"pad": "x" * (2 * 1024 * 1024)},
                      headers={"Accept": "application/json"})
    assert api.status_code == 413 and api.get_json()["error"] == "Request too large"  # JSON under /api/


def test_a_query_string_with_a_control_character_is_a_400(client):
    assert client.get("/search?q=mug%01").status_code == 400
    assert client.get("/search?q=mug").status_code == 200
