"""The account's own settings (name, email, password, saved address) and guest orders that
attach once the address is proven."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from storefront.models import Customer, Order, SavedAddress
from tests import factories
from tests.storefront.support.mail import link_to, local, outbox, register
from tests.storefront.support.shop import ctx, login, new_customer

SETTINGS = "/account/settings"


def _guest_order(app, email: str, reference: str) -> None:
    with ctx(app) as session:
        session.add(Order(reference=reference, email=email, name="Ada", address_line="1 Loop", city="Leeds",
                          postcode="LS1", country="UK", total=Decimal("12.00")))
        session.commit()


def _owner(app, reference: str) -> int | None:
    with ctx(app) as session:
        return session.scalar(select(Order.customer_id).where(Order.reference == reference))


def test_registering_through_the_link_attaches_the_guest_orders_of_that_address(app, client):
    _guest_order(app, "Ada@Example.com", "GUEST1")  # typed with capitals at checkout
    _guest_order(app, "ada@example.com", "GUEST2")
    _guest_order(app, "someone@example.com", "OTHER")
    response = register(client, "ada@example.com", "correct horse battery")
    assert response.status_code == 302
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 200
    with ctx(app) as session:
        customer = session.scalar(select(Customer).where(Customer.email == "ada@example.com"))
    assert _owner(app, "GUEST1") == _owner(app, "GUEST2") == customer.id
    assert _owner(app, "OTHER") is None
    orders = client.get("/account/orders").get_data(as_text=True)
    assert "GUEST1" in orders and "GUEST2" in orders and "OTHER" not in orders


def test_a_password_reset_proves_the_address_too(app, client):
    customer_id, email = new_customer(app, "grace@example.com")
    _guest_order(app, "grace@example.com", "LATER")  # ordered as a guest, logged out
    with outbox(app) as sent:
        client.post("/account/password/forgot", data={"email": email})
    link = local(link_to(sent[0], "/account/password/reset/"))
    response = client.post(link, data={"password": "a brand new secret 42", "confirm": "a brand new secret 42"},
                           follow_redirects=True)
    assert "earlier order placed with this address is now in your account" in response.get_data(as_text=True)
    assert _owner(app, "LATER") == customer_id


def test_settings_need_a_login_and_only_post_changes_anything(app, client):
    assert client.get(SETTINGS).status_code == 302
    assert client.post(f"{SETTINGS}/name", data={"name-name": "Mallory"}).status_code == 302  # to the login
    _, email = new_customer(app, "ada@example.com")
    login(client, email)
    assert client.get(SETTINGS).status_code == 200
    assert client.get(f"{SETTINGS}/name").status_code == 405
    assert client.post(f"{SETTINGS}/nope", data={}).status_code == 404


def test_change_the_name_and_save_an_address(app, client):
    customer_id, email = new_customer(app, "ada@example.com")
    login(client, email)
    assert client.post(f"{SETTINGS}/name", data={"name-name": "Ada King"}).status_code == 302
    bad = client.post(f"{SETTINGS}/address", data={"address-name": "Ada", "address-city": "Leeds"})
    assert bad.status_code == 422 and "Enter the street address." in bad.get_data(as_text=True)
    saved = {"address-name": "Ada King", "address-address_line": "12 Loop Road", "address-city": "Leeds",
             "address-postcode": "LS1 4AB", "address-country": "United Kingdom"}
    assert client.post(f"{SETTINGS}/address", data=saved).status_code == 302
    with ctx(app) as session:
        assert session.get(Customer, customer_id).name == "Ada King"
        address = session.scalar(select(SavedAddress).where(SavedAddress.customer_id == customer_id))
        assert (address.address_line, address.postcode) == ("12 Loop Road", "LS1 4AB")
    page = client.get(SETTINGS).get_data(as_text=True)
    assert 'value="12 Loop Road"' in page and 'autocomplete="shipping postal-code"' in page
    again = {**saved, "address-address_line": "3 New Street"}
    assert client.post(f"{SETTINGS}/address", data=again).status_code == 302  # replaced, not a second one
    with ctx(app) as session:
        rows = session.scalars(select(SavedAddress).where(SavedAddress.customer_id == customer_id)).all()
        assert [r.address_line for r in rows] == ["3 New Street"]


def test_change_the_email_with_the_current_password(app, client):
    customer_id, email = new_customer(app, "ada@example.com")
    new_customer(app, "taken@example.com")
    login(client, email)
    wrong = client.post(f"{SETTINGS}/email", data={"email-email": "new@example.com", "email-current_password": "nope"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    taken = client.post(f"{SETTINGS}/email", data={"email-email": "Taken@example.com",
                                                  "email-current_password": factories.PASSWORD})
    assert taken.status_code == 422 and "Another account uses that address." in taken.get_data(as_text=True)
    with outbox(app) as sent:
        done = client.post(f"{SETTINGS}/email", data={"email-email": "New@Example.com",
                                                     "email-current_password": factories.PASSWORD})
    assert done.status_code == 302
    assert [m["To"] for m in sent] == ["ada@example.com"]  # the old address is told
    with ctx(app) as session:
        assert session.get(Customer, customer_id).email == "new@example.com"


def test_change_the_password_ends_the_other_sessions_but_not_this_one(app, client):
    _, email = new_customer(app, "ada@example.com")
    login(client, email)
    other = app.test_client()
    login(other, email)
    weak = client.post(f"{SETTINGS}/password", data={"password-current_password": factories.PASSWORD,
                                                     "password-password": "short", "password-confirm": "short"})
    assert weak.status_code == 422
    wrong = client.post(f"{SETTINGS}/password", data={"password-current_password": "nope",
                                                      "password-password": "a brand new secret 42",
                                                      "password-confirm": "a brand new secret 42"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    done = client.post(f"{SETTINGS}/password", data={"password-current_password": factories.PASSWORD,
                                                     "password-password": "a brand new secret 42",
                                                     "password-confirm": "a brand new secret 42"})
    assert done.status_code == 302
    assert client.get("/account/orders").status_code == 200  # still logged in here
    assert other.get("/account/orders").status_code == 302  # logged out elsewhere
    fresh = app.test_client()
    assert login(fresh, email, "a brand new secret 42").status_code == 302


def test_checkout_fills_in_the_saved_address(app, client):
    from tests.storefront.support.shop import add_to_cart, new_category, new_product

    category_id, _ = new_category(app, "Kettles")
    product_id = new_product(app, category_id, name="Kettle")
    _, email = new_customer(app, "ada@example.com")
    login(client, email)
    add_to_cart(client, product_id)
    assert 'value="12 Loop Road"' not in client.get("/checkout").get_data(as_text=True)
    client.post(f"{SETTINGS}/address", data={
        "address-name": "Ada King", "address-address_line": "12 Loop Road", "address-city": "Leeds",
        "address-postcode": "LS1 4AB", "address-country": "United Kingdom"})
    page = client.get("/checkout").get_data(as_text=True)
    for value in ("Ada King", "12 Loop Road", "Leeds", "LS1 4AB", "United Kingdom", "ada@example.com"):
        assert f'value="{value}"' in page, value
