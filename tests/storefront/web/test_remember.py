""""Keep me logged in": a random selector:validator cookie, stored hashed, rotated on every use,
revoked by logout and ``flask shop revoke-sessions``; a replayed old validator is a theft that
logs the customer out everywhere. Flask-Login's own remember cookie is neither issued nor honoured."""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import select, update

from storefront import create_app
from storefront.extensions import db
from storefront.models import Customer, RememberToken
from storefront.models.common import utcnow
from storefront.orders.remember_tokens import ROTATION_GRACE_SECONDS
from tests import factories
from tests.storefront.support.shop import ctx, new_customer

COOKIE = re.compile(r"^[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{43}$")


def _name(app) -> str:
    return app.config["REMEMBER_ME_COOKIE_NAME"]


def _login(app, email: str, remember: bool = True):
    client = app.test_client()
    data = {"email": email, "password": factories.PASSWORD, **({"remember": "y"} if remember else {})}
    response = client.post("/account/login", data=data)
    assert response.status_code == 302
    return client, response


def _set_cookie_header(response, name: str) -> str | None:
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    return found[-1] if found else None


def _cookie_alone(app, value: str, name: str | None = None):
    """A browser holding nothing but this remember-me cookie (no session)."""
    client = app.test_client()
    client.set_cookie(name or _name(app), value)
    return client


def _tokens(app, customer_id: int | None = None) -> list[RememberToken]:
    with ctx(app) as session:
        query = select(RememberToken).order_by(RememberToken.id)
        if customer_id is not None:
            query = query.where(RememberToken.customer_id == customer_id)
        tokens = list(session.scalars(query))
        session.expunge_all()
        return tokens


def _age(app, *, used_seconds_ago: int = 0, expires_in: timedelta | None = None) -> None:
    """Move every token's clock: its last use into the past, or its expiry."""
    with ctx(app) as session:
        for token in session.scalars(select(RememberToken)):
            token.last_used_at = utcnow() - timedelta(seconds=used_seconds_ago)
            if expires_in is not None:
                token.expires_at = utcnow() + expires_in
        session.commit()


def _logged_in(client) -> bool:
    return client.get("/account/orders").status_code == 200


def test_remember_me_sets_a_random_cookie_stored_only_hashed(app):
    customer_id, email = new_customer(app)
    client, response = _login(app, email)
    header = _set_cookie_header(response, _name(app))
    value = client.get_cookie(_name(app)).value
    assert COOKIE.match(value), value
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=2592000" in header  # 30 days
    assert "Secure" not in header  # the testing config; production sets REMEMBER_COOKIE_SECURE
    assert client.get_cookie("remember_token") is None  # never Flask-Login's own cookie

    selector, validator = value.split(":")
    (token,) = _tokens(app)
    assert (token.customer_id, token.selector) == (customer_id, selector)
    assert token.validator_hash == hashlib.sha256(validator.encode()).hexdigest()
    assert validator not in (token.validator_hash, token.selector)
    assert timedelta(days=29, hours=23) < token.expires_at - token.created_at <= timedelta(days=30)


def test_without_the_box_nothing_is_remembered(app):
    _, email = new_customer(app)
    _, response = _login(app, email, remember=False)
    assert _set_cookie_header(response, _name(app)) is None and _tokens(app) == []


def test_the_cookie_alone_logs_in_in_a_new_session_and_is_rotated(app):
    customer_id, email = new_customer(app)
    owner, _ = _login(app, email)
    first = owner.get_cookie(_name(app)).value
    browser = _cookie_alone(app, first)
    with browser.session_transaction() as session:
        session["planted"] = "before the login"

    response = browser.get("/account/orders")
    assert response.status_code == 200
    rotated = browser.get_cookie(_name(app)).value
    assert rotated != first and rotated.split(":")[0] == first.split(":")[0]  # same selector, new validator
    assert "HttpOnly" in _set_cookie_header(response, _name(app))
    (token,) = _tokens(app)
    assert token.validator_hash == hashlib.sha256(rotated.split(":")[1].encode()).hexdigest()
    with browser.session_transaction() as session:
        assert "planted" not in session and session["_user_id"].startswith(f"{customer_id}:")
    assert _logged_in(browser)  # from the session now


def test_rotation_keeps_the_original_expiry(app):
    _, email = new_customer(app)
    owner, _ = _login(app, email)
    _age(app, expires_in=timedelta(hours=2))
    response = _cookie_alone(app, owner.get_cookie(_name(app)).value).get("/account/orders")
    max_age = int(re.search(r"Max-Age=(\d+)", _set_cookie_header(response, _name(app))).group(1))
    assert 7000 < max_age <= 7200  # what was left, not another 30 days


def test_a_replayed_old_validator_is_a_theft_that_ends_every_session(app, caplog):
    logging.getLogger("storefront.orders.remember_tokens").disabled = False  # see test_hardening
    customer_id, email = new_customer(app)
    owner, _ = _login(app, email)
    laptop, _ = _login(app, email)  # another remembered device
    stolen = owner.get_cookie(_name(app)).value
    assert _logged_in(_cookie_alone(app, stolen))  # the thief uses it first: rotated
    _age(app, used_seconds_ago=ROTATION_GRACE_SECONDS + 5)

    owner_alone = _cookie_alone(app, stolen)  # the owner comes back with the old validator
    response = owner_alone.get("/account/orders")
    assert response.status_code == 302
    assert owner_alone.get_cookie(_name(app)) is None  # deleted
    assert _tokens(app, customer_id) == []  # every device's token
    assert not _logged_in(laptop)  # and every session, the thief's included
    assert "possible cookie theft" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records if r.name.endswith("remember_tokens"))


