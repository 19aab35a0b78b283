"""Migration 31b9a1ac687d (assets and leads): from the previous head, existing events survive the
``events`` rebuild (SQLite batch mode), the new tables match the models, and it downgrades."""
from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from tests.helpers import reset_postgres_schema
from storefront import create_app
from storefront.extensions import db
from storefront.search.engines import include_name

REVISION, PARENT = "31b9a1ac687d", "96cb8c456288"
TABLES = {"assets", "business_units", "asset_business_units", "leads"}


def _mine(diff) -> list:
    """Differences that concern this migration's objects (other branches may add their own)."""
    def concerns(entry) -> bool:
        text_ = repr(entry)
        return any(name in text_ for name in (*TABLES, "asset_id", "ix_events_asset_type"))
    return [entry for entry in diff if concerns(entry)]


def _check(url: str) -> None:
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision=PARENT)
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO visitors (id, token, created_at) VALUES (1, 'before-upgrade', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO events (id, visitor_id, type, occurred_at, session_id, device) "
                "VALUES (1, 1, 'view', '2026-01-01', 's', 'desktop')"))
        upgrade(revision=REVISION)
        inspector = inspect(db.engine)
        assert TABLES <= set(inspector.get_table_names())
        assert "asset_id" in {c["name"] for c in inspector.get_columns("events")}
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT id, type, asset_id FROM events")).all() == [(1, "view", None)]
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert _mine(compare_metadata(context, db.metadata)) == []
        downgrade(revision=PARENT)
        assert not TABLES & set(inspect(db.engine).get_table_names())
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT id, type FROM events")).all() == [(1, "view")]
        # Next to the other branch on the same parent, every head applies and matches the models.
        upgrade(revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert compare_metadata(context, db.metadata) == []
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()


def test_assets_migration_on_sqlite(tmp_path):
    _check(f"sqlite:///{tmp_path / 'migrate.db'}")


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="TEST_DATABASE_URL does not name a PostgreSQL database")
def test_assets_migration_on_postgresql():
    _check(os.environ["TEST_DATABASE_URL"])
