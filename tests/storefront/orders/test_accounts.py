"""Accounts: registration, login/logout, safe redirects, login-only pages."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from tests import factories
from storefront.models import ROLE_CUSTOMER, Customer
from tests.storefront.support.mail import outbox, register
from tests.storefront.support.shop import counts, ctx, login, new_customer

NEW_PASSWORD = "a-long-secret-42"


def _register(client, email="Linus@Example.com", password=NEW_PASSWORD, confirm=None, name="Linus Pauling", **kwargs):
    """Registration through the emailed link (tests/storefront/account/test_registration.py)."""
    return register(client, email, password, name=name, confirm=confirm, **kwargs)


def _customers(app) -> list[tuple[str, str, str]]:
    with ctx(app) as session:
        return [(c.email, c.password_hash, c.role) for c in session.scalars(select(Customer).order_by(Customer.id))]


def _is_logged_in(client) -> bool:
    response = client.get("/account/orders")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login")
    return False


def test_register_stores_a_hashed_password_and_logs_in(app, client):
    response = _register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    ((email, password_hash, role),) = _customers(app)
    assert email == "linus@example.com"  # stored lower-cased
    assert role == ROLE_CUSTOMER
    assert password_hash != NEW_PASSWORD
    assert NEW_PASSWORD not in password_hash
    assert check_password_hash(password_hash, NEW_PASSWORD)
    assert not check_password_hash(password_hash, NEW_PASSWORD + "x")
    assert "Welcome, Linus Pauling!" in client.get("/").get_data(as_text=True)
    assert _is_logged_in(client)


@pytest.mark.parametrize("second_email", ["linus@example.com", "LINUS@EXAMPLE.COM", "Linus@EXAMPLE.com"])
def test_duplicate_registration_creates_nothing_and_says_nothing(app, second_email):
    assert _register(app.test_client()).status_code == 302
    before = counts(app)
    other = app.test_client()
    with outbox(app) as sent:
        response = other.post("/account/register", data={"email": second_email})
    assert response.status_code == 200  # the answer a new address gets (account/test_registration.py)
    assert "already exists" not in response.get_data(as_text=True)
    assert [message["To"] for message in sent] == ["linus@example.com"]  # the owner hears of it
    assert len(_customers(app)) == 1
    assert counts(app) == before
    assert not _is_logged_in(other)
    assert factories.login(app.test_client(), "linus@example.com", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short", "confirm": "short"}, "Use 8 to 128 characters."),
        ({"confirm": "something-else"}, "The passwords do not match."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"name": ""}, "Enter your name."),
    ],
)
def test_invalid_registration_is_refused(app, client, fields, message):
    data = {"name": "Linus Pauling", "email": "linus@example.com", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    data.update(fields)
    if "email" in fields:  # the first step: the address alone
        response = client.post("/account/register", data={"email": data["email"]})
    else:
        response = _register(client, data["email"], data["password"], confirm=data["confirm"], name=data["name"])
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _customers(app) == []


@pytest.mark.parametrize("case", ["wrong-password", "unknown-email"])
def test_failed_login_says_the_same_thing_either_way(app, client, case):
    _, email = new_customer(app)
    credentials = {
        "wrong-password": (email, "not the password"),
        "unknown-email": ("nobody@example.com", factories.PASSWORD),
    }[case]
    response = factories.login(client, *credentials)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Wrong email or password." in html
    assert "already exists" not in html and "No account" not in html
    assert not _is_logged_in(client)


def test_login_is_case_insensitive_on_the_email(app, client):
    assert _register(app.test_client(), email="Case.Test@Example.com").status_code == 302
    assert factories.login(client, "CASE.TEST@example.COM", NEW_PASSWORD).status_code == 302
    assert _is_logged_in(client)


def test_login_then_logout(app, client):
    _, email = new_customer(app, name="Lena Login")
    assert not _is_logged_in(client)
    response = login(client, email)
    assert response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Welcome back, Lena Login." in home
    assert 'action="/account/logout"' in home
    assert _is_logged_in(client)

    response = client.post("/account/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not _is_logged_in(client)
    assert "Log in" in client.get("/").get_data(as_text=True)


def test_logout_by_get_is_not_allowed(app, client):
    _, email = new_customer(app)
    login(client, email)
    response = client.get("/account/logout")
    assert response.status_code == 405
    assert "Method not allowed" in response.get_data(as_text=True)
    assert _is_logged_in(client)


def test_logged_in_visitors_are_sent_away_from_login_and_register(app, client):
    _, email = new_customer(app)
    login(client, email)
    for url in ("/account/login", "/account/register"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/orders"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_never_leaves_the_site(app, client, target):
    _, email = new_customer(app)
    response = client.post("/account/login", query_string={"next": target},
                           data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location.replace("\\", "/"))
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil.example" not in location or location.startswith("/%5C")  # a harmless local path


def test_next_on_the_site_is_followed(app, client):
    _, email = new_customer(app)
    response = client.post("/account/login?next=/cart", data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/cart"

    newcomer = app.test_client()
    response = _register(newcomer, email="next@example.com", query_string={"next": "/cart"})
    assert response.status_code == 302 and response.headers["Location"] == "/cart"


def test_order_history_requires_login(app, client):
    response = client.get("/account/orders")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"] == ["/account/orders"]
    assert "Please log in to continue." in client.get(response.headers["Location"]).get_data(as_text=True)

    _, email = new_customer(app, name="Hilda History")
    back = client.post(response.headers["Location"], data={"email": email, "password": factories.PASSWORD})
    assert back.headers["Location"] == "/account/orders"
    page = client.get("/account/orders")
    assert page.status_code == 200
    assert "Hilda History" in page.get_data(as_text=True)
    assert "No orders yet." in page.get_data(as_text=True)
    anonymous = app.test_client()
    assert anonymous.get("/account/orders/ABCDEF").status_code == 302


def test_after_logout_the_shared_browser_is_a_new_anonymous_visitor(app, client):
    """A shared computer: the next person is not the customer who logged out. They get a new
    visitor cookie, their views are not stored under the customer, and the home page does not show
    the customer's recommendations."""
    from tests.storefront.support.recommendations import shelves
    from tests.storefront.support.shop import events, new_category, new_product

    category, _ = new_category(app, "Kettles")
    products = [new_product(app, category, name=f"Kettle {i}") for i in range(4)]
    _, email = new_customer(app)
    login(client, email)
    client.get(f"/products/{products[0]}")
    assert "home_for_you" in shelves(client.get("/"))  # the customer has history
    cookie = client.get_cookie(app.config["VISITOR_COOKIE_NAME"]).value

    client.post("/account/logout")
    assert client.get_cookie(app.config["VISITOR_COOKIE_NAME"]).value != cookie
    assert "home_trending" in shelves(client.get("/"))  # nobody's history: not the customer's shelf
    client.get(f"/products/{products[1]}")
    viewed = {e.product_id: e for e in events(app, "view")}
    assert viewed[products[0]].customer_id is not None
    assert viewed[products[1]].customer_id is None  # stored for the new visitor, not the customer
    assert viewed[products[1]].visitor_id != viewed[products[0]].visitor_id


@pytest.mark.parametrize("password", ["password", "12345678", "Password1", "qwertyuiop", "linus@example.com"])
def test_common_passwords_and_the_email_are_refused(app, client, password):
    response = _register(client, email="linus@example.com", password=password)
    assert response.status_code == 422
    assert "most commonly used" in response.get_data(as_text=True)
    assert _customers(app) == []


def test_an_uncommon_long_password_is_accepted(app, client):
    assert _register(client, password="copper kettle on the hob").status_code == 302
