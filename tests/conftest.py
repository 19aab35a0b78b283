"""Shared fixtures: an app on a real database, a browser-like client, a CLI runner, factories.

The database is a fresh SQLite file per test, or the PostgreSQL database named by
``TEST_DATABASE_URL`` (emptied before and after each test) when that variable is set.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns about threaded BLAS otherwise

import pytest

from tests import factories
from tests.helpers import browser_client, database_url, reset_postgres_schema
from storefront import create_app
from storefront.extensions import db


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
    return browser_client(app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def admin_client(app, client):
    """The browser-like client, logged in as an administrator."""
    with app.app_context():
        email = factories.customer("boss@example.com", admin=True).email
    response = factories.login(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client
