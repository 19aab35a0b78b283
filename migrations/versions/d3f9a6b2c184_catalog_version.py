"""Catalog version: a one-row counter moved by triggers on products, categories and campaigns

Web workers keep the catalog in memory per version (storefront.catalog.snapshot) and check this
row at most every CATALOG_CHECK_INTERVAL seconds. The triggers are a frozen copy of
storefront.models.catalog_version.trigger_statements as of this revision.

Revision ID: d3f9a6b2c184
Revises: b5e2c8a41f07
Create Date: 2026-12-07 00:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3f9a6b2c184'
down_revision = 'b5e2c8a41f07'
branch_labels = None
depends_on = None

TABLES = ("products", "categories", "campaigns")
BUMP = "UPDATE catalog_state SET version = version + 1"
PRODUCT_CHANGE = (
    "OLD.name IS NOT NEW.name OR OLD.brand IS NOT NEW.brand OR OLD.price IS NOT NEW.price "
    "OR OLD.sku IS NOT NEW.sku OR OLD.category_id IS NOT NEW.category_id OR OLD.active IS NOT NEW.active "
    "OR OLD.created_at IS NOT NEW.created_at OR OLD.popularity IS NOT NEW.popularity "
    "OR (OLD.stock > 0) IS NOT (NEW.stock > 0)"
)


def _triggers(dialect):
    if dialect == "postgresql":
        statements = ["CREATE OR REPLACE FUNCTION catalog_version_bump() RETURNS trigger AS $$ "
                      f"BEGIN {BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql"]
        for table in TABLES:
            statements.append(f"CREATE TRIGGER {table}_catalog_version AFTER INSERT OR DELETE OR TRUNCATE ON {table} "
                              "FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()")
            when = f" WHEN ({PRODUCT_CHANGE.replace(' IS NOT ', ' IS DISTINCT FROM ')})" if table == "products" else ""
            statements.append(f"CREATE TRIGGER {table}_catalog_version_update AFTER UPDATE ON {table} "
                              f"FOR EACH ROW{when} EXECUTE FUNCTION catalog_version_bump()")
        return statements
    statements = []
    for table in TABLES:
        for action in ("INSERT", "DELETE"):
            statements.append(f"CREATE TRIGGER {table}_catalog_version_{action.lower()} AFTER {action} ON {table} "
                              f"BEGIN {BUMP}; END")
        when = f" WHEN {PRODUCT_CHANGE}" if table == "products" else ""
        statements.append(f"CREATE TRIGGER {table}_catalog_version_update AFTER UPDATE ON {table}{when} "
                          f"BEGIN {BUMP}; END")
    return statements


def _trigger_names(dialect):
    if dialect == "postgresql":
        return [f"{table}_catalog_version{suffix}" for table in TABLES for suffix in ("", "_update")]
    return [f"{table}_catalog_version_{action}" for table in TABLES for action in ("insert", "delete", "update")]


def upgrade():
    op.create_table(
        'catalog_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO catalog_state (id, version) VALUES (1, 0)")
    for statement in _triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for name in _trigger_names(dialect):
        table = name.split("_catalog_version")[0]
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS catalog_version_bump()")
    op.drop_table('catalog_state')
