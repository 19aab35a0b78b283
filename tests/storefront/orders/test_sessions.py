"""Sessions that can be revoked: a cookie copied before logout opens nothing after it, the
remember-me cookie changes with every logout, and ``flask shop revoke-sessions`` logs a customer
out on every device."""
from __future__ import annotations

from tests import factories
from tests.storefront.support.shop import ctx, login, new_customer
from storefront.models import Customer


def _copy_cookies(source, target, app) -> None:
    for name in (app.config.get("SESSION_COOKIE_NAME", "session"), app.config["REMEMBER_ME_COOKIE_NAME"]):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def test_a_session_cookie_copied_before_logout_is_useless_after_it(app, client):
    _, email = new_customer(app)
    login(client, email)
    assert client.get("/account/orders").status_code == 200
    thief = app.test_client()
    _copy_cookies(client, thief, app)
    assert thief.get("/account/orders").status_code == 200  # the copy works while the session lives

    client.post("/account/logout")
    response = thief.get("/account/orders")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_a_remember_me_cookie_dies_with_logout_and_differs_after_it(app, client):
    _, email = new_customer(app)
    name = app.config["REMEMBER_ME_COOKIE_NAME"]
    client.post("/account/login", data={"email": email, "password": factories.PASSWORD, "remember": "y"})
    first = client.get_cookie(name).value
    stolen = app.test_client()
    stolen.set_cookie(name, first)  # no session cookie: the remember-me cookie alone
    assert stolen.get("/account/orders").status_code == 200

    client.post("/account/logout")
    assert stolen.get("/account/orders").status_code == 302
    client.post("/account/login", data={"email": email, "password": factories.PASSWORD, "remember": "y"})
    assert client.get_cookie(name).value != first  # not a permanent credential


def test_revoke_sessions_logs_a_customer_out_everywhere(app, runner):
    _, email = new_customer(app)
    laptop, phone = app.test_client(), app.test_client()
    for device in (laptop, phone):
        login(device, email)
        assert device.get("/account/orders").status_code == 200
    result = runner.invoke(args=["shop", "revoke-sessions", email.upper()])
    assert result.exit_code == 0, result.output
    assert laptop.get("/account/orders").status_code == 302 and phone.get("/account/orders").status_code == 302
    login(phone, email)  # the password still works: only the sessions ended
    assert phone.get("/account/orders").status_code == 200
    assert runner.invoke(args=["shop", "revoke-sessions", "nobody@example.com"]).exit_code != 0


def test_an_old_style_session_with_the_bare_id_loads_nobody(app):
    customer_id, _ = new_customer(app)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(customer_id), True  # what sessions held before
    assert client.get("/account/orders").status_code == 302
    with ctx(app) as session:
        assert session.get(Customer, customer_id).session_token  # every customer has one


def test_a_customer_row_without_a_token_gets_one_at_login(app, client):
    customer_id, email = new_customer(app)
    with ctx(app) as session:
        session.get(Customer, customer_id).session_token = None  # as a row written by plain SQL
        session.commit()
    login(client, email)
    assert client.get("/account/orders").status_code == 200
    with ctx(app) as session:
        assert session.get(Customer, customer_id).session_token
