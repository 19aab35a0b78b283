"""/healthz and /readyz: liveness without the database, readiness = database + schema at head."""
from __future__ import annotations

import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from tests.helpers import browser_client, reset_postgres_schema
from storefront import create_app
from storefront.extensions import db
from storefront.models import Event, Visitor
from storefront.web.ops import script_heads


@pytest.fixture
def migrated_app(app_config):
    """An app whose database was built by the migrations (so alembic_version is at head)."""
    app = create_app(app_config)
    with app.app_context():
        reset_postgres_schema()
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        reset_postgres_schema()
        db.engine.dispose()


@pytest.fixture
def broken_db_app(tmp_path):
    """An app whose database cannot be opened (its directory does not exist)."""
    app = create_app({
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing-dir' / 'shop.db'}",
        "MODEL_DIR": str(tmp_path / "models"),
    })
    yield app
    with app.app_context():
        db.engine.dispose()


def test_healthz_answers_without_touching_the_database(broken_db_app):
    response = browser_client(broken_db_app).get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # no visitor cookie, no session


def test_readyz_ok_on_a_migrated_database_without_a_model(migrated_app):
    response = browser_client(migrated_app).get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["database"]["ok"] is True
    migrations = body["checks"]["migrations"]
    assert migrations["ok"] is True and migrations["current"] == migrations["head"]
    assert migrations["head"] == list(script_heads(str(migrated_app.extensions["migrate"].directory)))
    model = body["checks"]["model"]
    assert model == {"ok": True, "serving": None, "published": None, "fallback": True,
                     "note": "no model version published: widgets serve popularity fallbacks"}


def test_readyz_reports_a_published_version_that_does_not_load(migrated_app, tmp_path):
    model_dir = tmp_path / "models"
    model_dir.mkdir(exist_ok=True)
    (model_dir / "ACTIVE").write_text("20240101T000000Z-broken\n")
    response = browser_client(migrated_app).get("/readyz")
    assert response.status_code == 200  # the shop still serves its fallbacks
    model = response.get_json()["checks"]["model"]
    assert model["published"] == "20240101T000000Z-broken" and model["serving"] is None
    assert model["fallback"] is True and "not loaded" in model["note"]


def test_probes_are_not_tracked_and_set_no_cookie(migrated_app):
    client = browser_client(migrated_app)
    for url in ("/healthz", "/readyz", "/healthz", "/readyz"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
    with migrated_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0
        assert db.session.scalar(select(func.count()).select_from(Visitor)) == 0


def test_readyz_503_when_the_database_is_unreachable(broken_db_app):
    response = browser_client(broken_db_app).get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "fail" and body["failed"] == ["database", "migrations"]
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["migrations"]["error"] == "database unavailable"
    assert body["checks"]["model"]["ok"] is True


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="TEST_DATABASE_URL does not name a PostgreSQL database")
def test_readyz_503_when_postgresql_refuses_connections(tmp_path):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "postgresql://nobody@127.0.0.1:1/none",
                      "MODEL_DIR": str(tmp_path / "models")})
    response = browser_client(app).get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"][0] == "database"


def test_readyz_503_when_the_schema_is_behind_head(migrated_app):
    with migrated_app.app_context():
        downgrade(revision="-1")
    response = browser_client(migrated_app).get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["failed"] == ["migrations"]
    migrations = body["checks"]["migrations"]
    assert migrations["current"] != migrations["head"]
    assert "flask db upgrade" in migrations["error"]
    assert body["checks"]["database"]["ok"] is True

    with migrated_app.app_context():
        upgrade()
    assert browser_client(migrated_app).get("/readyz").status_code == 200  # recovers without a restart


def test_readyz_503_on_a_database_never_migrated(app):
    """The test fixture builds tables with create_all(): no alembic_version, so not ready."""
    body = browser_client(app).get("/readyz").get_json()
    assert body["failed"] == ["migrations"]
    assert body["checks"]["migrations"]["current"] == []
    assert "no migration applied" in body["checks"]["migrations"]["error"]


def test_probes_are_get_only_and_need_no_csrf_token(app_config):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = browser_client(strict)
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    with strict.app_context():
        db.engine.dispose()
