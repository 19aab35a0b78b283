"""Password reset: one answer whatever the address, a signed link that expires and works once,
the password policy, every session and remember-me token ended, a new session for the customer."""
from __future__ import annotations

import logging
import re
import time

import itsdangerous.timed
import pytest
from sqlalchemy import select

from storefront import create_app
from storefront.extensions import db
from storefront.models import RememberToken
from tests import factories
from tests.helpers import BROWSER_UA
from tests.storefront.support.mail import link_to, links_in, local, outbox
from tests.storefront.support.shop import ctx, login, new_customer

FORGOT = "/account/password/forgot"
RESET = "/account/password/reset/"
NEW_PASSWORD = "a brand new secret 42"
SAME_ANSWER = "If an account exists for that address, we have sent a link to reset its password"


def _ask(app, client, email: str):
    """Ask for a reset of ``email``; the response and the one message it sent."""
    with outbox(app) as sent:
        response = client.post(FORGOT, data={"email": email})
    assert len(sent) == 1, [m["Subject"] for m in sent]
    return response, sent[0]


def _reset_link(app, email: str) -> str:
    _, message = _ask(app, app.test_client(), email)
    return local(link_to(message, RESET))


def _logged_in(client) -> bool:
    return client.get("/account/orders").status_code == 200


def _without(html: str, *texts: str) -> str:
    for text in texts:
        html = html.replace(text, "")
    return re.sub(r'name="csrf_token"[^>]*>', "", html)


def test_the_login_page_links_to_the_forgotten_password_form(client):
    html = client.get("/account/login").get_data(as_text=True)
    assert f'href="{FORGOT}"' in html and "Forgot your password?" in html
    assert client.get(FORGOT).status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, client):
    _, email = new_customer(app, "known@example.com")
    known, to_known = _ask(app, client, email)
    unknown, to_unknown = _ask(app, client, "unknown@example.com")
    assert known.status_code == unknown.status_code == 200
    assert SAME_ANSWER in known.get_data(as_text=True)
    assert (_without(known.get_data(as_text=True), email)
            == _without(unknown.get_data(as_text=True), "unknown@example.com"))
    # Each typed address gets one message; only the account's holds a reset link.
    assert (to_known["To"], to_unknown["To"]) == (email, "unknown@example.com")
    assert [url for url in links_in(to_known) if RESET in url]
    assert not [url for url in links_in(to_unknown) if RESET in url]
    assert "no account" in to_unknown.get_content()


