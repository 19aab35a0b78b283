"""The committed migrations build the whole schema from nothing, and match the models."""
from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tests.helpers import reset_postgres_schema
from storefront import create_app
from storefront.extensions import db
from storefront.search.engines import include_name

EXPECTED_TABLES = {
    "categories", "products", "customers", "visitors", "carts", "cart_items",
    "orders", "order_lines", "events", "training_runs", "impressions", "assets", "leads",
    "business_units", "asset_business_units", "alembic_version",
}


def _migrated_app(url: str):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    return app


def _check_upgrade_matches_models(app) -> None:
    with app.app_context():
        reset_postgres_schema()
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert EXPECTED_TABLES <= tables
        with db.engine.connect() as connection:
            # the search index's tables come from its migration and triggers, not from models
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        reset_postgres_schema()
        db.engine.dispose()


def test_migrations_build_an_empty_sqlite_database(tmp_path):
    _check_upgrade_matches_models(_migrated_app(f"sqlite:///{tmp_path / 'fresh.db'}"))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="TEST_DATABASE_URL does not name a PostgreSQL database")
def test_migrations_build_an_empty_postgresql_database():
    _check_upgrade_matches_models(_migrated_app(os.environ["TEST_DATABASE_URL"]))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="TEST_DATABASE_URL does not name a PostgreSQL database")
def test_the_migrated_postgresql_database_takes_rate_limits_in_one_call():
    # the function is the migration's (9d3f6b2a7c41), not create_all's copy
    from storefront.tracking.buckets import Buckets, parse_rates

    app = _migrated_app(os.environ["TEST_DATABASE_URL"])
    with app.app_context():
        reset_postgres_schema()
        upgrade()
        (rate,) = parse_rates("TEST", "2/minute")
        buckets = Buckets("database")
        assert [buckets.take([("m:a", rate), ("m:b", rate)], 100.0 + i) for i in range(2)] == [None, None]
        refused = buckets.take([("m:a", rate), ("m:b", rate)], 102.0)
        assert refused is not None and refused.key == "m:a"
        downgrade(revision="8f4b2d6e1c37")  # the function goes with its revision
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql(
                "SELECT count(*) FROM pg_proc WHERE proname = 'storefront_take_buckets'").scalar_one() == 0
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()


def test_the_session_token_migration_upgrades_a_shop_with_customers(tmp_path):
    """Customers referenced by visitors and orders exist before ``a7d3f61c2b58``: every one gets
    its own token, and the downgrade undoes it (a NOT NULL rebuild of the table would have
    failed on SQLite's foreign keys)."""
    from sqlalchemy import text

    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = _migrated_app(url)
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision="e81b5c0d2f47")
        with db.engine.begin() as connection:
            for n in (1, 2):
                connection.execute(text(
                    "INSERT INTO customers (email, password_hash, name, role, created_at) "
                    f"VALUES ('c{n}@example.com', 'h', 'C{n}', 'customer', CURRENT_TIMESTAMP)"))
            connection.execute(text("INSERT INTO visitors (token, customer_id, created_at) "
                                    "VALUES ('t1', 1, CURRENT_TIMESTAMP)"))
        upgrade()
        with db.engine.connect() as connection:
            tokens = [row[0] for row in connection.execute(text("SELECT session_token FROM customers"))]
        assert len(tokens) == 2 and all(tokens) and len(set(tokens)) == 2
        downgrade(revision="e81b5c0d2f47")
        assert "session_token" not in {c["name"] for c in inspect(db.engine).get_columns("customers")}
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()
