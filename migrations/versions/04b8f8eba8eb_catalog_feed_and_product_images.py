"""catalog feed and product images: product_feed_entries (what a merchant feed says of a product
beyond its row) and product_images (several pictures per product, from a feed URL or an upload)
(issue 22)

Both tables have the catalog's triggers (a frozen copy of storefront.models.catalog_version as of
this revision): a product card shows the first stored picture, a product page the gallery and the
feed's facts, and web workers keep those per catalog version.

Revision ID: 04b8f8eba8eb
Revises: 7c1e5a93b2d4
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '04b8f8eba8eb'
down_revision = '7c1e5a93b2d4'
branch_labels = None
depends_on = None

BUMP = "UPDATE catalog_state SET version = version + 1"


def _triggers(dialect, table):
    if dialect == "postgresql":  # catalog_version_bump() exists since d3f9a6b2c184
        return [
            f"CREATE TRIGGER {table}_catalog_version AFTER INSERT OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()",
            f"CREATE TRIGGER {table}_catalog_version_update AFTER UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION catalog_version_bump()",
        ]
    return [f"CREATE TRIGGER {table}_catalog_version_{action.lower()} AFTER {action} "
            f"ON {table} BEGIN {BUMP}; END" for action in ("INSERT", "DELETE", "UPDATE")]


def upgrade():
    op.create_table(
        'product_feed_entries',
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('availability', sa.String(length=16), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('regular_price', sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column('sale_price', sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column('sale_starts_at', sa.DateTime(), nullable=True),
        sa.Column('sale_ends_at', sa.DateTime(), nullable=True),
        sa.Column('link', sa.String(length=2000), nullable=False),
        sa.Column('gtin', sa.String(length=14), nullable=False),
        sa.Column('mpn', sa.String(length=70), nullable=False),
        sa.Column('condition', sa.String(length=12), nullable=False),
        sa.Column('google_product_category', sa.String(length=250), nullable=False),
        sa.Column('item_group_id', sa.String(length=64), nullable=False),
        sa.Column('details', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('deactivated_by_import', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_feed_entries_product_id_products'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('product_id', name=op.f('pk_product_feed_entries')),
    )
    op.create_index(op.f('ix_product_feed_entries_item_group_id'), 'product_feed_entries', ['item_group_id'],
                    unique=False)
    op.create_table(
        'product_images',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('source_url', sa.String(length=2000), nullable=True),
        sa.Column('file_key', sa.String(length=64), nullable=True),
        sa.Column('file_ext', sa.String(length=4), nullable=True),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('fetch_error', sa.String(length=300), nullable=True),
        sa.Column('fetched_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("source IN ('feed', 'upload')", name=op.f('ck_product_images_source')),
        sa.CheckConstraint("file_ext IS NULL OR file_ext IN ('jpg', 'png')", name=op.f('ck_product_images_file_ext')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_images_product_id_products'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_product_images')),
        sa.UniqueConstraint('product_id', 'source_url', name='uq_product_images_product_id_source_url'),
    )
    op.create_index('ix_product_images_product_id_position', 'product_images', ['product_id', 'position'],
                    unique=False)
    for table in ("product_feed_entries", "product_images"):
        for statement in _triggers(op.get_bind().dialect.name, table):
            op.execute(statement)


def downgrade():
    op.drop_index('ix_product_images_product_id_position', table_name='product_images')
    op.drop_table('product_images')  # the triggers go with the tables
    op.drop_index(op.f('ix_product_feed_entries_item_group_id'), table_name='product_feed_entries')
    op.drop_table('product_feed_entries')
