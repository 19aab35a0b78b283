"""Shared fixtures: an app on a real database, a browser-like client, a CLI runner, factories.

The database is a fresh SQLite file per test, or the PostgreSQL database named by
``TEST_DATABASE_URL`` (emptied before and after each test) when that variable is set.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns about threaded BLAS otherwise

import pytest
from sqlalchemy import text

from storefront import create_app
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


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "MODEL_DIR": str(tmp_path / "models"),
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        reset_postgres_schema()
        db.create_all()  # tests only; the app itself builds its schema with migrations
    yield app
    with app.app_context():
        db.session.remove()
        reset_postgres_schema()
        db.engine.dispose()


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
