"""Constants and database helpers shared by tests (import as ``from helpers import ...``).

Kept out of ``conftest.py``: there are two conftest modules (tests/ and tests/ml/), so
``from conftest import`` would depend on which one pytest imported first.
"""
from __future__ import annotations

import os
import secrets
import socket

from itsdangerous import URLSafeSerializer
from sqlalchemy import text

from storefront.extensions import db
from storefront.web.requests import VISITOR_COOKIE_SALT

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


def reset_postgres_schema() -> None:
    """Drop everything in the public schema (tables, and alembic_version from migration tests)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


def new_browser_client(app):
    """A test client that looks like a browser on its first visit (scripted user agents are
    not tracked, and nothing is logged until its visitor cookie comes back)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    return client


def browser_client(app):
    """A browser that has been here before: it already holds a signed visitor cookie, so its
    first request here is tracked (storefront.tracking.integrity)."""
    client = new_browser_client(app)
    give_visitor_cookie(client, app)
    return client


def give_visitor_cookie(client, app, token: str | None = None) -> str:
    """Set the signed visitor cookie a returning browser holds; its token."""
    token = token or secrets.token_hex(16)
    value = URLSafeSerializer(app.config["SECRET_KEY"], salt=VISITOR_COOKIE_SALT).dumps(token)
    client.set_cookie(app.config["VISITOR_COOKIE_NAME"], value)
    return token


def redis_up() -> bool:
    """Whether a Redis answers on 127.0.0.1:6379 (CI has one; tests that need it skip without)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.3).close()
        return True
    except OSError:
        return False