def test_the_link_from_the_log_resets_the_password_and_ends_every_session(app, caplog):
    logging.getLogger("storefront.mail").disabled = False  # see test_hardening
    caplog.set_level(logging.INFO, logger="storefront.mail")
    customer_id, email = new_customer(app, name="Rita Reset")
    phone = app.test_client()
    phone.post("/account/login", data={"email": email, "password": factories.PASSWORD, "remember": "y"})
    assert _logged_in(phone)

    browser = app.test_client()
    assert browser.post(FORGOT, data={"email": email}).status_code == 200
    (link,) = re.findall(r"http://localhost/account/password/reset/\S+", caplog.text)  # MAIL_SERVER unset
    page = browser.get(local(link))
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"  # the URL is a credential

    mismatch = browser.post(local(link), data={"password": NEW_PASSWORD, "confirm": "something else"})
    assert mismatch.status_code == 422 and "The passwords do not match." in mismatch.get_data(as_text=True)
    common = browser.post(local(link), data={"password": "password123", "confirm": "password123"})
    assert common.status_code == 422 and "most commonly used" in common.get_data(as_text=True)

    done = browser.post(local(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert _logged_in(browser)  # in a new session
    assert not _logged_in(phone)  # every other session ended
    with ctx(app) as session:
        assert session.scalars(select(RememberToken).where(RememberToken.customer_id == customer_id)).all() == []
    assert login(app.test_client(), email, NEW_PASSWORD).status_code == 302
    assert factories.login(app.test_client(), email, factories.PASSWORD).status_code == 422

    again = app.test_client().get(local(link))  # single use: the password it was made for is gone
    html = again.get_data(as_text=True)
    assert again.status_code == 400 and "already been used" in html and f'href="{FORGOT}"' in html


def test_an_expired_link_is_refused_with_a_way_to_ask_again(app, monkeypatch):
    _, email = new_customer(app)
    hours_ago = time.time() - 2 * 3600  # the default lifetime is one hour
    monkeypatch.setattr(itsdangerous.timed, "time", type("Clock", (), {"time": staticmethod(lambda: hours_ago)}))
    link = _reset_link(app, email)
    monkeypatch.undo()
    response = app.test_client().post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "This link has expired." in html and f'href="{FORGOT}"' in html
    assert login(app.test_client(), email, factories.PASSWORD).status_code == 302  # unchanged


def test_the_lifetime_is_configurable(app_config, app):
    short = create_app({**app_config, "PASSWORD_RESET_MAX_AGE_SECONDS": 1})
    _, email = new_customer(short)
    link = _reset_link(short, email)
    assert short.test_client().get(link).status_code == 200
    time.sleep(2.1)
    assert short.test_client().get(link).status_code == 400
    with short.app_context():
        db.engine.dispose()


def test_a_link_dies_once_the_password_changes_another_way(app):
    _, email = new_customer(app)
    first, second = _reset_link(app, email), _reset_link(app, email)
    client = app.test_client()
    assert client.post(first, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert client.get(second).status_code == 400  # made for the old password


@pytest.mark.parametrize("token", [
    "x", "not.a.token", "a" * 600,
    "WzEsImFiYyJd.ZmFrZQ.c2lnbmF0dXJl",  # the shape of a token, signed by nobody
])
def test_garbage_links_are_a_clear_400(app, client, token):
    response = client.get(RESET + token)
    assert response.status_code == 400
    assert f'href="{FORGOT}"' in response.get_data(as_text=True)
    assert client.post(RESET + token, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400


def test_a_tampered_link_or_another_kind_of_token_is_refused(app):
    from storefront.orders import account_links

    _, email = new_customer(app)
    link = _reset_link(app, email)
    token = link.rsplit("/", 1)[1]
    with app.test_request_context():
        registration = account_links.registration_token(email)  # signed by the shop, another salt
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (forged, registration, token.replace(".", "", 1)):
        assert app.test_client().get(RESET + bad).status_code == 400, bad


def test_an_invalid_address_is_refused_by_the_form(app, client):
    with outbox(app) as sent:
        response = client.post(FORGOT, data={"email": "not an address"})
    assert response.status_code == 422 and "Enter a valid email address." in response.get_data(as_text=True)
    assert sent == []


def test_requests_are_rate_limited_per_address_and_email(app_config, app):
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True})
    _, email = new_customer(limited)
    client = limited.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": BROWSER_UA, "REMOTE_ADDR": "192.0.2.44"})
    with outbox(limited) as sent:
        statuses = [client.post(FORGOT, data={"email": email}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert len(sent) == 5
    html = client.post(FORGOT, data={"email": email}).get_data(as_text=True)
    assert "Too many password reset attempts" in html
    with limited.app_context():
        db.engine.dispose()


def test_a_forged_host_header_gets_no_link_when_the_hosts_are_listed(app_config, app):
    pinned = create_app({**app_config, "TRUSTED_HOSTS": ["shop.example.com"]})
    _, email = new_customer(pinned)
    client = pinned.test_client()
    with outbox(pinned) as sent:
        forged = client.post(FORGOT, data={"email": email}, headers={"Host": "evil.example"})
        genuine = client.post(FORGOT, data={"email": email}, headers={"Host": "shop.example.com"})
    assert (forged.status_code, genuine.status_code) == (400, 200)
    assert "not trusted" in forged.get_data(as_text=True)
    (message,) = sent
    assert link_to(message, RESET).startswith("http://shop.example.com/account/password/reset/")
    with pinned.app_context():
        db.engine.dispose()
