"""Tracking integrity: token buckets, dropped-event counters, flagged visitors, dwell time,
remember-me tokens

- ``rate_buckets``: the database store of the token buckets (tracked actions per visitor and per
  address, new visitors per address, logins), shared by every worker;
- ``dropped_events``: per day and reason, the tracked actions that were not logged;
- ``visitors.address_key`` (a keyed hash of the creating address), ``flagged_at`` and
  ``flag_reason`` (set by the screening before popularity and training);
- ``events.dwell_ms``: how long a viewed product page stayed visible;
- ``remember_tokens``: random, hashed, rotated "remember me" tokens.

Revision ID: b5e2c8a41f07
Revises: a7d3f61c2b58
Create Date: 2026-12-04 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5e2c8a41f07'
down_revision = 'a7d3f61c2b58'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rate_buckets',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('tat', sa.Float(), nullable=False),
        sa.Column('allowed_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_rate_buckets_tat', 'rate_buckets', ['tat'])
    op.create_table(
        'dropped_events',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'reason'),
    )
    op.create_table(
        'remember_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('selector', sa.String(length=32), nullable=False),
        sa.Column('validator_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('selector'),
    )
    op.create_index('ix_remember_tokens_customer_id', 'remember_tokens', ['customer_id'])
    # Plain nullable columns: added in place on both engines (no table rebuild on SQLite).
    op.add_column('visitors', sa.Column('address_key', sa.String(length=16), nullable=True))
    op.add_column('visitors', sa.Column('flagged_at', sa.DateTime(), nullable=True))
    op.add_column('visitors', sa.Column('flag_reason', sa.String(length=32), nullable=True))
    op.add_column('events', sa.Column('dwell_ms', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('events', 'dwell_ms')
    op.drop_column('visitors', 'flag_reason')
    op.drop_column('visitors', 'flagged_at')
    op.drop_column('visitors', 'address_key')
    op.drop_index('ix_remember_tokens_customer_id', table_name='remember_tokens')
    op.drop_table('remember_tokens')
    op.drop_table('dropped_events')
    op.drop_index('ix_rate_buckets_tat', table_name='rate_buckets')
    op.drop_table('rate_buckets')
