"""saved_addresses: a customer's saved shipping address (issue 22)

Revision ID: b7c3e9a1f054
Revises: d294ff1e8240
Create Date: 2026-12-07 03:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c3e9a1f054'
down_revision = 'd294ff1e8240'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address_line", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postcode", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=60), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_saved_addresses_customer_id_customers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_addresses")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_saved_addresses_customer_id")),
    )


def downgrade():
    op.drop_table("saved_addresses")
