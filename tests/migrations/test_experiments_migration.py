"""Migration f2a8c51d7e39 (experiments): from its parent, impressions that clicks point at get
their new columns in place and keep their rows, the table matches the model, starting an
experiment moves the catalog version, and it downgrades."""
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

REVISION, PARENT = "f2a8c51d7e39", "d3f9a6b2c184"


def _mine(diff) -> list:
    return [entry for entry in diff if any(name in repr(entry) for name in ("experiment", "'arm'"))]


def _version(connection) -> int:
    return connection.execute(text("SELECT version FROM catalog_state")).scalar_one()


def test_the_experiments_migration_upgrades_a_shop_with_clicks_and_downgrades(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision=PARENT)
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO visitors (id, token, created_at) VALUES (1, 'v', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO impressions (id, visitor_id, widget, strategy, items, device, session_id, created_at) "
                "VALUES (1, 1, 'home_for_you', 'model:als', '[5]', 'desktop', 's', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO events (id, visitor_id, impression_id, type, occurred_at, session_id, device) "
                "VALUES (1, 1, 1, 'click', '2026-01-01', 's', 'desktop')"))
        upgrade(revision=REVISION)
        columns = {c["name"] for c in inspect(db.engine).get_columns("impressions")}
        assert {"experiment_id", "arm"} <= columns
        with db.engine.begin() as connection:
            assert connection.execute(text("SELECT id, widget, experiment_id, arm FROM impressions")).all() == [
                (1, "home_for_you", None, None)]
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert _mine(compare_metadata(context, db.metadata)) == []
            before = _version(connection)
            insert = ("INSERT INTO experiments (widget, challenger_version, challenger_share, min_clicks, status, "
                      "started_at, started_by) VALUES ('home_for_you', 'w', 0.5, 300, '{status}', '2026-01-02', 'a')")
            connection.execute(text(insert.format(status="running")))
            assert _version(connection) > before  # the workers learn of it with the catalog
            connection.execute(text("UPDATE impressions SET experiment_id = 1, arm = 'champion'"))
        with pytest.raises(IntegrityError), db.engine.begin() as connection:  # one running per widget
            connection.execute(text(insert.format(status="running")))
        with db.engine.begin() as connection:
            connection.execute(text(insert.format(status="ended")))
        downgrade(revision=PARENT)
        assert "experiments" not in inspect(db.engine).get_table_names()
        assert not {"experiment_id", "arm"} & {c["name"] for c in inspect(db.engine).get_columns("impressions")}
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT id, impression_id FROM events")).all() == [(1, 1)]
        upgrade(revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert compare_metadata(context, db.metadata) == []
        with db.engine.begin() as connection:  # older downgrades rebuild impressions: no rows may point at it
            for table in ("events", "impressions", "visitors"):
                connection.execute(text(f"DELETE FROM {table}"))
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()
