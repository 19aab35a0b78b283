"""Migration e8f54ac9effa (order_changes, order_refunds, product_changes): from its parent, the
tables match the models, an order that existed before gets a history and a refund, a deleted
order takes its history with it, and it downgrades."""
from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from storefront import create_app
from storefront.extensions import db
from storefront.search.engines import include_name
from tests.helpers import reset_postgres_schema

REVISION, PARENT = "e8f54ac9effa", "b7c3e9a1f054"
TABLES = ("order_changes", "order_refunds", "product_changes")


def _count(connection, table: str) -> int:
    return connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_the_order_history_migration_upgrades_a_shop_with_orders_and_downgrades(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision=PARENT)
        with db.engine.begin() as connection:  # a shop with one order, written before the revision
            connection.execute(text("INSERT INTO categories (id, name, slug) VALUES (1, 'Mugs', 'mugs')"))
            connection.execute(text(
                "INSERT INTO products (id, sku, name, description, brand, price, stock, active, category_id, "
                "created_at, popularity) VALUES (1, 'M-1', 'Mug', '', 'Acme', 9.50, 3, true, 1, '2026-01-01', 0)"))
            connection.execute(text(
                "INSERT INTO orders (id, reference, email, name, address_line, city, postcode, country, status, "
                "payment_last4, total, created_at) VALUES (1, 'ABC', 'a@example.com', 'A', '1 St', 'Town', '1', "
                "'UK', 'paid', '4242', 19.00, '2026-01-02')"))
            connection.execute(text("INSERT INTO order_lines (id, order_id, product_id, product_name, unit_price, "
                                    "quantity) VALUES (1, 1, 1, 'Mug', 9.50, 2)"))
        upgrade(revision=REVISION)
        with db.engine.begin() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert [e for e in compare_metadata(context, db.metadata) if any(t in repr(e) for t in TABLES)] == []
            connection.execute(text(
                "INSERT INTO order_changes (id, order_id, action, from_status, to_status, amount, note, changed_by, "
                "changed_at) VALUES (1, 1, 'refund', 'delivered', 'refunded', 19.00, '', 'boss', '2026-01-05')"))
            connection.execute(text("INSERT INTO order_refunds (order_id, order_line_id, change_id, quantity, amount, "
                                    "restocked, created_at) VALUES (1, 1, 1, 2, 19.00, true, '2026-01-05')"))
            connection.execute(text("INSERT INTO product_changes (product_id, field, old_value, new_value, "
                                    "changed_by, changed_at) VALUES (1, 'stock', '3', '5', 'boss', '2026-01-05')"))
            # the shop turns SQLite's foreign keys on per connection (storefront.database)
            connection.execute(text("DELETE FROM order_lines"))
            connection.execute(text("DELETE FROM orders"))
            assert (_count(connection, "order_changes"), _count(connection, "order_refunds")) == (0, 0)
        downgrade(revision=PARENT)
        assert not set(TABLES) & set(inspect(db.engine).get_table_names())
        upgrade(revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert [e for e in compare_metadata(context, db.metadata) if any(t in repr(e) for t in TABLES)] == []
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()
