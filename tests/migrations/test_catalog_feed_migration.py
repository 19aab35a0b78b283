"""Migration 04b8f8eba8eb (catalog feed and product images): from its parent, a shop with products
gets both tables matching the models, a picture's insert, update and delete move the catalog
version (product cards show it), a picture goes with its product, bad values are refused, and it
downgrades."""
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

REVISION, PARENT = "04b8f8eba8eb", "7c1e5a93b2d4"
PICTURE = ("INSERT INTO product_images (product_id, position, source, source_url, created_at) "
           "VALUES (1, {position}, {source}, {url}, '2026-01-01')")


def _mine(diff) -> list:
    return [entry for entry in diff if any(name in repr(entry) for name in ("product_images", "product_feed_entries"))]


def _version(connection) -> int:
    return connection.execute(text("SELECT version FROM catalog_state")).scalar_one()


def test_the_catalog_feed_migration_upgrades_a_shop_with_products_and_downgrades(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision=PARENT)
        true = "true" if db.engine.dialect.name == "postgresql" else "1"
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO categories (id, name, slug) VALUES (1, 'Home', 'home')"))
            connection.execute(text(
                "INSERT INTO products (id, sku, name, description, brand, price, stock, active, category_id, "
                f"created_at, popularity) VALUES (1, 'A-1', 'Pan', '', '', 10, 3, {true}, 1, '2026-01-01', 0)"))
        upgrade(revision=REVISION)
        with db.engine.begin() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert _mine(compare_metadata(context, db.metadata)) == []
            before = _version(connection)
            connection.execute(text(PICTURE.format(position=0, source="'feed'", url="'https://i.test/a.jpg'")))
            inserted = _version(connection)
            assert inserted > before  # the workers learn of it with the catalog
            connection.execute(text("UPDATE product_images SET file_key = 'abc', file_ext = 'jpg'"))
            updated = _version(connection)
            assert updated > inserted
            connection.execute(text(
                "INSERT INTO product_feed_entries (product_id, availability, currency, regular_price, link, gtin, "
                "mpn, condition, google_product_category, item_group_id, deactivated_by_import, updated_at) "
                f"VALUES (1, 'in_stock', 'USD', 12, '', '', '', '', '', '', {true}, '2026-01-01')"))
            assert _version(connection) > updated  # a product page shows it, kept per version too
        for statement in (PICTURE.format(position=1, source="'feed'", url="'https://i.test/a.jpg'"),  # same URL
                          PICTURE.format(position=1, source="'scraped'", url="NULL")):
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(text(statement))
        with db.engine.begin() as connection:
            connection.execute(text(PICTURE.format(position=1, source="'upload'", url="NULL")))
            connection.execute(text(PICTURE.format(position=2, source="'upload'", url="NULL")))  # uploads: no URL
            connection.execute(text("DELETE FROM products"))  # SQLite too: the app turns foreign keys on
            assert connection.execute(text("SELECT count(*) FROM product_images")).scalar_one() == 0
            assert connection.execute(text("SELECT count(*) FROM product_feed_entries")).scalar_one() == 0
        downgrade(revision=PARENT)
        tables = inspect(db.engine).get_table_names()
        assert "product_images" not in tables and "product_feed_entries" not in tables
        upgrade(revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert _mine(compare_metadata(context, db.metadata)) == []
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()
