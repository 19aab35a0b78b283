"""order_changes, order_refunds and product_changes: Admin -> Orders' history (status changes
and refunds, who and when) and Admin -> Products' log of edits (issue 22)

``orders.status`` keeps its column (a String(16)): the new statuses (shipped, delivered,
cancelled, refunded) fit it, and adding a CHECK would rebuild ``orders`` on SQLite under the
foreign keys of lines and events that point at it.

Revision ID: e8f54ac9effa
Revises: b7c3e9a1f054
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8f54ac9effa'
down_revision = 'b7c3e9a1f054'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "order_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("changed_by", sa.String(length=254), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_changes_order_id_orders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_changes")),
    )
    op.create_index(op.f("ix_order_changes_order_id"), "order_changes", ["order_id"])
    op.create_index(op.f("ix_order_changes_changed_at"), "order_changes", ["changed_at"])
    op.create_table(
        "order_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("restocked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_refunds_order_id_orders"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"],
                                name=op.f("fk_order_refunds_order_line_id_order_lines"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["change_id"], ["order_changes.id"],
                                name=op.f("fk_order_refunds_change_id_order_changes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_refunds")),
    )
    op.create_index(op.f("ix_order_refunds_order_id"), "order_refunds", ["order_id"])
    op.create_index(op.f("ix_order_refunds_order_line_id"), "order_refunds", ["order_line_id"])
    op.create_index(op.f("ix_order_refunds_change_id"), "order_refunds", ["change_id"])
    op.create_index(op.f("ix_order_refunds_created_at"), "order_refunds", ["created_at"])
    op.create_table(
        "product_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.String(length=200), nullable=False),
        sa.Column("new_value", sa.String(length=200), nullable=False),
        sa.Column("changed_by", sa.String(length=254), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_changes_product_id_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_changes")),
    )
    op.create_index("ix_product_changes_product_time", "product_changes", ["product_id", "changed_at"])


def downgrade():
    op.drop_index("ix_product_changes_product_time", table_name="product_changes")
    op.drop_table("product_changes")
    for name in ("created_at", "change_id", "order_line_id", "order_id"):
        op.drop_index(op.f(f"ix_order_refunds_{name}"), table_name="order_refunds")
    op.drop_table("order_refunds")
    op.drop_index(op.f("ix_order_changes_changed_at"), table_name="order_changes")
    op.drop_index(op.f("ix_order_changes_order_id"), table_name="order_changes")
    op.drop_table("order_changes")
