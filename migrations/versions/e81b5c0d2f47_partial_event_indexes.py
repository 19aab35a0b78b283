"""events: partial indexes for the mostly-NULL columns, drop the redundant (product_id, type)

Revision ID: e81b5c0d2f47
Revises: c4e7a2d91b30
Create Date: 2026-12-03 21:10:00.000000

A bulk import of millions of anonymous views maintained four indexes whose entries were all
NULL (customer, order, impression, asset), and ix_events_product_type is the prefix of
ix_events_product_type_time. Partial indexes keep only the rows with a value; equality lookups
(``customer_id = ?``) and ``IS NOT NULL`` filters imply the predicate on SQLite and PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e81b5c0d2f47'
down_revision = 'c4e7a2d91b30'
branch_labels = None
depends_on = None

PARTIAL = (
    ('ix_events_customer_id', ['customer_id']),
    ('ix_events_order_id', ['order_id']),
    ('ix_events_impression_id', ['impression_id']),
    ('ix_events_asset_type', ['asset_id', 'type']),
)


def _where(columns):
    predicate = sa.text(f"{columns[0]} IS NOT NULL")
    return {'sqlite_where': predicate, 'postgresql_where': predicate}


def upgrade():
    op.drop_index('ix_events_product_type', table_name='events')
    for name, columns in PARTIAL:
        op.drop_index(name, table_name='events')
        op.create_index(name, 'events', columns, unique=False, **_where(columns))


def downgrade():
    for name, columns in PARTIAL:
        op.drop_index(name, table_name='events')
        op.create_index(name, 'events', columns, unique=False)
    op.create_index('ix_events_product_type', 'events', ['product_id', 'type'], unique=False)
