"""Constants and database helpers shared by tests (import as ``from helpers import ...``).

Kept out of ``conftest.py``: there are two conftest modules (tests/ and tests/ml/), so
``from conftest import`` would depend on which one pytest imported first.
"""
from __future__ import annotations

import os

from sqlalchemy import text

from storefront.extensions import db

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


def browser_client(app):
    """A test client that looks like a browser (scripted user agents are not tracked)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    return client
