"""Login/registration rate limits (per address+email and per address) and session renewal."""
from __future__ import annotations

import logging
import re
import time
import uuid

import pytest
from sqlalchemy import select

from tests import factories
from tests.helpers import BROWSER_UA, redis_up
from storefront import create_app
from storefront.extensions import db
from storefront.models import Cart, CartItem
from tests.storefront.support.shop import ctx, new_customer, new_product

WRONG = "not the password at all"


@pytest.fixture
def limited_app(app, app_config):
    """The test app with the limits on (the testing config turns them off), on the same DB."""
    return _limited(app_config)


def _limited(app_config, **settings):
    return create_app({**app_config, "RATELIMIT_ENABLED": True, **settings})


def _client(app, address: str = "192.0.2.10"):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": BROWSER_UA, "REMOTE_ADDR": address})
    return client


def _login(client, email, password=WRONG):
    return client.post("/account/login", data={"email": email, "password": password})


def test_sixth_attempt_in_a_minute_gets_the_form_again_with_429(limited_app):
    _, email = new_customer(limited_app)
    client = _client(limited_app)
    assert [_login(client, email).status_code for _ in range(5)] == [422] * 5
    response = _login(client, email, factories.PASSWORD)  # even the right password: not checked
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many login attempts from here. Please wait" in html
    assert '<form method="post"' in html and f'value="{email}"' in html  # the form, email kept
    assert WRONG not in html and factories.PASSWORD not in html
    # A token bucket of 5 per minute: one attempt comes back every 12 seconds.
    assert 10 <= int(response.headers["Retry-After"]) <= 12
    assert response.headers["Content-Security-Policy"]  # still a normal page of the shop
    assert client.get("/account/orders").status_code == 302  # not logged in


def test_the_count_is_per_address_and_email(limited_app):
    _, email = new_customer(limited_app, "counted@example.com")
    here = _client(limited_app, "192.0.2.10")
    for _ in range(5):
        _login(here, email)
    assert _login(here, "COUNTED@Example.com ").status_code == 429  # the same address, normalised
    assert _login(here, "someone.else@example.com").status_code == 422  # another email: counted apart
    elsewhere = _client(limited_app, "192.0.2.99")
    assert _login(elsewhere, email, factories.PASSWORD).status_code == 302  # another client address


def test_one_address_trying_many_emails_is_limited_too(app_config, app):
    limited = _limited(app_config, LOGIN_IP_RATE_LIMIT="8/minute")
    client = _client(limited)
    statuses = [_login(client, f"guess{n}@example.com").status_code for n in range(10)]
    assert statuses == [422] * 8 + [429] * 2


def test_one_account_guessed_from_many_addresses_is_limited(app_config, app):
    limited = _limited(app_config, LOGIN_ACCOUNT_RATE_LIMIT="10/minute")
    _, email = new_customer(limited, "target@example.com")
    statuses = [_login(_client(limited, f"198.51.100.{n}"), email).status_code for n in range(12)]
    assert statuses == [422] * 10 + [429] * 2  # every address made one attempt only
    response = _login(_client(limited, "198.51.100.99"), email, factories.PASSWORD)
    assert response.status_code == 429 and "Too many login attempts for this account" in response.get_data(as_text=True)
    other, _ = new_customer(limited, "bystander@example.com")
    assert _login(_client(limited, "198.51.100.5"), "bystander@example.com", factories.PASSWORD).status_code == 302


def test_successful_logins_count_as_attempts(limited_app):
    _, email = new_customer(limited_app)
    client = _client(limited_app)
    for _ in range(5):
        assert _login(client, email, factories.PASSWORD).status_code == 302
        client.post("/account/logout")
    assert _login(client, email, factories.PASSWORD).status_code == 429


def test_the_limit_window_moves_on(app_config, app):
    limited = _limited(app_config, LOGIN_RATE_LIMIT="2/second")
    _, email = new_customer(limited)
    client = _client(limited)
    assert [_login(client, email).status_code for _ in range(3)] == [422, 422, 429]
    time.sleep(1.1)
    assert _login(client, email, factories.PASSWORD).status_code == 302


