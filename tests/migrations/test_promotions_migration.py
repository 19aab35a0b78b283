"""Migration 7c1e5a93b2d4 (promotions): campaigns from before it get a structured offer where their
free text reads clearly and none (NULL: "no structured offer") where it does not, in place (the
impressions that point at them keep their rows, the catalog version moves); the new columns refuse
an offer without its value; order_adjustments matches the model; it downgrades."""
from __future__ import annotations

import os
from decimal import Decimal

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

REVISION, PARENT = "7c1e5a93b2d4", "e8f54ac9effa"
OFFERS = [("30% off", "percent_off"), ("Free shipping", "free_shipping"), ("3 for 2", "bundle"),
          ("New season", "new_arrivals"), ("Big savings", "percent_off"), ("$5 off", "percent_off")]
CAMPAIGN = ("INSERT INTO campaigns (id, name, target_category_id, offer, offer_kind, headline, body, starts_at, "
            "ends_at, is_active, created_at) VALUES ({id}, 'c{id}', 1, '{offer}', '{kind}', 'h', '', '2026-01-01', "
            "'2027-01-01', {true}, '2026-01-01')")


def _mine(diff) -> list:
    return [entry for entry in diff if any(name in repr(entry) for name in ("promo_", "target_product_ids",
                                                                            "order_adjustments"))]


def _version(connection) -> int:
    return connection.execute(text("SELECT version FROM catalog_state")).scalar_one()


def test_the_promotions_migration_converts_free_text_offers_and_downgrades(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision=PARENT)
        true = "true" if db.engine.dialect.name == "postgresql" else "1"
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO categories (id, name, slug) VALUES (1, 'Cookware', 'cookware')"))
            for n, (offer, kind) in enumerate(OFFERS, start=1):
                connection.execute(text(CAMPAIGN.format(id=n, offer=offer, kind=kind, true=true)))
            connection.execute(text("INSERT INTO visitors (id, token, created_at) VALUES (1, 'v', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO impressions (id, visitor_id, widget, strategy, items, device, session_id, created_at, "
                "campaign_id) VALUES (1, 1, 'home_banner', 'rules', '[]', 'desktop', 's', '2026-01-01', 1)"))
            before = _version(connection)
        upgrade(revision=REVISION)
        with db.engine.begin() as connection:
            rows = connection.execute(text(
                "SELECT offer, promo_type, promo_value, promo_buy FROM campaigns ORDER BY id")).all()
            assert [(offer, kind, None if value is None else Decimal(value), buy) for offer, kind, value, buy in rows] == [
                ("30% off", "percent_off", Decimal("30"), None), ("Free shipping", "free_shipping", None, None),
                ("3 for 2", "buy_n_get_one", None, 2), ("New season", "none", None, None),
                ("Big savings", None, None, None),  # unclear: no structured offer, shown as such
                ("$5 off", "amount_off", Decimal("5"), None)]
            assert _version(connection) > before  # the workers' snapshots see the converted offers
            assert connection.execute(text("SELECT campaign_id FROM impressions")).scalar_one() == 1
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert _mine(compare_metadata(context, db.metadata)) == []
        for change in ("promo_type = 'percent_off', promo_value = NULL", "promo_type = 'mystery'",
                       "promo_value = 120", "promo_type = 'buy_n_get_one', promo_value = NULL, promo_buy = 0",
                       "promo_type = 'none', promo_value = 5"):
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(text(f"UPDATE campaigns SET {change} WHERE id = 1"))
        downgrade(revision=PARENT)
        columns = {c["name"] for c in inspect(db.engine).get_columns("campaigns")}
        assert not columns & {"promo_type", "promo_value", "promo_buy", "target_product_ids"}
        assert "order_adjustments" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM campaigns")).scalar_one() == len(OFFERS)
        upgrade(revision="heads")
        with db.engine.begin() as connection:  # older downgrades rebuild impressions: no rows may point at it
            for table in ("impressions", "visitors", "campaigns", "categories"):
                connection.execute(text(f"DELETE FROM {table}"))
        downgrade(revision="base")
        reset_postgres_schema()
        db.engine.dispose()
