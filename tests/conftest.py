"""Shared fixtures: an app on a real database, a browser-like client, a CLI runner, factories.

The database is a fresh SQLite file per test (a copy of the schema built once), or the PostgreSQL
database named by ``TEST_DATABASE_URL`` (its schema as ``create_all`` builds it, emptied after each
test; tests/fresh_schema.py) when that variable is set.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns about threaded BLAS otherwise

import pytest

from tests import factories
from tests.fresh_schema import POSTGRES, build_sqlite_template, copy_sqlite_template
from tests.helpers import browser_client, database_url
from storefront import create_app
from storefront.extensions import db


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "MODEL_DIR": str(tmp_path / "models"),
    }


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """The schema ``create_all`` builds, once per session, as a SQLite file to copy (tests/fresh_schema.py)."""
    return build_sqlite_template(tmp_path_factory.mktemp("schema-template"))


@pytest.fixture(scope="session", autouse=True)
def _leave_postgres_empty():
    yield
    if os.environ.get("TEST_DATABASE_URL"):
        POSTGRES.drop(os.environ["TEST_DATABASE_URL"])


@pytest.fixture
def app(app_config, tmp_path, request):
    fresh_file = tmp_path / "test.db"
    if app_config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{fresh_file}" and not fresh_file.exists():
        template = request.getfixturevalue("_sqlite_template")
        if template is not None:
            copy_sqlite_template(template, fresh_file)
    app = create_app(app_config)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            POSTGRES.prepare()
        db.create_all()  # tests only (the app builds its schema with migrations); a no-op on a copy
    yield app
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            POSTGRES.clean()
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