def test_registration_is_limited(limited_app):
    client = _client(limited_app)
    data = {"email": "taken@example.com"}  # each accepted attempt mails the address: limited like a login
    statuses = [client.post("/account/register", data=data).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    html = client.post("/account/register", data=data).get_data(as_text=True)
    assert "Too many registration attempts" in html and 'name="email"' in html


def test_forwarded_address_is_the_client_behind_the_proxy(app_config, app):
    limited = _limited(app_config, PROXY_FIX_X_FOR=1)
    _, email = new_customer(limited)
    client = _client(limited, "127.0.0.1")  # every request comes from nginx
    for _ in range(5):
        client.post("/account/login", data={"email": email, "password": WRONG},
                    headers={"X-Forwarded-For": "203.0.113.1"})
    blocked = client.post("/account/login", data={"email": email, "password": WRONG},
                          headers={"X-Forwarded-For": "203.0.113.1"})
    other = client.post("/account/login", data={"email": email, "password": factories.PASSWORD},
                        headers={"X-Forwarded-For": "203.0.113.2"})
    assert (blocked.status_code, other.status_code) == (429, 302)


def test_limits_are_off_in_the_testing_config(app, client):
    _, email = new_customer(app)
    assert {_login(client, email).status_code for _ in range(12)} == {422}


def test_csrf_failures_do_not_consume_the_limit(app_config, app):
    strict = _limited(app_config, WTF_CSRF_ENABLED=True)
    _, email = new_customer(strict)
    client = _client(strict)
    assert {_login(client, email).status_code for _ in range(8)} == {400}  # no token: refused first
    page = client.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/account/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302  # the forged posts did not use up this address's attempts


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_redis_shares_the_count_between_workers(app_config, app):
    settings = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    worker_a, worker_b = _limited(app_config, **settings), _limited(app_config, **settings)
    email = f"{uuid.uuid4().hex}@example.com"  # keys in a shared Redis: unique to this run
    address = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    statuses = [_login(_client(worker, address), email).status_code for worker in [worker_a, worker_b] * 3]
    assert statuses == [422] * 5 + [429]


def test_a_broken_store_falls_back_to_counting_in_memory(app_config, app, caplog):
    logging.getLogger("storefront.tracking.buckets").disabled = False  # see test_hardening
    limited = _limited(app_config, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")  # nothing listens
    _, email = new_customer(limited)
    client = _client(limited)
    assert _login(client, email, factories.PASSWORD).status_code == 302  # customers still log in
    client.post("/account/logout")
    assert [_login(client, email).status_code for _ in range(5)] == [422] * 4 + [429]
    assert "rate-limit storage redis://127.0.0.1:1/0 failed" in caplog.text


# --- session renewal ----------------------------------------------------------------------------


def test_login_starts_a_new_session(app, client):
    _, email = new_customer(app)
    product_id = new_product(app)
    client.get(f"/products/{product_id}")  # a browsing session id, a visitor cookie
    client.post(f"/cart/add/{product_id}", data={"quantity": "2"})
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["csrf_token"] = "fixed-token"
        before = dict(session)
    assert factories.login(client, email).status_code == 302
    with client.session_transaction() as session:
        after = dict(session)
    assert "planted" not in after and after.get("csrf_token") != "fixed-token"
    assert after["sid"] == before["sid"]  # the same visit, for the analytics
    assert after["_user_id"].startswith(f"{_customer_id(app, email)}:")  # <id>:<session token>
    with ctx(app) as db_session:  # the anonymous cart followed the customer
        lines = db_session.execute(select(Cart.customer_id, CartItem.quantity).join(CartItem.cart)).all()
    assert lines == [(_customer_id(app, email), 2)]


def test_logout_clears_the_session(app, client):
    _, email = new_customer(app)
    factories.login(client, email)
    with client.session_transaction() as session:
        session["planted"] = "x"
    client.post("/account/logout")
    with client.session_transaction() as session:
        assert "planted" not in session and "_user_id" not in session
    assert client.get("/account/orders").status_code == 302


def test_logout_deletes_the_remember_me_cookie(app, client):
    _, email = new_customer(app)
    client.post("/account/login", data={"email": email, "password": factories.PASSWORD, "remember": "y"})
    name = app.config["REMEMBER_ME_COOKIE_NAME"]  # the shop's own cookie (tests/storefront/web/test_remember.py)
    assert client.get_cookie(name) is not None
    client.post("/account/logout")
    assert client.get_cookie(name) is None
    assert client.get("/account/orders").status_code == 302


def _customer_id(app, email: str) -> int:
    from storefront.orders.accounts import find_by_email

    with app.app_context():
        return find_by_email(email).id


def test_limiter_state_is_per_app(app_config, app):
    """Each app has its own limiter: one app's settings never leak into another."""
    first, second = _limited(app_config), create_app(app_config)
    assert first.extensions["auth_limiter"].enabled and not second.extensions["auth_limiter"].enabled
    with first.app_context():
        db.engine.dispose()


def test_a_malformed_limit_is_refused_at_start_up(app_config, app):
    with pytest.raises(RuntimeError, match="LOGIN_RATE_LIMIT='5 a minute' is not a rate limit"):
        _limited(app_config, LOGIN_RATE_LIMIT="5 a minute")
