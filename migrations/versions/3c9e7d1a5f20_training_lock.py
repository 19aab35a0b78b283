"""training_lock: who holds the one-job-at-a-time training lock on PostgreSQL (issue 20)

One row while a training job runs on a PostgreSQL shop (token, host, pid, started_at and the
heartbeat that tells a live holder from a dead one), next to the session advisory lock that really
excludes (storefront.training.coordination). Created on SQLite too, where it stays empty: the lock
file in the model folder does this job there.

Revision ID: 3c9e7d1a5f20
Revises: 5e7a1c9d2b64
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c9e7d1a5f20'
down_revision = '5e7a1c9d2b64'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'training_lock',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('host', sa.String(length=128), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_training_lock')),
    )


def downgrade():
    op.drop_table('training_lock')
