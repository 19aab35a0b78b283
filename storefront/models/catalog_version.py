"""The catalog's version: one counter that every change a shopper could see moves.

Web workers keep the catalog (category tree, eligible products, campaigns, product cards) in
memory per version (``storefront.catalog.snapshot``) and ask this one-row table, at most every
``CATALOG_CHECK_INTERVAL`` seconds, whether it moved. The counter is moved by database triggers,
not by application code, so every writer counts: the admin, an import, a checkout that sells the
last unit, a ``psql`` session. The update is transactional, so a worker sees the new number only
once the change it announces is committed (a sequence would announce it too early).

What moves it: any insert or delete of a product, category, campaign, experiment, widget setting,
merchandising rule, product image or product feed entry; an update of a product image, a feed
entry, a category, a campaign, an experiment, a widget setting or a merchandising rule; an
update of a product that changes what a card shows, where a shelf puts it or whether it may be
recommended (name, brand, price, SKU, category, active, created_at, popularity, stock crossing
zero), but not every sale that leaves stock above zero (a product page reads its stock from the
database), nor a new description (no card shows it).
"""
from __future__ import annotations

from sqlalchemy import DDL, BigInteger, Integer, event, text
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db

VERSION_ROW = 1
# experiments: starting or ending an A/B test changes what a widget shows, and the workers keep
# the running ones per catalog version too (storefront.experiments.serving); widget_settings
# likewise (a widget's diversity level, storefront.recommendations.diversity), and
# merchandising_rules (storefront.recommendations.merchandising.serving); product_images and
# product_feed_entries: a card shows a product's first stored picture, and a product page its
# gallery and the feed's facts, kept per catalog version too (storefront.catalog.snapshot)
WATCHED_TABLES = ("products", "categories", "campaigns", "experiments", "widget_settings", "merchandising_rules",
                  "product_images", "product_feed_entries")
# Product columns whose change a shopper can see on a card or a widget.
PRODUCT_CHANGE = (
    "OLD.name IS NOT NEW.name OR OLD.brand IS NOT NEW.brand OR OLD.price IS NOT NEW.price "
    "OR OLD.sku IS NOT NEW.sku OR OLD.category_id IS NOT NEW.category_id OR OLD.active IS NOT NEW.active "
    "OR OLD.created_at IS NOT NEW.created_at OR OLD.popularity IS NOT NEW.popularity "
    "OR (OLD.stock > 0) IS NOT (NEW.stock > 0)"
)


class CatalogState(db.Model):
    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


def trigger_statements(dialect: str) -> list[str]:
    """The DDL that creates the triggers (the migration carries a frozen copy)."""
    bump_sql = "UPDATE catalog_state SET version = version + 1"
    if dialect == "postgresql":
        statements = [
            "CREATE OR REPLACE FUNCTION catalog_version_bump() RETURNS trigger AS $$ "
            f"BEGIN {bump_sql}; RETURN NULL; END $$ LANGUAGE plpgsql",
        ]
        for table in WATCHED_TABLES:
            # one bump per statement for inserts, deletes and truncates (an import is one)
            statements.append(
                f"CREATE TRIGGER {table}_catalog_version AFTER INSERT OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()"
            )
            when = f" WHEN ({PRODUCT_CHANGE.replace(' IS NOT ', ' IS DISTINCT FROM ')})" if table == "products" else ""
            statements.append(
                f"CREATE TRIGGER {table}_catalog_version_update AFTER UPDATE ON {table} "
                f"FOR EACH ROW{when} EXECUTE FUNCTION catalog_version_bump()"
            )
        return statements
    statements = []  # SQLite: row triggers only
    for table in WATCHED_TABLES:
        for action in ("INSERT", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_catalog_version_{action.lower()} AFTER {action} ON {table} "
                f"BEGIN {bump_sql}; END"
            )
        when = f" WHEN {PRODUCT_CHANGE}" if table == "products" else ""
        statements.append(
            f"CREATE TRIGGER {table}_catalog_version_update AFTER UPDATE ON {table}{when} BEGIN {bump_sql}; END"
        )
    return statements


@event.listens_for(db.metadata, "after_create")
def _create_triggers(_metadata, connection, tables=(), **_kwargs) -> None:
    """``create_all`` (the tests' schema) gets the same row and triggers as the migration; once,
    when it creates the table (a second ``create_all`` creates nothing)."""
    if CatalogState.__table__ not in list(tables or ()):
        return
    connection.execute(text(f"INSERT INTO catalog_state (id, version) VALUES ({VERSION_ROW}, 0)"))
    for statement in trigger_statements(connection.dialect.name):
        connection.execute(DDL(statement))
