"""Visitor identity: a long-lived signed cookie names the browser, a row holds it in the DB.

The cookie carries a random token signed with the app secret (so nobody can pose as another
visitor by editing it). The ``Visitor`` row is created lazily, the first time something needs
it (an event, a cart), so crawlers and one-page bounces do not fill the table.
"""
from __future__ import annotations

import secrets

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.models import Visitor

_SALT = "storefront.visitor"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _read_token() -> str | None:
    raw = request.cookies.get(current_app.config["VISITOR_COOKIE_NAME"])
    if not raw:
        return None
    try:
        token = _serializer().loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) and 16 <= len(token) <= 64 else None


def visitor_token() -> str:
    """This browser's token; a new one (sent back as a cookie) if it had none."""
    if "visitor_token" not in g:
        token = _read_token()
        if token is None:
            token = secrets.token_hex(16)
            g.set_visitor_cookie = True
        g.visitor_token = token
    return g.visitor_token


def current_visitor(create: bool = True) -> Visitor | None:
    """The ``Visitor`` row of this request, created on first need when ``create``."""
    if "visitor" in g and g.visitor is not None:
        return g.visitor
    token = visitor_token()
    visitor = db.session.scalar(select(Visitor).where(Visitor.token == token))
    if visitor is None and create:
        visitor = _insert_visitor(token)
    g.visitor = visitor
    return visitor


def _insert_visitor(token: str) -> Visitor:
    """Create the row; if a parallel first request of the same browser won, use theirs."""
    try:
        with db.session.begin_nested():
            visitor = Visitor(token=token)
            db.session.add(visitor)
        return visitor
    except IntegrityError:
        return db.session.scalars(select(Visitor).where(Visitor.token == token)).one()


def _set_cookie(response: Response) -> Response:
    if g.get("set_visitor_cookie"):
        config = current_app.config
        response.set_cookie(
            config["VISITOR_COOKIE_NAME"],
            _serializer().dumps(g.visitor_token),
            max_age=config["VISITOR_COOKIE_MAX_AGE"],
            httponly=True,
            samesite="Lax",
            secure=bool(config.get("SESSION_COOKIE_SECURE")),
        )
    return response


def register_visitor_cookie(app: Flask) -> None:
    app.after_request(_set_cookie)
