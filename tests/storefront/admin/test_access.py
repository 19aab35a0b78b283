"""The admin area (admins only) and the ``flask shop create-admin`` command."""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from tests import factories
from tests.helpers import give_visitor_cookie
from storefront.models import ROLE_ADMIN, Customer, Order, OrderLine
from tests.storefront.support.shop import counts, ctx, login, new_customer, new_product

PASSWORD_LINE = re.compile(r"Password \(shown once, write it down\): (\S+)")


def _customer(app, email: str) -> tuple[str, str] | None:
    with ctx(app) as session:
        found = session.scalar(select(Customer).where(Customer.email == email))
        return (found.role, found.password_hash) if found else None


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"] == ["/admin/"]


def test_customers_get_403(app, client):
    _, email = new_customer(app)
    login(client, email)
    response = client.get("/admin/")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Not allowed" in html
    assert "Revenue" not in html
    assert 'href="/admin/"' not in client.get("/").get_data(as_text=True)  # no admin link either


def test_admins_see_the_overview_numbers(app, client):
    _, admin_email = new_customer(app, "boss@example.com", admin=True)
    customer_id, _ = new_customer(app)
    kept = new_product(app, name="Kept")
    new_product(app, name="Shown")
    new_product(app, name="Retired", active=False)
    with ctx(app) as session:
        session.add(Order(
            reference="REF123ABC", customer_id=customer_id, email="buyer@example.com", name="Buyer",
            address_line="1 Road", city="Town", postcode="12345", country="US", payment_last4="4242",
            total=Decimal("1234.50"),
            lines=[OrderLine(product_id=kept, product_name="Kept", unit_price=Decimal("1234.50"), quantity=1)],
        ))
        session.commit()
    anonymous = app.test_client()
    give_visitor_cookie(anonymous, app)  # a returning browser: its first view is logged at once
    anonymous.get(f"/products/{kept}")  # one view event and its visitor; the admin's login adds another

    login(client, admin_email)
    response = client.get("/admin/")
    html = re.sub(r"\s+", " ", response.get_data(as_text=True))
    assert response.status_code == 200
    assert "<span>Revenue</span><strong>$1,234.50</strong>" in html
    assert "<span>Orders</span><strong>1</strong>" in html
    assert "<span>Customers</span><strong>2</strong>" in html
    assert "<span>Visitors</span><strong>2</strong>" in html
    assert "<span>Products</span><strong>2 <small>of 3 active</small>" in html
    assert "<span>Events</span><strong>1</strong>" in html
    assert "REF123ABC" in html and "buyer@example.com" in html
    assert '<td data-label="Event type">view</td><td data-label="Count">1</td><td data-label="Share">100.0%</td>' in html
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)


def test_admin_overview_of_an_empty_shop(app, client):
    _, admin_email = new_customer(app, admin=True)
    login(client, admin_email)
    response = client.get("/admin/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No events recorded yet." in html and "No orders yet." in html


def test_create_admin_with_a_generated_password(app, runner):
    result = runner.invoke(args=["shop", "create-admin", "Root@Example.com", "--generate-password"])
    assert result.exit_code == 0, result.output
    assert "Admin ready: root@example.com" in result.output
    passwords = PASSWORD_LINE.findall(result.output)
    assert len(passwords) == 1
    password = passwords[0]
    assert len(password) >= 12
    assert result.output.count(password) == 1  # printed once

    role, password_hash = _customer(app, "root@example.com")
    assert role == ROLE_ADMIN and password_hash != password

    client = app.test_client()
    login(client, "root@example.com", password)
    assert client.get("/admin/").status_code == 200
    assert factories.login(app.test_client(), "root@example.com", "wrong-password").status_code == 422


def test_create_admin_if_none_does_nothing_when_an_admin_exists(app, runner):
    new_customer(app, "first-admin@example.com", admin=True)
    before = counts(app)
    result = runner.invoke(args=["shop", "create-admin", "second@example.com", "--generate-password", "--if-none"])
    assert result.exit_code == 0, result.output
    assert "An admin account already exists; not creating another." in result.output
    assert "Password" not in result.output
    assert _customer(app, "second@example.com") is None
    assert counts(app) == before


def test_create_admin_if_none_creates_the_first_admin(app, runner):
    new_customer(app, "plain@example.com")  # a customer is not an admin
    result = runner.invoke(args=["shop", "create-admin", "first@example.com", "--generate-password", "--if-none"])
    assert result.exit_code == 0, result.output
    assert _customer(app, "first@example.com")[0] == ROLE_ADMIN


def test_create_admin_prompts_for_a_password(app, runner):
    result = runner.invoke(args=["shop", "create-admin", "prompted@example.com"], input="secretpass1\nsecretpass1\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "Repeat for confirmation" in result.output
    assert "secretpass1" not in result.output  # hidden input, never echoed
    assert "shown once" not in result.output
    role, password_hash = _customer(app, "prompted@example.com")
    assert role == ROLE_ADMIN and password_hash != "secretpass1"

    client = app.test_client()
    login(client, "prompted@example.com", "secretpass1")
    assert client.get("/admin/").status_code == 200


def test_create_admin_refuses_a_short_prompted_password(app, runner):
    result = runner.invoke(args=["shop", "create-admin", "short@example.com"], input="short\nshort\n")
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output
    assert _customer(app, "short@example.com") is None


def test_create_admin_promotes_an_existing_customer(app, runner):
    customer_id, email = new_customer(app, "promote.me@example.com")
    result = runner.invoke(args=["shop", "create-admin", email, "--generate-password"])
    assert result.exit_code == 0, result.output
    assert "shown once" not in result.output  # the customer keeps their own password
    assert _customer(app, email)[0] == ROLE_ADMIN
    assert counts(app)["customers"] == 1
    client = app.test_client()
    login(client, email)  # factories.PASSWORD still works
    assert client.get("/admin/").status_code == 200


def test_create_admin_refuses_an_unusable_email(app, runner):
    before = counts(app)
    result = runner.invoke(args=["shop", "create-admin", "not-an-email", "--generate-password"])
    assert result.exit_code != 0
    assert "not a usable email address" in result.output
    assert "shown once" not in result.output
    assert counts(app) == before


def test_create_admin_refuses_a_common_prompted_password(app, runner):
    result = runner.invoke(args=["shop", "create-admin", "common@example.com"], input="password1\npassword1\n")
    assert result.exit_code != 0 and "most commonly used" in result.output
    assert _customer(app, "common@example.com") is None
