"""merchandising_rules: boost, bury, pin and exclude rules per widget (issue 17); impressions
record the rules that touched them

Saving a rule moves the catalog version (the same triggers as products, categories, campaigns,
experiments and widget settings: a frozen copy of storefront.models.catalog_version as of this
revision), because web workers keep the rules with their catalog snapshot.

``impressions.rules`` (rule id -> the 0-based positions it touched; NULL when none did) is added
in place: rebuilding ``impressions`` (SQLite's batch mode) would fail on the foreign keys of the
click events that point at it.

Revision ID: d294ff1e8240
Revises: a4d81c6e9f52
Create Date: 2026-12-09 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd294ff1e8240'
down_revision = 'a4d81c6e9f52'
branch_labels = None
depends_on = None

BUMP = "UPDATE catalog_state SET version = version + 1"


def _triggers(dialect):
    if dialect == "postgresql":  # catalog_version_bump() exists since d3f9a6b2c184
        return [
            "CREATE TRIGGER merchandising_rules_catalog_version AFTER INSERT OR DELETE OR TRUNCATE "
            "ON merchandising_rules FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()",
            "CREATE TRIGGER merchandising_rules_catalog_version_update AFTER UPDATE ON merchandising_rules "
            "FOR EACH ROW EXECUTE FUNCTION catalog_version_bump()",
        ]
    return [f"CREATE TRIGGER merchandising_rules_catalog_version_{action.lower()} AFTER {action} "
            f"ON merchandising_rules BEGIN {BUMP}; END" for action in ("INSERT", "DELETE", "UPDATE")]


def upgrade():
    op.create_table(
        'merchandising_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('widget', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('target_kind', sa.String(length=16), nullable=False),
        sa.Column('brand', sa.String(length=80), nullable=True),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('product_ids', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('positions', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('factor', sa.Float(), nullable=True),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('boost', 'bury', 'pin', 'exclude')", name=op.f('ck_merchandising_rules_kind')),
        sa.CheckConstraint("target_kind IN ('brand', 'category', 'campaign', 'products')",
                           name=op.f('ck_merchandising_rules_target_kind')),
        sa.CheckConstraint('ends_at IS NULL OR ends_at > starts_at', name=op.f('ck_merchandising_rules_ends_after_start')),
        sa.CheckConstraint('factor IS NULL OR factor > 0', name=op.f('ck_merchandising_rules_factor_positive')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_merchandising_rules_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'],
                                name=op.f('fk_merchandising_rules_category_id_categories'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_merchandising_rules')),
    )
    op.create_index(op.f('ix_merchandising_rules_widget'), 'merchandising_rules', ['widget'], unique=False)
    op.add_column('impressions', sa.Column('rules', sa.JSON(none_as_null=True), nullable=True))
    for statement in _triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    # SQLite >= 3.35 drops a plain column in place (no rebuild of a table others reference)
    op.drop_column('impressions', 'rules')
    op.drop_index(op.f('ix_merchandising_rules_widget'), table_name='merchandising_rules')
    op.drop_table('merchandising_rules')  # its triggers go with it