def test_a_stale_validator_just_after_a_rotation_is_a_race_not_a_theft(app):
    """Two tabs restored at once send the same cookie: the second sees a validator the first just
    replaced. It stays anonymous and keeps its cookie; nobody is logged out."""
    _, email = new_customer(app)
    owner, _ = _login(app, email)
    value = owner.get_cookie(_name(app)).value
    first_tab = _cookie_alone(app, value)
    assert _logged_in(first_tab)
    second_tab = _cookie_alone(app, value)
    response = second_tab.get("/account/orders")
    assert response.status_code == 302
    assert _set_cookie_header(response, _name(app)) is None
    assert len(_tokens(app)) == 1 and _logged_in(first_tab) and _logged_in(owner)


def test_two_requests_reading_the_same_validator_rotate_it_once(app, monkeypatch):
    """Of two simultaneous requests with one cookie, the one whose rotation comes second loses
    the compare-and-swap: it stays anonymous, keeps its cookie, and nobody is logged out."""
    from storefront.orders import remember_tokens

    _, email = new_customer(app)
    owner, _ = _login(app, email)
    find = remember_tokens._find
    other_rotation = "0" * 64

    def find_while_another_request_rotates(selector):
        token = find(selector)
        with db.engine.begin() as other:  # another worker, between this one's read and write
            other.execute(update(RememberToken).where(RememberToken.selector == selector)
                          .values(validator_hash=other_rotation, last_used_at=utcnow()))
        return token

    monkeypatch.setattr(remember_tokens, "_find", find_while_another_request_rotates)
    browser = _cookie_alone(app, owner.get_cookie(_name(app)).value)
    response = browser.get("/account/orders")
    assert response.status_code == 302 and _set_cookie_header(response, _name(app)) is None
    (token,) = _tokens(app)
    assert token.validator_hash == other_rotation  # the other request's rotation stands
    assert _logged_in(owner)


def test_an_expired_cookie_logs_nobody_in_and_is_deleted(app):
    _, email = new_customer(app)
    owner, _ = _login(app, email)
    _age(app, expires_in=timedelta(seconds=-1))
    browser = _cookie_alone(app, owner.get_cookie(_name(app)).value)
    assert not _logged_in(browser)
    assert browser.get_cookie(_name(app)) is None and _tokens(app) == []


@pytest.mark.parametrize("value", ["nope", "abc:def", ":", "x:", ":y", "a" * 40 + ":b", "x" * 300, "a:b:c"])
def test_unknown_or_malformed_cookies_are_deleted(app, value):
    new_customer(app)
    browser = _cookie_alone(app, value)
    response = browser.get("/account/orders")
    assert response.status_code == 302
    assert browser.get_cookie(_name(app)) is None


def test_flask_login_remember_cookie_is_not_honoured_and_is_deleted(app):
    """The cookie Flask-Login issued before (``<id>:<session token>|HMAC``) logs nobody in."""
    customer_id, _ = new_customer(app)
    with ctx(app) as session, app.test_request_context():
        old_style = encode_cookie(session.get(Customer, customer_id).get_id())
    browser = _cookie_alone(app, old_style, name="remember_token")
    response = browser.get("/account/orders")
    assert response.status_code == 302
    assert browser.get_cookie("remember_token") is None
    assert not _logged_in(browser)


def test_logout_deletes_the_token_and_the_cookie(app):
    customer_id, email = new_customer(app)
    laptop, _ = _login(app, email)
    phone, _ = _login(app, email)
    phone_cookie = phone.get_cookie(_name(app)).value
    response = laptop.post("/account/logout")
    assert "Max-Age=0" in _set_cookie_header(response, _name(app))
    assert laptop.get_cookie(_name(app)) is None
    assert _tokens(app, customer_id) == []  # logout ends every session: the phone's token too
    assert not _logged_in(_cookie_alone(app, phone_cookie))


def test_revoke_sessions_deletes_every_remember_token(app, runner):
    customer_id, email = new_customer(app)
    other_id, other_email = new_customer(app)
    cookies = [_login(app, email)[0].get_cookie(_name(app)).value for _ in range(2)]
    _login(app, other_email)
    assert runner.invoke(args=["shop", "revoke-sessions", email]).exit_code == 0
    assert _tokens(app, customer_id) == [] and len(_tokens(app, other_id)) == 1
    assert not any(_logged_in(_cookie_alone(app, value)) for value in cookies)


def test_the_cookie_follows_the_settings(app_config, app):
    settings = {**app_config, "REMEMBER_COOKIE_SECURE": True, "REMEMBER_COOKIE_DURATION": 3600}
    configured = create_app(settings)
    _, email = new_customer(configured)
    _, response = _login(configured, email)
    header = _set_cookie_header(response, _name(configured))
    assert "Secure" in header and "Max-Age=3600" in header
    (token,) = _tokens(configured)
    assert token.expires_at - token.created_at == timedelta(hours=1)
    with configured.app_context():
        db.engine.dispose()  # the fixture empties the database after this test
