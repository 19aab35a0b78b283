"""Logging in and out at the web boundary: the session cookie and Flask-Login's state.

The account's business (checking the password, moving this browser's cart and history to the
customer) is ``storefront.orders.accounts``; what happens to the session is here, because only
the web plumbing touches Flask's session. "Keep me logged in" is the shop's own cookie
(``storefront.web.remember``): a browser that comes back with it and no session is logged in
here, before any view (:func:`sign_in_remembered`).
"""
from __future__ import annotations

from flask import Flask, current_app, g, session
from flask_login import current_user, login_user, logout_user

from storefront.extensions import db
from storefront.models import Customer
from storefront.orders import accounts
from storefront.web import remember
from storefront.web.requests import forget_request_context, issue_new_visitor_cookie, request_context

# What the session keeps across a login: the browsing-session id (one visit, before and after
# logging in, for the analytics). The cart and the visitor's history live in the database under
# the visitor cookie, which a login does not touch.
KEPT_ON_LOGIN = ("sid", "sid_at")


def renew_session(keep: tuple[str, ...] = ()) -> None:
    """Start a new session (against session fixation): drop every key but ``keep``, CSRF token
    included, so nothing set before the privilege change carries over. The session is a signed
    cookie, so the browser gets a new value with the response."""
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    session.update(kept)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # Flask-WTF's per-request copy


def sign_in(customer: Customer, remember_browser: bool = False) -> None:
    """Log the customer in, in a new session, and give them this browser's history and cart;
    ``remember_browser``: keep them logged in here (a remember-me token and its cookie)."""
    accounts.adopt_browser(request_context(), customer)
    if not customer.session_token:  # a row written without one (by SQL, not the app)
        accounts.revoke_sessions(customer)
    renew_session(keep=KEPT_ON_LOGIN)
    login_user(customer, remember=False)  # never Flask-Login's cookie: see storefront.web.remember
    if remember_browser:
        remember.issue(customer)
    forget_request_context()  # the customer changed


def sign_in_remembered() -> None:
    """Before every request: a browser with a valid remember-me cookie and no logged-in session
    is logged in, in a new session, and gets the rotated cookie (committed here, before the
    view: the rotation must stand even if the view fails)."""
    outcome = remember.redeem_cookie()
    if outcome is None:
        return
    if outcome.customer is not None:
        sign_in(outcome.customer)
    db.session.commit()


def sign_out() -> None:
    """Log out and clear the session, keeping only Flask-Login's note to delete a cookie of its
    own left from before, forget this browser's remember-me token and cookie, and give the
    browser a new visitor cookie: on a shared computer the next person is a new anonymous
    visitor, who neither sees the customer's recommendations nor adds to their history. The
    customer's session token is replaced and every remember-me token deleted, so a copy of the
    session or remember-me cookie taken before this logout opens nothing afterwards (every
    device is logged out)."""
    remember.forget()
    if current_user.is_authenticated:
        accounts.revoke_sessions(current_user)
    logout_user()
    renew_session(keep=("_remember",))
    issue_new_visitor_cookie()
    forget_request_context()


def init_app(app: Flask) -> None:
    """Flask-Login's leftover cookie is refused before the remember-me cookie is redeemed, and
    both before anything (a view, the request context) asks who the customer is."""
    remember.init_app(app)
    app.before_request(sign_in_remembered)
