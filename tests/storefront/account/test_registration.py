"""Registration does not tell whether an address has an account: the address alone first, one
answer and one message either way, and the account is created behind the emailed link."""
from __future__ import annotations

import re
import time

import itsdangerous.timed
import pytest
from sqlalchemy import func, select

from storefront.models import Customer
from tests import factories
from tests.storefront.support.mail import link_to, links_in, local, outbox, register
from tests.storefront.support.shop import ctx, new_customer

PASSWORD = "a-long-secret-42"
CONFIRM = "/account/register/"


def _customers(app) -> int:
    with ctx(app) as session:
        return session.scalar(select(func.count()).select_from(Customer))


def _start(app, client, email: str, **kwargs):
    with outbox(app) as sent:
        response = client.post("/account/register", data={"email": email}, **kwargs)
    assert len(sent) == 1
    return response, sent[0]


def _logged_in(client) -> bool:
    return client.get("/account/orders").status_code == 200


def _page(response, email: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*>', "", response.get_data(as_text=True).replace(email, "EMAIL"))


def test_a_taken_and_a_new_address_get_the_same_answer(app):
    _, taken = new_customer(app, "taken@example.com", name="Tess Taken")
    before = _customers(app)
    new_answer, to_new = _start(app, app.test_client(), "fresh@example.com")
    taken_client = app.test_client()
    taken_answer, to_owner = _start(app, taken_client, "Taken@Example.com")

    assert new_answer.status_code == taken_answer.status_code == 200
    assert _page(new_answer, "fresh@example.com") == _page(taken_answer, "Taken@Example.com")
    assert "Check your inbox" in new_answer.get_data(as_text=True)
    assert "already exists" not in taken_answer.get_data(as_text=True)
    assert _customers(app) == before  # nothing is created before the link is opened
    assert not _logged_in(taken_client)
    # The new address gets a link to finish; the owner of the taken one a note, and no such link.
    assert link_to(to_new, CONFIRM)
    assert to_owner["To"] == taken and "already has one" in to_owner.get_content()
    owner_links = links_in(to_owner)
    assert "http://localhost/account/login" in owner_links
    assert "http://localhost/account/password/forgot" in owner_links
    assert not [url for url in owner_links if CONFIRM in url]
    assert factories.login(app.test_client(), taken).status_code == 302  # the account is untouched


def test_the_link_creates_the_account_and_logs_in(app, client):
    _, message = _start(app, client, "New.Person@Example.com")
    assert message["To"] == "new.person@example.com"
    page = client.get(local(link_to(message, CONFIRM)))
    assert page.status_code == 200 and "new.person@example.com" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    done = client.post(local(link_to(message, CONFIRM)),
                       data={"name": "New Person", "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert "Welcome, New Person!" in client.get("/").get_data(as_text=True)
    assert _logged_in(client)
    with ctx(app) as session:
        (customer,) = session.scalars(select(Customer)).all()
        assert (customer.email, customer.name) == ("new.person@example.com", "New Person")


def test_a_confirmation_link_works_once(app):
    _, message = _start(app, app.test_client(), "once@example.com")
    link = local(link_to(message, CONFIRM))
    form = {"name": "Once", "password": PASSWORD, "confirm": PASSWORD}
    assert app.test_client().post(link, data=form).status_code == 302
    again = app.test_client().post(link, data={**form, "password": "another-secret-7", "confirm": "another-secret-7"})
    html = again.get_data(as_text=True)
    assert again.status_code == 400 and "already been used" in html and 'href="/account/register"' in html
    assert _customers(app) == 1
    assert factories.login(app.test_client(), "once@example.com", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short", "confirm": "short"}, "Use 8 to 128 characters."),
        ({"confirm": "something-else"}, "The passwords do not match."),
        ({"password": "password123", "confirm": "password123"}, "most commonly used"),
        ({"password": "policy@example.com", "confirm": "policy@example.com"}, "most commonly used"),
        ({"name": ""}, "Enter your name."),
    ],
)
def test_the_finishing_form_applies_the_password_policy(app, client, fields, message):
    _, sent = _start(app, client, "policy@example.com")
    data = {"name": "Pat Policy", "password": PASSWORD, "confirm": PASSWORD, **fields}
    response = client.post(local(link_to(sent, CONFIRM)), data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _customers(app) == 0 and not _logged_in(client)


def test_an_invalid_address_is_refused_before_anything_is_sent(app, client):
    with outbox(app) as sent:
        response = client.post("/account/register", data={"email": "not-an-email"})
    assert response.status_code == 422 and "Enter a valid email address." in response.get_data(as_text=True)
    assert sent == []


@pytest.mark.parametrize("token", ["x", "a" * 600, "ImFAYi5jIg.ZmFrZQ.c2ln"])
def test_broken_links_are_a_clear_400(app, client, token):
    for response in (client.get(CONFIRM + token), client.post(CONFIRM + token, data={"name": "X", "password": PASSWORD,
                                                                                     "confirm": PASSWORD})):
        assert response.status_code == 400 and 'href="/account/register"' in response.get_data(as_text=True)
    assert _customers(app) == 0


def test_an_expired_link_is_refused(app, monkeypatch):
    days_ago = time.time() - 2 * 86400  # the default lifetime is one day
    monkeypatch.setattr(itsdangerous.timed, "time", type("Clock", (), {"time": staticmethod(lambda: days_ago)}))
    _, message = _start(app, app.test_client(), "late@example.com")
    monkeypatch.undo()
    response = app.test_client().get(local(link_to(message, CONFIRM)))
    assert response.status_code == 400 and "This link has expired." in response.get_data(as_text=True)


def test_the_link_keeps_a_safe_next(app, client):
    response = register(client, "next@example.com", PASSWORD, query_string={"next": "/cart"})
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    elsewhere = register(app.test_client(), "evil@example.com", PASSWORD,
                         query_string={"next": "https://evil.example/"})
    assert elsewhere.headers["Location"] == "/"
