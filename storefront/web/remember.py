"""The "keep me logged in" cookie at the web boundary (the tokens: storefront.orders.remember_tokens).

- :func:`issue`: a login with the box ticked gets a new token and the cookie
  ``<selector>:<validator>`` (``REMEMBER_ME_COOKIE_NAME``): HttpOnly, SameSite=Lax, Secure when
  ``REMEMBER_COOKIE_SECURE``, for ``REMEMBER_COOKIE_DURATION``.
- :func:`redeem_cookie`: a request without a logged-in session that carries the cookie has it
  checked; ``storefront.web.auth`` then logs the customer in, in a new session, and this module
  sends the rotated cookie back. An unknown, expired or stolen cookie is deleted.
- :func:`forget`: logout deletes this browser's token and cookie.

Flask-Login's own remember cookie (``remember_token``: ``<id>|<HMAC>``, a permanent credential
that no logout could end) is never issued (``login_user(remember=False)``), and one left in a
browser from before is neither honoured nor kept: :func:`refuse_flask_login_cookie`.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request, session
from flask.wrappers import Response
from flask_login import current_user
from flask_login.config import COOKIE_NAME as FLASK_LOGIN_COOKIE_NAME

from storefront.models import Customer
from storefront.orders import remember_tokens
from storefront.orders.remember_tokens import Redeemed

_DELETE = object()  # in g.remember_cookie: the response deletes the cookie


def _cookie_name() -> str:
    return current_app.config["REMEMBER_ME_COOKIE_NAME"]


def lifetime() -> timedelta:
    duration = current_app.config["REMEMBER_COOKIE_DURATION"]
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def issue(customer: Customer) -> None:
    """Remember this browser: a new token (flushed) and its cookie on the response."""
    value, max_age = remember_tokens.issue(customer, lifetime())
    g.remember_cookie = (value, max_age)


def forget() -> None:
    """Forget this browser (logout): its token, if the cookie is genuine, and the cookie."""
    remember_tokens.forget(request.cookies.get(_cookie_name()))
    g.remember_cookie = _DELETE


def refuse_flask_login_cookie() -> None:
    """Flask-Login reads its ``remember_token`` cookie whenever the session has no user; the
    session flag it sets itself on logout makes it skip the cookie and delete it instead."""
    name = current_app.config.get("REMEMBER_COOKIE_NAME", FLASK_LOGIN_COOKIE_NAME)
    if name in request.cookies and name != _cookie_name():
        session["_remember"] = "clear"


def redeem_cookie() -> Redeemed | None:
    """The cookie of a browser that is not logged in, checked and rotated (flushes); None when
    there is nothing to check. The response gets the new value, or loses the cookie."""
    value = request.cookies.get(_cookie_name())
    if not value or request.endpoint == "static" or current_user.is_authenticated:
        return None
    outcome = remember_tokens.redeem(value)
    if outcome.customer is not None:
        g.remember_cookie = (outcome.cookie, outcome.max_age)
    elif not outcome.keep_cookie:
        g.remember_cookie = _DELETE
    return outcome


def _write_cookie(response: Response) -> Response:
    pending = g.get("remember_cookie")
    if pending is None:
        return response
    config = current_app.config
    if pending is _DELETE:
        response.delete_cookie(_cookie_name(), httponly=True, samesite=config["REMEMBER_COOKIE_SAMESITE"],
                               secure=bool(config.get("REMEMBER_COOKIE_SECURE")))
        return response
    value, max_age = pending
    response.set_cookie(
        _cookie_name(),
        value,
        max_age=max_age,
        httponly=True,  # never readable by a script, whatever the settings say
        samesite=config["REMEMBER_COOKIE_SAMESITE"],
        secure=bool(config.get("REMEMBER_COOKIE_SECURE")),
    )
    return response


def init_app(app: Flask) -> None:
    app.before_request(refuse_flask_login_cookie)
    app.after_request(_write_cookie)
