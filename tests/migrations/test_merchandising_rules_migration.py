"""Migration d294ff1e8240 (merchandising_rules): from its parent, impressions that clicks point at
get their ``rules`` column in place and keep their rows, the table matches the model, a bad kind
or a non-positive factor is refused, saving a rule moves the catalog version (how the workers
learn of it), and it downgrades."""
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

REVISION, PARENT = "d294ff1e8240", "a4d81c6e9f52"
RULE = ("INSERT INTO merchandising_rules (name, widget, kind, target_kind, brand, factor, starts_at, is_active, "
        "created_by, created_at, updated_at) VALUES ('Lumen week', '*', {kind}, 'brand', 'Lumen', {factor}, "
        "'2026-01-01', {true}, 'a', '2026-01-01', '2026-01-01')")


def _mine(diff) -> list:
    return [entry for entry in diff if any(name in repr(entry) for name in ("merchandising", "'rules'"))]


def _version(connection) -> int:
    return connection.execute(text("SELECT version FROM catalog_state")).scalar_one()


def test_the_merchandising_migration_upgrades_a_shop_with_clicks_and_downgrades(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade(revision=PARENT)
        true = "true" if db.engine.dialect.name == "postgresql" else "1"
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO visitors (id, token, created_at) VALUES (1, 'v', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO impressions (id, visitor_id, widget, strategy, items, device, session_id, created_at) "
                "VALUES (1, 1, 'home_for_you', 'model:als', '[5]', 'desktop', 's', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO events (id, visitor_id, impression_id, type, occurred_at, session_id, device) "
                "VALUES (1, 1, 1, 'click', '2026-01-01', 's', 'desktop')"))
        upgrade(revision=REVISION)
        with db.engine.begin() as connection:
            assert connection.execute(text("SELECT id, widget, rules FROM impressions")).all() == [
                (1, "home_for_you", None)]
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert _mine(compare_metadata(context, db.metadata)) == []
            before = _version(connection)
            connection.execute(text(RULE.format(kind="'boost'", factor="1.5", true=true)))
            inserted = _version(connection)
            assert inserted > before  # the workers learn of it with the catalog
            connection.execute(text("UPDATE merchandising_rules SET factor = 2"))
            assert _version(connection) > inserted
        for kind, factor in (("'promote'", "1.5"), ("'boost'", "0"), ("'bury'", "-1")):
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(text(RULE.format(kind=kind, factor=factor, true=true)))
        downgrade(revision=PARENT)
        assert "merchandising_rules" not in inspect(db.engine).get_table_names()
        assert "rules" not in {c["name"] for c in inspect(db.engine).get_columns("impressions")}
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM events WHERE impression_id = 1")).scalar_one() == 1
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
