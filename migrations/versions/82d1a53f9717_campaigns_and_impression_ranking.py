"""campaigns, banner impressions and the impression's ranking

Revision ID: 82d1a53f9717
Revises: 14ee740a81df
Create Date: 2026-11-23 09:12:40.311842

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '82d1a53f9717'
down_revision = '14ee740a81df'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('target_category_id', sa.Integer(), nullable=True),
    sa.Column('target_brand', sa.String(length=80), nullable=True),
    sa.Column('offer', sa.String(length=40), nullable=False),
    sa.Column('offer_kind', sa.String(length=16), nullable=False),
    sa.Column('headline', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("target_category_id IS NOT NULL OR (target_brand IS NOT NULL AND target_brand <> '')", name=op.f('ck_campaigns_has_target')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_campaigns_ends_after_start')),
    sa.CheckConstraint("offer_kind IN ('percent_off', 'free_shipping', 'bundle', 'new_arrivals')", name=op.f('ck_campaigns_offer_kind')),
    sa.ForeignKeyConstraint(['target_category_id'], ['categories.id'], name=op.f('fk_campaigns_target_category_id_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    with op.batch_alter_table('impressions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ranking', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_impressions_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_impressions_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id'])


def downgrade():
    with op.batch_alter_table('impressions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_impressions_campaign_id_campaigns'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_impressions_campaign_id'))
        batch_op.drop_column('ranking')
        batch_op.drop_column('campaign_id')

    op.drop_table('campaigns')
