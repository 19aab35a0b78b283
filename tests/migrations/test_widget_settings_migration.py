"""Migration a4d81c6e9f52 (widget_settings): from its parent, the table matches the model, a
level outside none/low/medium/high is refused, saving one moves the catalog version (how the
workers learn of it), and it downgrades."""
from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storefront import create_app
from storefront.extensions import db
from storefront.search.engines import include_name
from tests.helpers import reset_postgres_schema

REVISION, PARENT = "a4d81c6e9f52", "f2a8c51d7e39"


def _version(connection) -> int:
    return connection.execute(text("SELECT version FROM catalog_state")).scalar_one()


def test_the_widget_settings_migration_upgrades_moves_the_catalog_version_and_downgrades(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision=PARENT)
        upgrade(revision=REVISION)
        with db.engine.begin() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert [e for e in compare_metadata(context, db.metadata) if "widget_settings" in repr(e)] == []
            before = _version(connection)
            connection.execute(text("INSERT INTO widget_settings (widget, diversity, updated_at, updated_by) "
                                    "VALUES ('home_for_you', 'low', '2026-01-01', 'a')"))
            inserted = _version(connection)
            assert inserted > before  # the workers learn of it with the catalog
            connection.execute(text("UPDATE widget_settings SET diversity = 'high'"))
            assert _version(connection) > inserted
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(text("UPDATE widget_settings SET diversity = 'extreme'"))
        downgrade(revision=PARENT)
        assert "widget_settings" not in inspect(db.engine).get_table_names()
        upgrade(revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert compare_metadata(context, db.metadata) == []
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()
